"""Two sliders (η and β), one frame per pair, in two forms from one definition.

A :class:`PairFrame` is a persistent figure whose animated artists ``update((η, β))`` redraws;
:func:`pair_slider` shows it under two sliders.

* **live** (a kernel): a ``FloatLogSlider`` for η and a ``FloatSlider`` for β; either one's
  callback redraws the frame (``lrcourse.viz.widgets.BlitRenderer``, JPEG, with its alt).
* **static** (the book build): every pair of the grid is rendered in advance. ipywidgets'
  ``jslink`` links one trait to one trait, so the browser cannot compute an index from two
  sliders; instead the frames are nested: an outer ``Stack`` with one child per β (its
  ``selected_index`` jslinked to the β slider), each child a ``Tab`` with one frame per η (its
  ``selected_index`` jslinked to the η slider; its tab bar hidden by a ``<style>`` shipped in
  the widget). Moving either slider flips the shown frame with no kernel.

The layout keeps the site's conventions for ``.lr-slider`` boxes (``lrcourse-book.js`` gives a
box's first slider handle ``aria-label`` = the first readout's ``data-aria-label`` and
``aria-valuetext`` = that readout's text, and prefetches the box's frames on first touch; the
browser tests count one ``Stack`` per ``.lr-slider``)::

    VBox.lr-slider (η)  [ η slider, Stack of η readouts,
                          VBox.lr-slider (β) [ β slider, Stack by β [ Tab by η [ frame ] ] ] ]

Weight: the frames share one background (contours, axes, the rate map: a lossless WebP shown
as the CSS background of every frame, fetched once) and each pair ships only its overlay, the
pixels its animated artists change, transparent elsewhere (a lossless WebP of ≤ ``colors``
colours, a few KB). The overlay's ``<img alt>`` says what that pair shows (``alt(η, β)``); the
frame also carries the β readout. With ``narrow`` (the same frame laid out for phones), phones
(``NARROW_MEDIA``) get that layout's background and overlays instead (``<picture>`` and a media
query), and fetch only those. Everything here only draws what the chapter computed.
"""
from __future__ import annotations

import base64
import hashlib
import html
import io
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Sequence

import ipywidgets as W
import numpy as np
from PIL import Image

from lrcourse._runtime import slider_form
from lrcourse.viz import style
from lrcourse.viz.widgets import FRAME_URL_PREFIX, FRAMES_DIR_VAR, NARROW_COLUMN_PX, BlitRenderer

__all__ = ["PairFrame", "pair_slider", "static_pair_slider", "live_pair_slider", "HIDE_TABS"]

# the tab bars of the inner selectors are not for readers: the sliders are the controls
NARROW_MEDIA = "(max-width: 600px)"   # = lrcourse.viz.widgets.NARROW_MEDIA: phones get the stacked frames
HIDE_TABS = ("<style>.lr-pair .lm-TabBar, .lr-pair .p-TabBar, .lr-pair .widget-tab-bar "
             "{display: none !important;} .lr-pair .widget-tab-contents {border: 0 !important; "
             "padding: 0 !important; overflow: visible !important;} .lr-pair .widget-tab {min-height: 0;} "
             ".lr-pair-picture {background: var(--lr-bg) 0 0 / 100% 100% no-repeat; max-width: var(--lr-w);} "
             f"@media {NARROW_MEDIA} {{ .lr-pair-picture.lr-has-narrow {{background-image: var(--lr-bg-narrow); "
             "max-width: var(--lr-w-narrow);}} }</style>")


@dataclass
class PairFrame:
    """A persistent figure; ``update((η, β))`` sets the data of the ``animated`` artists."""

    fig: object
    animated: Sequence
    update: Callable[[tuple], None]


def _labels(values: Sequence[float], digits: int = 3) -> list[str]:
    for d in range(digits, 10):
        labels = [f"{v:.{d}g}" for v in values]
        if len(set(labels)) == len(labels):
            return labels
    return [repr(float(v)) for v in values]


def _grid(values, name: str, positive: bool) -> np.ndarray:
    grid = np.asarray(values, dtype=float)
    if grid.ndim != 1 or len(grid) < 2 or not np.all(np.isfinite(grid)) or np.any(np.diff(grid) <= 0):
        raise ValueError(f"Invalid {name} grid: need an increasing sequence of at least 2 finite values")
    if positive and grid[0] <= 0:
        raise ValueError(f"Invalid {name} grid: values must be positive, got {grid[0]:g}")
    return grid


def _start(grid: np.ndarray, value, name: str) -> int:
    if value is None:
        return len(grid) // 2
    hit = np.flatnonzero(np.isclose(grid, float(value), rtol=1e-9, atol=1e-12))
    if not hit.size:
        raise ValueError(f"Invalid start {name} = {value:g}: it must be one of the grid's values")
    return int(hit[0])


def _alt(alt, eta: float, beta: float) -> str:
    text = alt(float(eta), float(beta))
    if not isinstance(text, str) or not text.strip():
        raise ValueError(f"Invalid alt text at η = {eta:g}, β = {beta:g}: alt must return a non-empty string")
    return " ".join(text.split())


