"""One figure standard: every figure the book shows keeps the house style (lrcourse.viz.style).

The book build records a report of every figure a chapter shows and of every slider's frame
(``_build/figures.jsonl``, see ``lrcourse.viz.sitebuild``); the slow test reads it and checks,
page by page: text ≥ 9 pt at display size, mathtext instead of raw underscores, at most 4
panels per slider frame, no legend over data. The fast tests check the measurement itself on
figures made to pass or fail, against arithmetic done here.

Run the slow test on an existing build with ``LRCOURSE_BUILT_SITE=_build/html``.
"""
import io
import itertools
import json
import os
import re
from pathlib import Path

import numpy as np
import pytest
from matplotlib.colors import to_rgb
from PIL import Image

from conftest import toc_chapters
from lrcourse.viz import style


@pytest.fixture(scope="module")
def site(request):
    given = os.environ.get("LRCOURSE_BUILT_SITE")
    return Path(given).resolve() if given else request.getfixturevalue("built_site")


def shown_pt(points: float, dpi: float, width_px: float, column: float = style.COLUMN_PX) -> float:
    """Text of ``points`` at ``dpi`` in an image ``width_px`` wide, shown at most ``column`` CSS px
    wide, in CSS points (1 CSS px = 0.75 pt)."""
    return points * dpi / 72 * min(1.0, column / width_px) * 0.75


def drawn(fig):
    fig.canvas.draw() if hasattr(fig.canvas, "get_renderer") else fig.savefig(io.BytesIO(), format="png")
    return fig


# ---- the measurement ------------------------------------------------------------------------------

def test_small_text_is_measured_at_display_size():
    fig, (ax,) = style.new_figure(1, size=(7.5, 3.0), dpi=100)
    ax.plot([0, 1], [0, 1], label="a line")
    ax.set_xlabel("step t", fontsize=12)
    ax.legend(fontsize=6, loc="lower right")
    report = style.figure_report(drawn(fig))
    assert report["width_px"] == 750 and report["scale"] == 1.0
    assert report["smallest_pt"] == pytest.approx(shown_pt(6, 100, 750), abs=0.01)
    assert [t["text"] for t in report["small_texts"]] == ["a line"]


def test_a_wide_figure_is_scaled_down_and_its_text_with_it():
    from matplotlib.figure import Figure

    fig = Figure(figsize=(10, 3), dpi=100)  # 1000 px: the page shows it at 75 %
    ax = fig.subplots()
    ax.set_xlabel("epoch", fontsize=11)
    ax.set_xticks([])
    ax.set_yticks([])
    report = style.figure_report(drawn(fig))
    assert report["scale"] == 0.75
    assert report["smallest_pt"] == pytest.approx(shown_pt(11, 100, 1000), abs=0.01)
    assert report["smallest_pt"] < 9 and report["n_small_texts"] == 1


def test_new_figure_is_never_wider_than_the_column():
    fig, _ = style.new_figure(2, size=(10, 3.6), dpi=100)
    assert fig.get_size_inches()[0] * fig.dpi == pytest.approx(style.COLUMN_PX)


def test_house_style_text_passes_at_the_smallest_dpi_used():
    """Default sizes (ticks, labels, legend, title) at dpi 80, 640 px wide: all ≥ 9 pt."""
    fig, axes = style.new_figure(2, size=(8, 3.2), dpi=80)
    for ax in axes:
        ax.plot(np.arange(10), np.arange(10), label="train")
        ax.set_xlabel("epoch")
        ax.set_ylabel("loss")
        ax.set_title("a title")
        style.legend_outside(ax)
    report = style.figure_report(drawn(fig))
    assert report["n_small_texts"] == 0 and report["smallest_pt"] >= 9


def test_raw_underscores_are_found_and_mathtext_is_not():
    fig, (ax,) = style.new_figure(1)
    ax.set_xlabel("L(θ_t) − L*")
    ax.set_ylabel(r"$\eta^\star = 2/(\lambda_{min}+\lambda_{max})$")
    ax.set_title(r"price \$5 and $x_1$")
    report = style.figure_report(drawn(fig))
    assert report["raw_underscores"] == ["L(θ_t) − L*"]


def test_panels_count_data_axes_once():
    fig, axes = style.new_figure(5, 2, size=(7, 4))
    axes[0].twinx()
    im = axes[1].imshow(np.zeros((3, 3)))
    fig.colorbar(im, ax=axes[1])
    assert style.figure_report(drawn(fig))["panels"] == 10


def test_a_legend_over_the_data_is_found_and_one_outside_is_not():
    x = np.linspace(0, 1, 200)
    fig, (ax,) = style.new_figure(1)
    ax.plot(x, 0.5 + 0 * x, label="flat")
    ax.plot(x, x, label="rising")
    ax.legend(loc="center")
    assert style.figure_report(drawn(fig))["legends_over_data"]
    fig, (ax,) = style.new_figure(1)
    ax.plot(x, 0.5 + 0 * x, label="flat")
    ax.plot(x, x, label="rising")
    style.legend_outside(ax)
    assert style.figure_report(drawn(fig))["legends_over_data"] == []


