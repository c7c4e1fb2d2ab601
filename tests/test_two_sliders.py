"""The (η, β) explorable of lrcourse.viz.two_sliders.

Fast: the static form's structure (one Stack per `.lr-slider` box, every inner selector linked
to the η slider, one alt per pair) and the live form's callback (moving either slider redraws
with the new pair's alt). Slow: a tiny Jupyter Book with just the widget, built and opened in
headless Chromium: dragging each slider changes the frame and that slider's readout, and the
handles carry aria-label / aria-valuetext equal to the readout shown."""
from __future__ import annotations

import os
import re
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest

import sitebrowser

ROOT = Path(__file__).resolve().parents[1]

CELL = '''
import numpy as np
from lrcourse.toy import gd, surfaces
from lrcourse.toy.momentum import heavy_ball_rate, optimal_heavy_ball, rate_map
from lrcourse.viz.momentum_tuned import pair_alt, pair_frame
from lrcourse.viz.two_sliders import pair_slider
q = surfaces.Quadratic2D(lam_min=1.0, lam_max=10.0)
best = optimal_heavy_ball(1.0, 10.0)
etas = best.eta * 2.0 ** (np.arange(-2, 2) / 2)
betas = np.array([0.0, best.beta, 0.6])
runs = {(float(e), float(b)): tr for b in betas for e, tr in zip(etas, gd.run_many(q, etas, 30, momentum=b))}
me, mb = np.geomspace(etas[0] / 1.2, etas[-1] * 1.2, 40), np.linspace(0, 0.9, 30)
frame = pair_frame(q, runs, me, mb, rate_map(me, mb, q.eigenvalues), best)
alt = pair_alt(runs, lambda e, b: heavy_ball_rate(e, b, q.eigenvalues), best, q.min_value)
'''


def _widget(form):
    ns = {}
    exec(CELL, ns)
    box = ns["pair_slider"](ns["frame"], ns["etas"], ns["betas"], value=(float(ns["etas"][1]), float(ns["betas"][1])),
                            alt=ns["alt"], form=form)
    return box, ns


def test_static_form_links_both_sliders_to_the_frames():
    import ipywidgets as W

    box, ns = _widget("static")
    eta_slider, beta_slider = box.sliders
    stacks = [w for w in _walk(box) if type(w) is W.Stack]
    tabs = [w for w in _walk(box) if isinstance(w, W.Tab)]
    sliders = [w for w in _walk(box) if "lr-slider" in w._dom_classes]
    assert len(stacks) == len(sliders) == 2          # one Stack per .lr-slider box (the site's rule)
    assert len(tabs) == len(ns["betas"]) and all(len(t.children) == len(ns["etas"]) for t in tabs)
    linked = {(l.source[0].model_id, l.target[0].model_id) for l in box.links}
    assert all((eta_slider.model_id, t.model_id) in linked for t in tabs)
    assert (beta_slider.model_id, stacks[1].model_id) in linked or (beta_slider.model_id, stacks[0].model_id) in linked
    # one alt per pair, each naming its own η and β; all different
    flat = [a for row in box.alts for a in row]
    assert len(set(flat)) == len(flat) == len(ns["etas"]) * len(ns["betas"])
    assert box.alts[1][2].startswith(f"η = {ns['etas'][2]:.3g}, β = {ns['betas'][1]:.3g}")


def test_static_form_rejects_a_start_off_the_grid():
    ns = {}
    exec(CELL, ns)
    with pytest.raises(ValueError, match="Invalid start η"):
        ns["pair_slider"](ns["frame"], ns["etas"], ns["betas"], value=(0.123456, 0.0), alt=ns["alt"], form="static")
    with pytest.raises(ValueError, match="Invalid slider form"):
        ns["pair_slider"](ns["frame"], ns["etas"], ns["betas"], alt=ns["alt"], form="nope")


def test_live_form_redraws_on_either_slider():
    box, ns = _widget("live")
    eta_slider, beta_slider = box.sliders
    first = box.image.value
    eta_slider.value = float(ns["etas"][3])
    after_eta = box.image.value
    assert after_eta != first and f"η = {ns['etas'][3]:.3g}" in after_eta
    beta_slider.value = 0.6
    assert box.image.value != after_eta and "β = 0.6" in box.image.value


def _walk(w):
    yield w
    for child in getattr(w, "children", ()):
        yield from _walk(child)


# ---- in a browser, on a built page ------------------------------------------------------------

PAGE = "# Two sliders\n\n```{code-cell} ipython3\n" + CELL.strip() + \
       "\npair_slider(frame, etas, betas, value=(float(etas[1]), float(betas[1])), alt=alt,\n" + \
       "            narrow=pair_frame(q, runs, me, mb, rate_map(me, mb, q.eigenvalues), best, column=True))\n```\n"
HEADER = textwrap.dedent("""\
    ---
    jupytext:
      text_representation:
        extension: .md
        format_name: myst
    kernelspec:
      display_name: Python 3
      language: python
      name: python3
    ---
    """)


