"""The LR slider: both forms from one frame; static frames linked in the browser's model, each
with its alt text; the start value on the grid; frames as files for the site; phone frames."""
import base64
import html
import io
import re

import ipywidgets as W
import numpy as np
import pytest
from PIL import Image

from lrcourse.toy import gd
from lrcourse.viz import frames as plots
from lrcourse.toy import surfaces
from lrcourse.viz import style, widgets
from lrcourse.viz.style import legend_outside, new_figure

IMG = re.compile(r'<img [^>]*src="([^"]+)"[^>]*alt="([^"]*)"')


@pytest.fixture
def frame():
    q = surfaces.Quadratic2D()
    return plots.trajectory_frame(q, lambda eta: gd.run(q, eta, steps=50), steps=50)


def decode(src: str) -> np.ndarray:
    assert src.startswith("data:image/")
    return np.asarray(Image.open(io.BytesIO(base64.b64decode(src.split(",", 1)[1]))).convert("RGB"))


def test_static_slider_is_a_linked_stack_of_distinct_frames(frame, monkeypatch):
    monkeypatch.delenv(widgets.FRAMES_DIR_VAR, raising=False)
    grid = widgets.lr_grid(0.01, 0.3, 7)
    box = widgets.static_slider(frame, grid, value=grid[2])
    slider, stack = box.children
    assert isinstance(slider, W.SelectionSlider) and isinstance(stack, W.Stack)
    assert [v for _, v in slider.options] == pytest.approx(list(grid))
    assert slider.index == stack.selected_index == 2
    assert all(isinstance(child, W.HTML) for child in stack.children)
    srcs = [IMG.search(child.value).group(1) for child in stack.children]
    assert len(set(srcs)) == len(grid)
    pictures = [decode(s) for s in srcs]
    assert len({p.shape for p in pictures}) == 1  # the same axes for every frame
    assert box.link.source == (slider, "index") and box.link.target == (stack, "selected_index")
    # the readout is part of each frame (plain text, not an editable field), and reads η itself
    assert slider.readout is False
    readouts = [re.search(r'class="lr-readout"[^>]*>([^<]*)<', c.value).group(1) for c in stack.children]
    assert readouts == [f"η = {eta:.3g}" for eta in grid]
    assert 'data-aria-label="learning rate η"' in stack.children[0].value
    # no fixed pixel width: the row follows the column
    assert slider.layout.width == box.layout.width == stack.layout.width == "100%"


def test_static_frames_share_background_pixels(frame):
    """Only the animated artists change between frames: the axes and contours stay put."""
    r = widgets.BlitRenderer(frame)
    a, b = r.rgba(0.01).copy(), r.rgba(0.19).copy()
    changed = np.any(a != b, axis=-1).mean()
    assert 0 < changed < 0.2


def test_webp_frame_has_the_pixels_of_the_png_frame(frame):
    """WebP is only a smaller container: lossless, the same 256-colour pixels as the PNG."""
    r = widgets.BlitRenderer(frame)
    png = np.asarray(Image.open(io.BytesIO(r.png(0.05))).convert("RGB"))
    webp = Image.open(io.BytesIO(r.webp(0.05)))
    assert webp.format == "WEBP"
    assert np.array_equal(np.asarray(webp.convert("RGB")), png)


@pytest.mark.parametrize("value", [0.1, 0.0123, 1.2, 0.01])
def test_start_value_is_on_the_grid(frame, value):
    """value=0.1 on a grid without 0.1: the nearest grid point becomes 0.1, the readout says 0.1."""
    grid = widgets.lr_grid(0.01, 1.2, 41)
    assert not np.any(np.isclose(grid, 0.0123))
    box = widgets.static_slider(frame, grid, value=value)
    slider = box.children[0]
    values = [v for _, v in slider.options]
    assert values[slider.index] == value
    assert slider.options[slider.index][0] == f"{value:.3g}"
    assert len(values) == len(grid) and np.all(np.diff(values) > 0)
    nearest = int(np.argmin(abs(np.log(grid) - np.log(value))))
    assert slider.index == nearest
    others = np.delete(np.arange(len(grid)), nearest)
    assert np.array_equal(np.asarray(values)[others], grid[others])  # the rest of the grid is untouched