def _lab(rgb):
    """CIE L*a*b* (D65) of an sRGB colour: the standard formulas, written out."""
    c = np.asarray(rgb, dtype=float)
    lin = np.where(c <= 0.04045, c / 12.92, ((c + 0.055) / 1.055) ** 2.4)
    m = np.array([[0.4124, 0.3576, 0.1805], [0.2126, 0.7152, 0.0722], [0.0193, 0.1192, 0.9505]])
    xyz = m @ lin / np.array([0.95047, 1.0, 1.08883])
    f = np.where(xyz > (6 / 29) ** 3, np.cbrt(xyz), xyz / (3 * (6 / 29) ** 2) + 4 / 29)
    return np.array([116 * f[1] - 16, 500 * (f[0] - f[1]), 200 * (f[1] - f[2])])


def test_seven_series_are_distinguishable():
    """Seven (colour, dash) pairs: every two differ in colour by ΔE*ab ≥ 20 (well beyond 'just
    noticeable', ≈ 2.3) and in dash pattern, so they stay apart in grey print too."""
    assert len(style.SERIES) == 7
    for (c1, l1), (c2, l2) in itertools.combinations(style.SERIES, 2):
        assert np.linalg.norm(_lab(to_rgb(c1)) - _lab(to_rgb(c2))) >= 20, (c1, c2)
        assert l1 != l2
    style.set_style()
    import matplotlib

    cycle = list(matplotlib.rcParams["axes.prop_cycle"])
    assert [(to_rgb(d["color"]), d["linestyle"]) for d in cycle] == [(to_rgb(c), l) for c, l in style.SERIES]


def test_a_shown_figure_carries_its_alt_text(tmp_path, monkeypatch):
    log = tmp_path / "figures.jsonl"
    monkeypatch.setenv(style.FIGURE_LOG_VAR, str(log))
    fig, (ax,) = style.new_figure(1)
    ax.plot([1, 2], [3, 4], label="train")
    ax.set_xlabel("epoch")
    ax.set_ylabel("loss")
    auto = Image.open(io.BytesIO(style.figure_png(fig))).text["Description"]
    assert auto == "Plot of loss against epoch (train)"
    style.set_alt(fig, "Training loss falls from 3 to 4 — a made-up line")
    png = style.figure_png(fig)
    assert Image.open(io.BytesIO(png)).text["Description"] == "Training loss falls from 3 to 4 — a made-up line"
    records = [json.loads(line) for line in log.read_text().splitlines()]
    assert len(records) == 2 and records[1]["kind"] == "figure"
    import hashlib

    assert records[1]["ident"] == hashlib.sha256(png).hexdigest()  # the file name the book gives it
    with pytest.raises(ValueError, match="alt text"):
        style.set_alt(fig, " ")


# ---- every figure of the book ------------------------------------------------------------------

def _problems(record: dict) -> list[str]:
    if "error" in record:
        return [f"the figure check could not read it: {record['error']}"]
    found = []
    if record.get("smallest_pt") is not None and record["smallest_pt"] < style.MIN_TEXT_PT:
        texts = ", ".join(f"{t['text']!r} {t['pt']} pt" for t in record["small_texts"][:4])
        found.append(f"{record['n_small_texts']} texts under {style.MIN_TEXT_PT:g} pt at {record['width_px']} px "
                     f"shown in {record['column_px']} px (smallest {record['smallest_pt']} pt: {texts})")
    if record["raw_underscores"]:
        found.append(f"raw underscores (use mathtext): {record['raw_underscores']}")
    if record["kind"].startswith("slider frame") and record["panels"] > style.MAX_FRAME_PANELS:
        found.append(f"{record['panels']} panels in one slider frame (limit {style.MAX_FRAME_PANELS})")
    if record["legends_over_data"]:
        found.append("; ".join(record["legends_over_data"]))
    return found


def book_figures(site: Path) -> dict:
    """{page: [record, …]} for every figure record whose image is on a page of the site."""
    lines = (site.parent / "figures.jsonl").read_text().splitlines()
    records = {r["ident"]: r for r in map(json.loads, lines)}
    pages = {}
    for doc in toc_chapters():
        if not (site / f"{doc}.html").is_file():
            pages[doc] = ([], [f"{doc}.html is not on the site (built before it joined _toc.yml?)"])
            continue
        html = (site / f"{doc}.html").read_text()
        names = set(re.findall(r"_images/([0-9a-f]{64})\.png", html)) | set(re.findall(r"lr-frames/([0-9a-f]+\.webp)", html))
        pages[doc] = ([records[n] for n in sorted(names) if n in records],
                      sorted(n for n in names if n not in records and not n.endswith(".webp")))
    return pages


@pytest.mark.slow
def test_every_figure_of_the_book_keeps_the_house_style(site):
    problems, n = [], 0
    for doc, (records, unrecorded) in book_figures(site).items():
        n += len(records)
        for name in unrecorded:
            problems.append(f"{doc}: {name}" if " " in name else
                            f"{doc}: figure {name[:12]}… was shown without the house display (no report)")
        for record in records:
            what = f"{record['kind']} {record['ident'][:12]}…" + (f" (η = {record['eta']:.3g})" if "eta" in record else "")
            problems += [f"{doc}: {what}: {p}" for p in _problems(record)]
    assert n > 0, "the build recorded no figures: is lrcourse.viz.sitebuild connected?"
    assert not problems, f"{len(problems)} figure problems:\n  " + "\n  ".join(problems)
