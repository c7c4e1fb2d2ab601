"""The learning-rate slider, in two forms from one definition.

A slider is a :class:`lrcourse.viz.frames.SliderFrame` (a persistent figure whose animated artists
``update(η)`` redraws) plus a grid of η.

* **live** (a Jupyter kernel, Binder): a ``FloatLogSlider`` whose callback recomputes and
  redraws the frame, shown as an ``<img>`` (JPEG, with its ``alt``) in an ``ipywidgets.HTML``;
* **static** (the book build): every frame of the grid is rendered in advance; an
  ``ipywidgets.Stack`` holds one ``ipywidgets.HTML`` per η (the η readout and the frame's
  ``<img alt=…>``), and the slider's ``index`` is ``jslink``-ed to the stack's
  ``selected_index``, so the built HTML flips frames in the browser with no kernel.

Frames are ``ipywidgets.HTML`` rather than ``ipywidgets.Image`` because an image widget has no
``alt``: each frame says what it shows at its η (``alt=lambda eta: "…"``, else a text made
from the frame's own labels). In the book build (``LRCOURSE_FRAMES_DIR`` set by
``lrcourse.sphinxext``) the frames are WebP files beside the site, named by content, and the
stack only holds their addresses: the browser fetches a frame when it is first shown (the
site's script prefetches a slider's frames on its first touch), so a page weighs one frame per
slider. Outside the build the frames are inline ``data:`` URIs. Where a frame's panels sit on
one row, a second, narrower set with the panels stacked is rendered for phones
(``<picture><source media=…>``); a browser fetches only the set it shows.

Both forms render by blitting: the background is drawn once, then only the animated artists
are drawn over a copy of it for each η. Which form a chapter gets is decided in one place,
:func:`slider_form`: the book build sets ``LRCOURSE_WIDGETS=static`` (see
``lrcourse.sphinxext``); anything else gets the live form.
"""
from __future__ import annotations

import base64
import hashlib
import html
import io
import os
from pathlib import Path
from typing import Callable, Sequence

import ipywidgets as W
import numpy as np
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.text import Text
from PIL import Image

from lrcourse import _checks
from lrcourse._runtime import ENV_VAR, slider_form
from lrcourse.viz import style
from lrcourse.viz.frames import SliderFrame

__all__ = ["lr_grid", "lr_slider", "static_slider", "live_slider", "BlitRenderer", "ENV_VAR",
           "FRAMES_DIR_VAR", "FRAME_URL_PREFIX", "NARROW_MEDIA", "slider_form"]

FRAMES_DIR_VAR = "LRCOURSE_FRAMES_DIR"   # set by the book build: write frames there as files
FRAME_URL_PREFIX = "lrframes://"        # rewritten by lrcourse.sphinxext into each page's path
NARROW_MEDIA = "(max-width: 600px)"     # which screens get the stacked, narrow frames
NARROW_PX = 360                         # the narrow frames' width in pixels
NARROW_COLUMN_PX = 358                  # the column of a 390 px wide phone screen


def lr_grid(lo: float, hi: float, num: int = 31) -> np.ndarray:
    """``num`` log-spaced learning rates from lo to hi (inclusive)."""
    lo, hi = _checks.lr(lo), _checks.lr(hi)
    if not (0 < lo < hi):
        raise ValueError(f"Invalid grid: need 0 < lo < hi, got lo={lo}, hi={hi}")
    if int(num) < 2:
        raise ValueError(f"Invalid grid size: {num} (need at least 2 points)")
    return np.geomspace(lo, hi, int(num))