def test_start_value_outside_the_grid_is_refused(frame):
    with pytest.raises(ValueError, match="outside the grid"):
        widgets.static_slider(frame, widgets.lr_grid(0.01, 0.3, 5), value=0.5)


def test_readouts_are_unique_even_for_close_neighbours(frame):
    box = widgets.static_slider(frame, [0.01, 0.1, 0.100001, 0.2], value=0.1)
    labels = [label for label, _ in box.children[0].options]
    assert len(set(labels)) == 4 and labels[1] == "0.1"


def test_each_frame_has_its_own_alt_text(frame):
    grid = widgets.lr_grid(0.01, 0.3, 5)
    box = widgets.static_slider(frame, grid, alt=lambda eta: f"η = {eta:.3g}: <path> & more")
    alts = [html.unescape(IMG.search(c.value).group(2)) for c in box.children[1].children]
    assert alts == [f"η = {eta:.3g}: <path> & more" for eta in grid]


def test_default_alt_is_computed_from_the_frame(frame):
    """Without alt=, the text names η, the panels' axes and what the frame's label box says."""
    box = widgets.static_slider(frame, [0.01, 0.05, 0.2])
    alts = [html.unescape(IMG.search(c.value).group(2)) for c in box.children[1].children]
    assert len(set(alts)) == 3
    assert alts[0].startswith("η = 0.01: 2 panels")
    assert "step t" in alts[0] and "θ" in alts[0]


def test_bad_alt_is_refused(frame):
    with pytest.raises(ValueError, match="alt"):
        widgets.static_slider(frame, [0.01, 0.05], alt=lambda eta: "  ")


def test_frames_become_files_when_the_build_asks(frame, tmp_path, monkeypatch):
    monkeypatch.setenv(widgets.FRAMES_DIR_VAR, str(tmp_path))
    grid = [0.01, 0.05, 0.2]
    expected = widgets.BlitRenderer(frame).png(0.05)  # the frame before the phone re-layout
    box = widgets.static_slider(frame, grid)
    srcs = [IMG.search(c.value).group(1) for c in box.children[1].children]
    assert all(s.startswith(widgets.FRAME_URL_PREFIX) and s.endswith(".webp") for s in srcs)
    on_disk = Image.open(tmp_path / srcs[1][len(widgets.FRAME_URL_PREFIX):]).convert("RGB")
    assert np.array_equal(np.asarray(on_disk), np.asarray(Image.open(io.BytesIO(expected)).convert("RGB")))


def test_side_by_side_panels_get_a_stacked_phone_set(frame, tmp_path, monkeypatch):
    monkeypatch.setenv(widgets.FRAMES_DIR_VAR, str(tmp_path))
    wide_w, wide_h = frame.fig.canvas.get_width_height()
    box = widgets.static_slider(frame, [0.01, 0.05, 0.2])
    first = box.children[1].children[0].value
    source = re.search(r'<source media="([^"]+)" srcset="lrframes://([^"]+)"', first)
    assert source and source.group(1) == widgets.NARROW_MEDIA
    narrow = Image.open(tmp_path / source.group(2))
    assert narrow.size[0] == widgets.NARROW_PX and narrow.size[1] > narrow.size[0] / 2
    top, bottom = (ax.get_position() for ax in frame.fig.axes[:2])
    assert top.y0 >= bottom.y1  # the path above, the loss below


def _one_panel(size):
    fig, (ax,) = new_figure(1, size=size, dpi=100)
    lines = [ax.plot([], [], label=name)[0] for name in ("constant η, simulated", "constant η, exact",
                                                         "floor (formula)", "decaying η")]
    ax.set_xlim(0, 4)
    ax.set_ylim(0, 1)
    legend_outside(ax)  # beside the axes: on a phone it would squeeze them
    text = ax.text(0.03, 0.04, "", transform=ax.transAxes, fontsize=11)

    def update(eta):
        for line in lines:
            line.set_data(np.arange(5), np.full(5, eta))
        text.set_text(f"η = {eta:.3g}: a readout far longer than a phone is wide, on one line")

    return plots.SliderFrame(fig, [*lines, text], update)


