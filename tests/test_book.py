"""The book builds offline with -W from a clean cache, and every chapter executed cleanly."""
import json
import re
from pathlib import Path

import pytest

from conftest import ROOT, toc_chapters
from lrcourse import sphinxext

CHAPTERS = toc_chapters()
STATE = re.compile(r'<script type="application/vnd.jupyter.widget-state\+json">(.*?)</script>', re.S)


def widget_state(html: str) -> dict:
    found = STATE.findall(html)
    return json.loads(found[0])["state"] if found else {}


@pytest.mark.slow
def test_book_builds_offline_with_warnings_as_errors(built_site):
    log = (built_site.parents[1] / "build.log").read_text()
    assert "build succeeded" in log
    assert "served from the site" in log  # the pinned npm assets were used, not the CDN
    assert (built_site / "index.html").is_file()


@pytest.mark.slow
@pytest.mark.parametrize("doc", CHAPTERS)
def test_chapter_executed_without_errors(built_site, doc):
    html = (built_site / f"{doc}.html").read_text()
    assert "Traceback" not in html and 'class="output traceback' not in html
    assert "&lt;Figure size" not in html and "<Figure size" not in html, "a figure was shown as text, not drawn"
    source = (ROOT / f"{doc}.md").read_text()
    n_code = source.count("```{code-cell}")
    assert html.count('class="cell docutils container"') + html.count("cell tag_remove") >= n_code - source.count(":tags: [remove-cell]")


@pytest.mark.slow
@pytest.mark.parametrize("doc", CHAPTERS)
def test_static_sliders_are_linked_stacks_within_budget(built_site, doc):
    html = (built_site / f"{doc}.html").read_text()
    state = widget_state(html)
    source = (ROOT / f"{doc}.md").read_text()
    n_sliders = source.count("lr_slider(")
    n_pairs = source.count("pair_slider(")  # two sliders (η, β): a Stack of frames, one of readouts
    models = [m["model_name"] for m in state.values()]
    assert models.count("StackModel") == n_sliders + 2 * n_pairs
    assert models.count("LinkModel") >= n_sliders + 2 * n_pairs
    if not n_pairs:
        assert models.count("LinkModel") == n_sliders
    frames_bytes = sum(len(json.dumps(m)) for m in state.values())
    assert frames_bytes <= 5_000_000, f"{doc}: {frames_bytes / 1e6:.1f} MB of slider frames (budget 5 MB)"
    if n_sliders:
        assert "_static/jupyter-widgets/embed.js" in html


def test_copy_site_assets(tmp_path):
    """The extension copies the pinned npm files into the site, and reports when they are missing."""
    root = tmp_path / "repo"
    assert not sphinxext.copy_site_assets(root, tmp_path / "out")
    dist = root / sphinxext.HTML_MANAGER
    dist.mkdir(parents=True)
    (dist / "embed.js").write_text("// manager")
    (dist / "abc.woff2").write_bytes(b"font")
    (dist / "embed.js.map").write_text("{}")
    (root / sphinxext.REQUIREJS).parent.mkdir(parents=True)
    (root / sphinxext.REQUIREJS).write_text("// require")
    mj = root / sphinxext.MATHJAX
    (mj / "output/chtml/fonts").mkdir(parents=True)
    (mj / "tex-mml-chtml.js").write_text("// mathjax")
    (mj / "output/chtml/fonts/x.woff").write_bytes(b"f")
    out = tmp_path / "out"
    assert sphinxext.copy_site_assets(root, out)
    copied = sorted(str(p.relative_to(out)) for p in out.rglob("*") if p.is_file())
    assert copied == [
        "jupyter-widgets/abc.woff2", "jupyter-widgets/embed.js", "jupyter-widgets/require.js",
        "mathjax/output/chtml/fonts/x.woff", "mathjax/tex-mml-chtml.js",
    ]


def test_every_toc_entry_is_a_myst_notebook():
    for doc in CHAPTERS:
        text = (ROOT / f"{doc}.md").read_text()
        assert text.startswith("---\njupytext:"), doc
        assert "kernelspec:" in text.split("---")[1], doc


def test_no_chapter_shows_wall_clock_values():
    """Two builds must give the same numbers: a chapter may not print or glue timings or dates."""
    pattern = re.compile(r"time\.time\(|perf_counter\(|datetime\.now\(|date\.today\(")
    for doc in CHAPTERS:
        text = (ROOT / f"{doc}.md").read_text()
        assert not pattern.search(text), f"{doc} reads the clock"