def _webp(rgb: np.ndarray) -> bytes:
    buffer = io.BytesIO()
    Image.fromarray(np.ascontiguousarray(rgb)).save(buffer, format="webp", lossless=True, method=6)
    return buffer.getvalue()


def _overlay(rgb: np.ndarray, background: np.ndarray, colors: int) -> bytes:
    """Only the pixels that differ from the background, the rest transparent: a lossless WebP
    of at most ``colors`` colours (a few KB where a whole frame takes 10-30 KB)."""
    alpha = ((rgb != background).any(-1) * 255).astype(np.uint8)
    image = Image.fromarray(np.dstack([rgb, alpha]), "RGBA").quantize(colors=colors, method=Image.Quantize.FASTOCTREE)
    buffer = io.BytesIO()
    image.convert("RGBA").save(buffer, format="webp", lossless=True, method=6)
    return buffer.getvalue()


def _src(data: bytes) -> str:
    """A file in the build's frames folder (named by content), else an inline data: URI."""
    folder = os.environ.get(FRAMES_DIR_VAR)
    if not folder:
        return "data:image/webp;base64," + base64.b64encode(data).decode("ascii")
    name = hashlib.sha256(data).hexdigest()[:32] + ".webp"
    path = Path(folder) / name
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
    return FRAME_URL_PREFIX + name


def _record(frame: PairFrame, pair, kind: str, src: str, column_px: float, alt) -> None:
    """Report the start frame (drawn at ``pair``) to the build's figure log, as the one-slider
    widget does; nothing when the log is not set."""
    if os.environ.get(style.FIGURE_LOG_VAR):
        frame.update(pair)
        frame.fig.canvas.draw()
        ident = src[len(FRAME_URL_PREFIX):] if src.startswith(FRAME_URL_PREFIX) else "two-slider frame"
        style.record_figure(frame.fig, kind=kind, ident=ident, column_px=column_px, alt=_alt(alt, *pair),
                            eta=pair[0], beta=pair[1])


def _readout(ident: str, text: str, aria: str) -> str:
    return (f'<div class="lr-frame" data-lr="{ident}"><span class="lr-readout" '
            f'data-aria-label="{html.escape(aria)}">{html.escape(text)}</span></div>')


def _slider(labels, values, index, description):
    return W.SelectionSlider(
        options=[(label, float(v)) for label, v in zip(labels, values)], index=index,
        description=description, readout=False, continuous_update=True,
        layout=W.Layout(width="100%", min_width="0"), style={"description_width": "initial"})


def _layer(frame: PairFrame, pairs, colors: int):
    """(background src, [[overlay src per η] per β], (width, height)) of one layout."""
    renderer = BlitRenderer(frame)
    renderer.canvas.restore_region(renderer.background)
    background = np.asarray(renderer.canvas.buffer_rgba())[..., :3].copy()
    srcs = [[_src(_overlay(renderer.rgba(pair)[..., :3].copy(), background, colors)) for pair in row]
            for row in pairs]
    return _src(_webp(background)), srcs, frame.fig.canvas.get_width_height()


def static_pair_slider(frame: PairFrame, etas, betas, value=(None, None), *, alt,
                       narrow: PairFrame | None = None, colors: int = 64, names=("η", "β"),
                       aria_labels=("learning rate η", "momentum β")) -> W.VBox:
    """Every (η, β) of the grid rendered in advance, flipped in the browser by two linked sliders."""
    etas, betas = _grid(etas, "η", True), _grid(betas, "β", False)
    i0, j0 = _start(etas, value[0], "η"), _start(betas, value[1], "β")
    eta_labels, beta_labels = _labels(etas), _labels(betas)
    pairs = [[(float(eta), float(beta)) for eta in etas] for beta in betas]
    bg_src, srcs, (width, height) = _layer(frame, pairs, colors)
    _record(frame, pairs[j0][i0], "slider frame", srcs[j0][i0], style.COLUMN_PX, alt)
    if narrow is not None:
        bg_narrow, srcs_narrow, (width_n, height_n) = _layer(narrow, pairs, colors)
        _record(narrow, pairs[j0][i0], "slider frame (phone)", srcs_narrow[j0][i0], NARROW_COLUMN_PX, alt)
    ident = hashlib.sha256("".join(s for row in srcs for s in row).encode()).hexdigest()[:12]
    alts = [[_alt(alt, eta, beta) for eta in etas] for beta in betas]

    def page(j: int, i: int) -> W.HTML:
        return W.HTML(value=(
            f'<div class="lr-frame lr-pair-frame" data-lr="{ident}">'
            f'<span class="lr-readout" data-aria-label="{html.escape(aria_labels[1])}">'
            f'{html.escape(names[1])} = {html.escape(beta_labels[j])}</span>'
            + picture(j, i) + '</div>'))

    def picture(j: int, i: int) -> str:
        img = (f'<img class="lr-frame-img" src="{srcs[j][i]}" alt="{html.escape(alts[j][i])}" '
               f'width="{width}" height="{height}" decoding="async" style="display: block; max-width: 100%; '
               f'height: auto">')
        if narrow is None:
            return (f'<div class="lr-pair-picture" style="--lr-bg: url({bg_src}); --lr-w: {width}px">'
                    f'{img}</div>')
        return (f'<div class="lr-pair-picture lr-has-narrow" style="--lr-bg: url({bg_src}); --lr-w: {width}px; '
                f'--lr-bg-narrow: url({bg_narrow}); --lr-w-narrow: {width_n}px">'
                f'<picture><source media="{NARROW_MEDIA}" srcset="{srcs_narrow[j][i]}" width="{width_n}" '
                f'height="{height_n}">{img}</picture></div>')

    inner = [W.Tab(children=[page(j, i) for i in range(len(etas))], selected_index=i0)
             for j in range(len(betas))]
    frames = W.Stack(children=inner, selected_index=j0, layout=W.Layout(width="100%"))
    eta_readouts = W.Stack(children=[W.HTML(value=_readout(ident, f"{names[0]} = {label}", aria_labels[0]))
                                     for label in eta_labels], selected_index=i0)
    eta_slider = _slider(eta_labels, etas, i0, names[0])
    beta_slider = _slider(beta_labels, betas, j0, names[1])
    beta_box = W.VBox([beta_slider, frames], layout=W.Layout(width="100%"))
    beta_box.add_class("lr-slider")
    box = W.VBox([W.HTML(value=HIDE_TABS), eta_slider, eta_readouts, beta_box],
                 layout=W.Layout(width="100%", max_width="100%"))
    box.add_class("lr-slider")
    box.add_class("lr-pair")
    box.links = ([W.jslink((eta_slider, "index"), (eta_readouts, "selected_index")),
                  W.jslink((beta_slider, "index"), (frames, "selected_index"))]
                 + [W.jslink((eta_slider, "index"), (tab, "selected_index")) for tab in inner])
    box.alts, box.srcs, box.background, box.sliders = alts, srcs, bg_src, (eta_slider, beta_slider)
    return box