class BlitRenderer:
    """Render a :class:`SliderFrame` to image bytes, redrawing only its animated artists."""

    def __init__(self, frame: SliderFrame):
        self.frame = frame
        self.canvas = FigureCanvasAgg(frame.fig)
        for artist in frame.animated:
            artist.set_animated(True)
        self.canvas.draw()  # everything but the animated artists
        self.background = self.canvas.copy_from_bbox(frame.fig.bbox)

    def rgba(self, eta: float) -> np.ndarray:
        self.frame.update(eta)
        self.canvas.restore_region(self.background)
        for artist in self.frame.animated:
            self.frame.fig.draw_artist(artist)
        return np.asarray(self.canvas.buffer_rgba())

    def _quantized(self, eta: float) -> Image.Image:
        return Image.fromarray(self.rgba(eta)[..., :3]).quantize(colors=256, method=Image.Quantize.FASTOCTREE)

    def png(self, eta: float) -> bytes:
        """PNG quantized to 256 colours (~15–25 KB; crisp lines)."""
        buffer = io.BytesIO()
        self._quantized(eta).save(buffer, format="png", compress_level=6)
        return buffer.getvalue()

    def webp(self, eta: float) -> bytes:
        """A static frame: the same 256-colour pixels as :meth:`png`, lossless WebP (~20 % smaller)."""
        buffer = io.BytesIO()
        self._quantized(eta).convert("RGB").save(buffer, format="webp", lossless=True, method=4)
        return buffer.getvalue()

    def jpeg(self, eta: float) -> bytes:
        """A live frame: JPEG encodes in <1 ms where PNG takes ~9 ms, which keeps a callback fast."""
        buffer = io.BytesIO()
        Image.fromarray(self.rgba(eta)[..., :3]).save(buffer, format="jpeg", quality=92)
        return buffer.getvalue()


# ---- the grid and the start value -------------------------------------------------------------

def _grid_and_start(etas: Sequence[float], value: float | None):
    """The grid with ``value`` on it, and its index.

    A start value that is not a grid point replaces the grid point nearest to it (in log η):
    the grid keeps its size and order, and the readout shows the value the chapter asked for.
    """
    grid = np.asarray([_checks.lr(e) for e in etas], dtype=float)
    if grid.ndim != 1 or len(grid) < 2 or np.any(np.diff(grid) <= 0):
        raise ValueError("etas must be an increasing sequence of at least 2 learning rates")
    if value is None:
        return grid, len(grid) // 2
    value = _checks.lr(value)
    if not (grid[0] * (1 - 1e-9) <= value <= grid[-1] * (1 + 1e-9)):
        raise ValueError(f"Invalid start value: {value:g} lies outside the grid [{grid[0]:g}, {grid[-1]:g}]")
    start = int(np.argmin(np.abs(np.log(grid) - np.log(value))))
    if not np.isclose(grid[start], value, rtol=1e-9, atol=0):
        grid = grid.copy()
        grid[start] = value
    return grid, start


def _labels(grid: np.ndarray) -> list[str]:
    """The readout of each η: 3 significant digits, more where two neighbours would read the same."""
    for digits in range(3, 10):
        labels = [f"{eta:.{digits}g}" for eta in grid]
        if len(set(labels)) == len(labels):
            return labels
    return [repr(float(eta)) for eta in grid]


# ---- text alternatives ------------------------------------------------------------------------

def _frame_text(frame: SliderFrame) -> str:
    """What the frame's animated texts say right now (e.g. "diverged at t = 28")."""
    parts = []
    for artist in frame.animated:
        if isinstance(artist, Text) and artist.get_text().strip():
            parts.append(" ".join(artist.get_text().split()))
    return "; ".join(parts)


def default_alt(frame: SliderFrame, label: str, quantity: str = "η") -> str:
    """A computed text alternative when the chapter gives none: η, the panels, the frame's text."""
    described = style.describe(frame.fig)
    said = _frame_text(frame)
    return f"{quantity} = {label}: {described}" + (f"; {said}" if said else "")


def _alt_text(alt: Callable[[float], str] | None, frame: SliderFrame, eta: float, label: str,
              quantity: str) -> str:
    if alt is None:
        return default_alt(frame, label, quantity)
    text = alt(float(eta))
    if not isinstance(text, str) or not text.strip():
        raise ValueError(f"Invalid alt text at η = {label}: alt(η) must return a non-empty string, got {text!r}")
    return " ".join(text.split())