@pytest.fixture(scope="module")
def tiny_site(tmp_path_factory):
    if sitebrowser.chromium_path() is None:
        pytest.skip("Chromium is required: apt-get install chromium")
    book = tmp_path_factory.mktemp("tinybook")
    (book / "_config.yml").write_text(textwrap.dedent("""\
        title: two sliders
        only_build_toc_files: true
        execute:
          execute_notebooks: force
          timeout: 240
        sphinx:
          extra_extensions: [lrcourse.sphinxext]
        """))
    (book / "_toc.yml").write_text("format: jb-book\nroot: page\n")
    (book / "page.md").write_text(HEADER + PAGE)
    (book / "node_modules").symlink_to(ROOT / "node_modules")
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    build = subprocess.run([str(Path(sys.executable).parent / "jupyter-book"), "build", str(book)],
                           capture_output=True, text=True, env=env, timeout=900)
    site = book / "_build" / "html"
    assert build.returncode == 0 and (site / "page.html").exists(), build.stdout[-3000:] + build.stderr[-3000:]
    return site


def _state(page):
    return page.evaluate("""() => {
        const boxes = [...document.querySelectorAll('.lr-pair .lr-slider')];
        const outer = document.querySelector('.lr-pair');
        const handles = [...outer.querySelectorAll('.noUi-handle')];
        const shown = [...outer.querySelectorAll('img.lr-frame-img')].filter(i => i.offsetParent !== null);
        const readouts = [...outer.querySelectorAll('.lr-frame .lr-readout')].filter(r => r.offsetParent !== null);
        return {src: shown.length ? shown[0].currentSrc : '', alt: shown.length ? shown[0].alt : '', n_shown: shown.length,
                wide: shown.length ? shown[0].src : '', width: shown.length ? shown[0].getBoundingClientRect().width : 0,
                readouts: readouts.map(r => r.textContent.trim()),
                aria: handles.map(h => [h.getAttribute('aria-label'), h.getAttribute('aria-valuetext')])};
    }""")


def _drag(page, handle_index, fraction):
    outer = page.locator(".lr-pair").first
    track = outer.locator(".noUi-target").nth(handle_index).bounding_box()
    handle = outer.locator(".noUi-handle").nth(handle_index).bounding_box()
    page.mouse.move(handle["x"] + handle["width"] / 2, handle["y"] + handle["height"] / 2)
    page.mouse.down()
    page.mouse.move(track["x"] + fraction * track["width"], handle["y"] + handle["height"] / 2, steps=8)
    page.mouse.up()
    page.wait_for_timeout(400)


@pytest.mark.slow
def test_both_sliders_flip_the_frame_and_their_readouts_with_no_kernel(tiny_site):
    html = (tiny_site / "page.html").read_text()
    assert sitebrowser.widget_models(html).count("StackModel") == 2
    with sitebrowser.open_page("page.html", root=tiny_site) as (page, foreign):
        page.wait_for_function("[...document.querySelectorAll('.lr-pair img.lr-frame-img')]"
                               ".some(i => i.offsetParent !== null)", timeout=60_000)
        page.locator(".lr-pair").first.scroll_into_view_if_needed()
        page.wait_for_timeout(800)
        start = _state(page)
        assert start["n_shown"] == 1 and start["src"] and start["alt"].startswith("η = ")
        eta0, beta0 = start["readouts"]
        assert eta0.startswith("η = ") and beta0.startswith("β = ")
        assert start["aria"] == [["learning rate η", eta0], ["momentum β", beta0]]

        _drag(page, 0, 1.0)                                   # η to its largest value
        moved = _state(page)
        assert moved["src"] != start["src"] and moved["alt"] != start["alt"]
        assert moved["readouts"][0] != eta0 and moved["readouts"][1] == beta0
        assert moved["aria"][0] == ["learning rate η", moved["readouts"][0]]
        assert moved["alt"].startswith(moved["readouts"][0] + ", " + beta0)

        _drag(page, 1, 0.0)                                   # β to 0
        both = _state(page)
        assert both["src"] not in (start["src"], moved["src"])
        assert both["readouts"] == [moved["readouts"][0], "β = 0"]
        assert both["aria"][1] == ["momentum β", "β = 0"]
        assert both["alt"].startswith(moved["readouts"][0] + ", β = 0")
        assert foreign == [], f"requests left 127.0.0.1: {foreign}"
        assert both["src"] == both["wide"]                    # a wide screen shows the wide frames


@pytest.mark.slow
def test_a_phone_gets_the_stacked_frames_and_both_sliders_work(tiny_site):
    with sitebrowser.open_page("page.html", root=tiny_site, width=390, height=900) as (page, foreign):
        page.wait_for_function("[...document.querySelectorAll('.lr-pair img.lr-frame-img')]"
                               ".some(i => i.offsetParent !== null && i.currentSrc)", timeout=60_000)
        page.locator(".lr-pair").first.scroll_into_view_if_needed()
        page.wait_for_timeout(800)
        start = _state(page)
        assert start["src"] != start["wide"] and start["width"] <= 390     # the narrow set, inside the screen
        assert page.evaluate("document.documentElement.scrollWidth") <= 390
        _drag(page, 0, 1.0)
        _drag(page, 1, 0.0)
        moved = _state(page)
        assert moved["src"] != start["src"] and moved["src"] != moved["wide"]
        assert moved["readouts"][0] != start["readouts"][0] and moved["readouts"][1] == "β = 0"
        assert foreign == [], f"requests left 127.0.0.1: {foreign}"