def live_pair_slider(frame: PairFrame, etas, betas, value=(None, None), *, alt,
                     names=("η", "β"), narrow=None, **_) -> W.VBox:
    """Two continuous sliders (η on a log scale, β linear) whose callback redraws the frame."""
    etas, betas = _grid(etas, "η", True), _grid(betas, "β", False)
    eta0, beta0 = etas[_start(etas, value[0], "η")], betas[_start(betas, value[1], "β")]
    lo, hi = np.log10(etas[0]), np.log10(etas[-1])
    step = (hi - lo) / (4 * (len(etas) - 1))
    below, above = np.ceil((np.log10(eta0) - lo) / step - 1e-9), np.ceil((hi - np.log10(eta0)) / step - 1e-9)
    eta_slider = W.FloatLogSlider(value=eta0, base=10, min=float(np.log10(eta0) - below * step),
                                  max=float(np.log10(eta0) + max(above, 1) * step), step=float(step),
                                  description=names[0], readout_format=".3g", continuous_update=True,
                                  layout=W.Layout(width="100%", max_width="720px"))
    beta_slider = W.FloatSlider(value=float(beta0), min=float(betas[0]), max=float(betas[-1]), step=0.01,
                                description=names[1], readout_format=".3g", continuous_update=True,
                                layout=W.Layout(width="100%", max_width="720px"))
    renderer = BlitRenderer(frame)
    width, height = frame.fig.canvas.get_width_height()

    def html_at(eta: float, beta: float) -> str:
        buffer = io.BytesIO()
        Image.fromarray(np.ascontiguousarray(renderer.rgba((eta, beta))[..., :3])).save(buffer, format="jpeg", quality=92)
        src = "data:image/jpeg;base64," + base64.b64encode(buffer.getvalue()).decode("ascii")
        return (f'<img class="lr-frame-img" src="{src}" alt="{html.escape(_alt(alt, eta, beta))}" '
                f'width="{width}" height="{height}" style="max-width:100%;height:auto">')

    image = W.HTML(value=html_at(eta0, beta0), layout=W.Layout(width="100%"))

    def redraw(_change) -> None:
        image.value = html_at(eta_slider.value, beta_slider.value)

    eta_slider.observe(redraw, names="value")
    beta_slider.observe(redraw, names="value")
    box = W.VBox([eta_slider, beta_slider, image], layout=W.Layout(width="100%"))
    box.add_class("lr-pair")
    box.sliders, box.image = (eta_slider, beta_slider), image
    return box


def pair_slider(frame: PairFrame, etas, betas, value=(None, None), *, alt: Callable[[float, float], str],
                form: str | None = None, **kwargs) -> W.VBox:
    """The (η, β) explorable in the form that fits where the chapter runs (see ``slider_form``).
    ``value`` = (η, β) must be points of the grids; ``alt(η, β)`` says what the frame shows."""
    form = form or slider_form()
    if form == "static":
        return static_pair_slider(frame, etas, betas, value, alt=alt, **kwargs)
    if form == "live":
        return live_pair_slider(frame, etas, betas, value, alt=alt, **kwargs)
    raise ValueError(f"Invalid slider form: {form!r} (use 'live' or 'static')")