# ---- the static form --------------------------------------------------------------------------

def _frame_src(data: bytes, mime: str) -> str:
    """A file in the build's frames folder (by content hash), else an inline data: URI."""
    folder = os.environ.get(FRAMES_DIR_VAR)
    if not folder:
        return f"data:{mime};base64,{base64.b64encode(data).decode('ascii')}"
    name = hashlib.sha256(data).hexdigest()[:32] + "." + mime.split("/")[1]
    path = Path(folder) / name
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
    return FRAME_URL_PREFIX + name


def _narrow_renderer(frame: SliderFrame) -> BlitRenderer | None:
    """The frame re-laid out for phones (NARROW_PX wide), or None when it needs no second set.

    Panels on one row are stacked (one column, two beyond 4 panels); a single panel wider than a
    phone's column is redrawn NARROW_PX wide. Legends are then refitted to the new width (see
    :func:`_fit_legends`). Frames not on a plain grid (insets, colorbars) are left as they are."""
    fig = frame.fig
    specs = []
    for ax in fig.axes:
        if not ax.get_visible():
            continue
        spec = ax.get_subplotspec()
        if spec is None:
            return None
        key = (spec.rowspan.start, spec.colspan.start)
        if key not in specs:
            specs.append(key)
    rows = sorted({r for r, _ in specs})
    cols = sorted({c for _, c in specs})
    width_px, height_px = fig.get_size_inches() * fig.dpi
    if len(specs) == 1 and width_px > NARROW_PX * 1.15:  # one panel: the same panel, phone-wide
        fig.set_size_inches(NARROW_PX / fig.dpi, max(height_px, 280.0) / fig.dpi)
        _fit_legends(fig, set(frame.animated), single=True)
        _wrap_texts(frame)
        return BlitRenderer(frame)
    if len(cols) < 2:
        return None
    order = sorted(specs)  # row by row, left to right: the reading order
    ncols = 1 if len(order) <= 4 else 2
    nrows = -(-len(order) // ncols)
    height_px /= len(rows)
    panel_px = max(200.0, min(height_px, 260.0)) if ncols == 1 else 170.0
    fig.set_size_inches(NARROW_PX / fig.dpi, panel_px * nrows / fig.dpi)
    grid = fig.add_gridspec(nrows, ncols)
    for ax in fig.axes:
        if not ax.get_visible():
            ax.set_in_layout(False)
            continue
        spec = ax.get_subplotspec()
        ax.set_subplotspec(grid[divmod(order.index((spec.rowspan.start, spec.colspan.start)), ncols)])
    _fit_legends(fig, set(frame.animated), single=False)
    _wrap_texts(frame)
    return BlitRenderer(frame)


def _wrap_texts(frame: SliderFrame) -> None:
    """The frame's changing texts (readout boxes, titles) wrap at the phone-wide figure's edge.
    A box inside an axes stays out of the layout (its length changes with η; the panel must
    not)."""
    for artist in frame.animated:
        if isinstance(artist, Text):
            artist.set_wrap(True)
            if artist.axes is not None:
                artist.set_in_layout(False)


def _fit_legends(fig, animated, *, single: bool) -> None:
    """Legends that would not fit a phone-wide figure, redrawn as figure legends under the panels
    with as many columns as fit NARROW_PX: for a single panel every legend (one beside the axes
    would squeeze them), for stacked panels the figure legends wider than the figure."""
    legends = [(None, leg) for leg in list(fig.legends)]
    if single:
        legends += [(ax, ax.get_legend()) for ax in fig.axes if ax.get_legend() is not None]
    renderer = FigureCanvasAgg(fig).get_renderer()
    for ax, leg in legends:
        if leg in animated or not leg.get_visible():
            continue
        if ax is None and leg.get_window_extent(renderer).width <= NARROW_PX - 8:
            continue
        handles, labels = list(leg.legend_handles), [t.get_text() for t in leg.get_texts()]
        options = dict(handlelength=leg.handlelength, columnspacing=min(leg.columnspacing, 1.0),
                       fontsize=leg.get_texts()[0].get_fontsize() if labels else None, frameon=False)
        leg.remove()
        for ncol in range(min(len(labels), 4), 0, -1):
            new = fig.legend(handles=handles, labels=labels, loc="outside lower center", ncol=ncol, **options)
            if ncol == 1 or new.get_window_extent(renderer).width <= NARROW_PX - 8:
                break
            new.remove()


def _ident(src: str, slider_id: str) -> str:
    """How the figure log names a frame: its file name on the site, else the slider's id."""
    return src[len(FRAME_URL_PREFIX):] if src.startswith(FRAME_URL_PREFIX) else slider_id


def _record(renderer: BlitRenderer, eta: float, kind: str, ident: str, column_px: float, alt: str) -> None:
    """Report the frame at ``eta`` (drawn, with its animated texts) to the build's figure log."""
    if os.environ.get(style.FIGURE_LOG_VAR):
        renderer.rgba(eta)
        style.record_figure(renderer.frame.fig, kind=kind, ident=ident, column_px=column_px,
                            alt=alt, eta=float(eta))


def _frame_html(wide: str, narrow: str | None, size, alt: str, readout: str, aria: str, slider_id: str) -> str:
    """One frame: the η readout (plain text: not editable) above the picture and its alt."""
    width, height = size
    source = f'<source media="{NARROW_MEDIA}" srcset="{narrow}">' if narrow else ""
    return (
        f'<div class="lr-frame" data-lr="{slider_id}">'
        f'<span class="lr-readout" data-aria-label="{html.escape(aria)}">{html.escape(readout)}</span>'
        f'<picture>{source}<img class="lr-frame-img" src="{wide}" alt="{html.escape(alt)}" '
        f'width="{width}" height="{height}" decoding="async"></picture></div>'
    )


def _aria_label(description: str, aria_label: str | None) -> str:
    if aria_label:
        return aria_label
    return "learning rate η" if description.strip() in ("η", "eta") else description


def static_slider(frame: SliderFrame, etas: Sequence[float], value: float | None = None,
                  description: str = "η", alt=None, aria_label: str | None = None) -> W.VBox:
    """Precomputed frames for every η in ``etas``, flipped in the browser by a linked slider."""
    grid, start = _grid_and_start(etas, value)
    labels = _labels(grid)
    aria = _aria_label(description, aria_label)
    renderer = BlitRenderer(frame)
    size = frame.fig.canvas.get_width_height()
    wide, alts = [], []
    for eta, label in zip(grid, labels):
        wide.append(_frame_src(renderer.webp(eta), "image/webp"))
        alts.append(_alt_text(alt, frame, eta, label, description))
    slider_id = hashlib.sha256("".join(wide).encode()).hexdigest()[:12]
    _record(renderer, grid[start], "slider frame", _ident(wide[start], slider_id), style.COLUMN_PX, alts[start])
    narrow_renderer = _narrow_renderer(frame)
    if narrow_renderer is not None:
        narrow = [_frame_src(narrow_renderer.webp(eta), "image/webp") for eta in grid]
        _record(narrow_renderer, grid[start], "slider frame (phone)", _ident(narrow[start], slider_id),
                NARROW_COLUMN_PX, alts[start])
    else:
        narrow = [None] * len(grid)
    pages = [W.HTML(value=_frame_html(w, n, size, a, f"{description} = {label}", aria, slider_id))
             for w, n, a, label in zip(wide, narrow, alts, labels)]
    stack = W.Stack(children=pages, selected_index=start, layout=W.Layout(width="100%"))
    slider = W.SelectionSlider(
        options=[(label, float(eta)) for label, eta in zip(labels, grid)], index=start,
        description=description, readout=False, continuous_update=True,
        layout=W.Layout(width="100%", min_width="0"),
        style={"description_width": "initial"},
    )
    box = W.VBox([slider, stack], layout=W.Layout(width="100%", max_width="100%"))
    box.link = W.jslink((slider, "index"), (stack, "selected_index"))  # runs in the browser
    box.add_class("lr-slider")
    box.alts = alts
    return box


# ---- the live form ----------------------------------------------------------------------------

def _live_html(jpeg: bytes, size, alt: str) -> str:
    width, height = size
    src = "data:image/jpeg;base64," + base64.b64encode(jpeg).decode("ascii")
    return (f'<img class="lr-frame-img" src="{src}" alt="{html.escape(alt)}" width="{width}" '
            f'height="{height}" style="max-width:100%;height:auto">')


def _log_range(etas: Sequence[float], value: float) -> tuple[float, float, float]:
    """min, max and step (in log10 η) of a live slider over [min(etas), max(etas)] whose steps
    pass through the start value: the browser snaps the value to ``min + k·step``, so the range
    is widened (by at most one step each way) until the start value is one of those points and
    the readout shows it. A start value at an end gets one step of room (10**max must not round
    below it)."""
    lo, hi, mid = np.log10(float(etas[0])), np.log10(float(etas[-1])), np.log10(value)
    step = (hi - lo) / (4 * (len(etas) - 1))
    below = max(1.0, np.ceil((mid - lo) / step - 1e-9))
    above = max(1.0, np.ceil((hi - mid) / step - 1e-9))
    return float(mid - below * step), float(mid + above * step), float(step)


def live_slider(frame: SliderFrame, etas: Sequence[float], value: float | None = None,
                description: str = "η", alt=None, aria_label: str | None = None) -> W.VBox:
    """A continuous log-scale slider over [min(etas), max(etas)] that redraws on every move.
    Its readout is editable: typing a value moves the slider."""
    grid, start = _grid_and_start(etas, value)
    renderer = BlitRenderer(frame)
    lo, hi, step = _log_range(etas, grid[start])
    slider = W.FloatLogSlider(
        value=grid[start], base=10, min=lo, max=hi, step=step,
        description=description, readout_format=".3g", continuous_update=True,
        layout=W.Layout(width="100%", max_width="720px"), style={"description_width": "initial"},
    )
    size = frame.fig.canvas.get_width_height()

    def html_at(eta: float) -> str:
        jpeg = renderer.jpeg(eta)  # update(η) first: the default alt reads the frame's texts
        return _live_html(jpeg, size, _alt_text(alt, frame, eta, f"{eta:.3g}", description))

    image = W.HTML(value=html_at(grid[start]), layout=W.Layout(width="100%"))

    def redraw(change) -> None:
        image.value = html_at(change["new"])

    slider.observe(redraw, names="value")
    box = W.VBox([slider, image], layout=W.Layout(width="100%"))
    box.add_class("lr-slider")
    return box


def lr_slider(frame: SliderFrame, etas: Sequence[float], value: float | None = None,
              description: str = "η", form: str | None = None, alt=None,
              aria_label: str | None = None) -> W.VBox:
    """The LR slider in the form that fits where the chapter runs (see :func:`slider_form`).

    ``alt(η)`` is the text alternative of the frame at η: what it shows at that η, computed
    ("η = 0.0972: gradient descent on the 1-D quadratic converges in 12 steps"); without it a
    text is made from the frame's labels. ``value`` is put on the grid (it replaces the nearest
    grid point), so the readout starts at exactly that value. ``aria_label`` names the slider
    for screen readers (default "learning rate η" when ``description`` is η)."""
    form = form or slider_form()
    if form == "static":
        return static_slider(frame, etas, value, description, alt=alt, aria_label=aria_label)
    if form == "live":
        return live_slider(frame, etas, value, description, alt=alt, aria_label=aria_label)
    raise ValueError(f"Invalid slider form: {form!r} (use 'live' or 'static')")
