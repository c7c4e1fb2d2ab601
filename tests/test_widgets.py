"""The LR slider: both forms from one frame; static frames linked in the browser's model."""
import io

import ipywidgets as W
import numpy as np
import pytest
from PIL import Image

from lrcourse.toy import gd
from lrcourse.viz import frames as plots
from lrcourse.toy import surfaces
from lrcourse.viz import widgets


@pytest.fixture
def frame():
    q = surfaces.Quadratic2D()
    return plots.trajectory_frame(q, lambda eta: gd.run(q, eta, steps=50), steps=50)


def test_static_slider_is_a_linked_stack_of_distinct_frames(frame):
    grid = widgets.lr_grid(0.01, 0.3, 7)
    box = widgets.static_slider(frame, grid, value=0.05)
    slider, stack = box.children
    assert isinstance(slider, W.SelectionSlider) and isinstance(stack, W.Stack)
    assert [v for _, v in slider.options] == pytest.approx(list(grid))
    assert slider.index == stack.selected_index == int(np.argmin(abs(np.log(grid / 0.05))))
    assert slider.options[slider.index][0] == f"{grid[slider.index]:.3g}"  # reads out η, not a frame number
    frames = [child.value for child in stack.children]
    assert len(set(frames)) == len(grid)
    sizes = {Image.open(io.BytesIO(f)).size for f in frames}
    assert len(sizes) == 1  # the same axes for every frame
    assert box.link.source == (slider, "index") and box.link.target == (stack, "selected_index")


def test_static_frames_share_background_pixels(frame):
    """Only the animated artists change between frames: the axes and contours stay put."""
    r = widgets.BlitRenderer(frame)
    a, b = r.rgba(0.01).copy(), r.rgba(0.19).copy()
    changed = np.any(a != b, axis=-1).mean()
    assert 0 < changed < 0.2


def test_live_slider_redraws_on_change(frame):
    box = widgets.live_slider(frame, widgets.lr_grid(0.01, 0.3, 7), value=0.05)
    slider, image = box.children
    before = image.value
    slider.value = 0.19
    assert image.value != before
    assert image.format == "jpeg"
    Image.open(io.BytesIO(image.value)).verify()


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