def test_a_wide_one_panel_frame_gets_a_phone_wide_set(tmp_path, monkeypatch):
    """The same panel NARROW_PX wide: the legend under the axes (not beside them), the readout
    wrapped inside the image, and every text still legible at a phone's column."""
    monkeypatch.setenv(widgets.FRAMES_DIR_VAR, str(tmp_path))
    f = _one_panel((7.0, 3.3))
    box = widgets.static_slider(f, [0.1, 0.2])
    source = re.search(r'<source media="[^"]+" srcset="lrframes://([^"]+)"', box.children[1].children[0].value)
    assert source, "a 700 px one-panel frame needs a phone set"
    assert Image.open(tmp_path / source.group(1)).size[0] == widgets.NARROW_PX
    renderer = f.fig.canvas.get_renderer()
    (ax,) = f.fig.axes
    assert ax.get_legend() is None and len(f.fig.legends) == 1
    legend, axes_box = f.fig.legends[0].get_window_extent(renderer), ax.get_window_extent(renderer)
    assert legend.y1 <= axes_box.y0 and legend.width <= widgets.NARROW_PX  # under the panel, inside the image
    assert axes_box.width > 0.6 * widgets.NARROW_PX  # the panel keeps most of the width
    readout = f.animated[-1].get_window_extent(renderer)
    assert readout.x1 <= widgets.NARROW_PX and readout.height > 20  # wrapped onto two lines
    report = style.figure_report(f.fig, column_px=widgets.NARROW_COLUMN_PX)
    assert report["smallest_pt"] >= style.MIN_TEXT_PT and not report["legends_over_data"]


def test_a_narrow_one_panel_frame_has_no_phone_set():
    box = widgets.static_slider(_one_panel((4.0, 3.0)), [0.1, 0.2])
    assert "<source" not in box.children[1].children[0].value


def test_live_slider_redraws_and_updates_alt_on_change(frame):
    box = widgets.live_slider(frame, widgets.lr_grid(0.01, 0.3, 7), value=0.05,
                              alt=lambda eta: f"η = {eta:.3g} now")
    slider, image = box.children
    assert slider.value == 0.05
    before = image.value
    assert 'alt="η = 0.05 now"' in before
    slider.value = 0.19
    assert image.value != before and 'alt="η = 0.19 now"' in image.value
    src = IMG.search(image.value).group(1)
    assert src.startswith("data:image/jpeg;base64,")
    Image.open(io.BytesIO(base64.b64decode(src.split(",", 1)[1]))).verify()


def test_form_follows_environment(frame, monkeypatch):
    grid = widgets.lr_grid(0.01, 0.3, 3)
    monkeypatch.setenv(widgets.ENV_VAR, "static")
    assert isinstance(widgets.lr_slider(frame, grid).children[1], W.Stack)
    monkeypatch.setenv(widgets.ENV_VAR, "live")
    assert isinstance(widgets.lr_slider(frame, grid).children[0], W.FloatLogSlider)
    monkeypatch.setenv(widgets.ENV_VAR, "banana")
    with pytest.raises(ValueError, match="LRCOURSE_WIDGETS"):
        widgets.lr_slider(frame, grid)


def test_bad_grids(frame):
    with pytest.raises(ValueError, match="Invalid learning rate"):
        widgets.lr_grid(-1, 1)
    with pytest.raises(ValueError, match="Invalid grid"):
        widgets.lr_grid(1, 0.1)
    with pytest.raises(ValueError, match="increasing"):
        widgets.static_slider(frame, [0.1, 0.05])
    with pytest.raises(ValueError, match="Invalid slider form"):
        widgets.lr_slider(frame, [0.1, 0.2], form="gif")


@pytest.mark.parametrize("value", [0.1, 0.0123, 0.01, 0.3])
def test_live_slider_steps_pass_through_the_start_value(frame, value):
    """The browser snaps a FloatLogSlider to min + k·step: the start value must be such a point
    (else value=0.1 reads 0.0987), and the range must still cover the grid."""
    grid = widgets.lr_grid(0.01, 0.3, 7)
    slider = widgets.live_slider(frame, grid, value=value).children[0]
    k = (np.log10(value) - slider.min) / slider.step
    assert abs(k - round(k)) < 1e-6
    assert slider.min <= np.log10(grid[0]) + 1e-12 and slider.max >= np.log10(grid[-1]) - 1e-12
    assert slider.min >= np.log10(grid[0]) - slider.step - 1e-12
    assert slider.max <= np.log10(grid[-1]) + slider.step + 1e-12
    assert slider.value == value
