"""The learning-rate slider, in two forms from one definition.

A slider is a :class:`lrcourse.viz.frames.SliderFrame` (a persistent figure whose animated artists
``update(η)`` redraws) plus a log-spaced grid of η.

* **live** (a Jupyter kernel, Binder): a ``FloatLogSlider`` whose callback recomputes and
  redraws the frame, shown as a PNG in an ``ipywidgets.Image``;
* **static** (the book build): every frame of the grid is rendered in advance into an
  ``ipywidgets.Stack`` of images, and the slider's ``index`` is ``jslink``-ed to the stack's
  ``selected_index``, so the built HTML flips frames in the browser with no kernel.

Both render by blitting: the background is drawn once, then only the animated artists are
drawn over a copy of it for each η. Which form a chapter gets is decided in one place,
:func:`slider_form`: the book build sets ``LRCOURSE_WIDGETS=static`` (see
``lrcourse.sphinxext``); anything else gets the live form.
"""
from __future__ import annotations

import io
from typing import Sequence

import ipywidgets as W
import numpy as np
from matplotlib.backends.backend_agg import FigureCanvasAgg
from PIL import Image

from lrcourse import _checks
from lrcourse._runtime import ENV_VAR, slider_form
from lrcourse.viz.frames import SliderFrame

def lr_grid(lo: float, hi: float, num: int = 31) -> np.ndarray:
    """``num`` log-spaced learning rates from lo to hi (inclusive)."""
    lo, hi = _checks.lr(lo), _checks.lr(hi)
    if not (0 < lo < hi):
        raise ValueError(f"Invalid grid: need 0 < lo < hi, got lo={lo}, hi={hi}")
    if int(num) < 2:
        raise ValueError(f"Invalid grid size: {num} (need at least 2 points)")
    return np.geomspace(lo, hi, int(num))


class BlitRenderer:
    """Render a :class:`SliderFrame` to PNG bytes, redrawing only its animated artists."""

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

    def png(self, eta: float) -> bytes:
        """A static frame: PNG quantized to 256 colours (~15–25 KB; crisp lines)."""
        image = Image.fromarray(self.rgba(eta)[..., :3]).quantize(colors=256, method=Image.Quantize.FASTOCTREE)
        buffer = io.BytesIO()
        image.save(buffer, format="png", compress_level=6)
        return buffer.getvalue()

    def jpeg(self, eta: float) -> bytes:
        """A live frame: JPEG encodes in <1 ms where PNG takes ~9 ms, which keeps a callback fast."""
        buffer = io.BytesIO()
        Image.fromarray(self.rgba(eta)[..., :3]).save(buffer, format="jpeg", quality=92)
        return buffer.getvalue()


def _grid_and_start(etas: Sequence[float], value: float | None):
    grid = np.asarray([_checks.lr(e) for e in etas], dtype=float)
    if grid.ndim != 1 or len(grid) < 2 or np.any(np.diff(grid) <= 0):
        raise ValueError("etas must be an increasing sequence of at least 2 learning rates")
    start = int(np.argmin(np.abs(np.log(grid) - np.log(value)))) if value else len(grid) // 2
    return grid, start


def _label(eta: float) -> str:
    return f"{eta:.3g}"


def static_slider(frame: SliderFrame, etas: Sequence[float], value: float | None = None,
                  description: str = "η", alt=None) -> W.VBox:
    """Precomputed frames for every η in ``etas``, flipped in the browser by a linked slider."""
    grid, start = _grid_and_start(etas, value)
    renderer = BlitRenderer(frame)
    width, height = frame.fig.canvas.get_width_height()
    images = [
        W.Image(value=renderer.png(eta), format="png", width=width, height=height)
        for eta in grid
    ]
    stack = W.Stack(children=images, selected_index=start)
    slider = W.SelectionSlider(
        options=[(_label(eta), float(eta)) for eta in grid], index=start, description=description,
        continuous_update=True, layout=W.Layout(width=f"{max(width, 360)}px"),
    )
    box = W.VBox([slider, stack])
    box.link = W.jslink((slider, "index"), (stack, "selected_index"))  # runs in the browser
    box.add_class("lr-slider")
    return box


def live_slider(frame: SliderFrame, etas: Sequence[float], value: float | None = None,
                description: str = "η", alt=None) -> W.VBox:
    """A continuous log-scale slider over [min(etas), max(etas)] that redraws on every move."""
    grid, start = _grid_and_start(etas, value)
    renderer = BlitRenderer(frame)
    lo, hi = np.log10(grid[0]), np.log10(grid[-1])
    slider = W.FloatLogSlider(
        value=grid[start], base=10, min=lo, max=hi, step=(hi - lo) / (4 * (len(grid) - 1)),
        description=description, readout_format=".3g", continuous_update=True,
        layout=W.Layout(width="420px"),
    )
    width, height = frame.fig.canvas.get_width_height()
    image = W.Image(value=renderer.jpeg(grid[start]), format="jpeg", width=width, height=height)

    def redraw(change) -> None:
        image.value = renderer.jpeg(change["new"])

    slider.observe(redraw, names="value")
    box = W.VBox([slider, image])
    box.add_class("lr-slider")
    return box


def lr_slider(frame: SliderFrame, etas: Sequence[float], value: float | None = None,
              description: str = "η", form: str | None = None, alt=None) -> W.VBox:
    """The LR slider in the form that fits where the chapter runs (see :func:`slider_form`).

    ``alt(η)`` is the text alternative of the frame at η: what it shows at that η, computed
    ("η = 0.0972: gradient descent on the 1-D quadratic converges in 12 steps")."""
    form = form or slider_form()
    if form == "static":
        return static_slider(frame, etas, value, description, alt=alt)
    if form == "live":
        return live_slider(frame, etas, value, description, alt=alt)
    raise ValueError(f"Invalid slider form: {form!r} (use 'live' or 'static')")
