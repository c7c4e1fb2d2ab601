"""schedule_grid_frame: small multiples of η(t) as a slider frame."""
import numpy as np
import pytest

from lrcourse.schedules import functions as F
from lrcourse.viz import schedules as schedule_plots
from lrcourse.viz import widgets
from lrcourse.viz.frames import PALETTE

T = 60
t = np.arange(T)
NAMES = ["step", "cosine", "one-cycle"]


def curves(eta0):
    return {
        "step": F.step_lr(t, eta0, step_size=20, gamma=0.5),
        "cosine": F.cosine_annealing(t, eta0, T_max=T),
        "one-cycle": F.one_cycle(t, eta0, total_steps=T),
    }


def frame(**kwargs):
    return schedule_plots.schedule_grid_frame(t, NAMES, curves, ncols=2, **kwargs)


def test_update_draws_each_schedule_at_the_slider_value():
    fr = frame()
    fr.update(0.3)
    lines = fr.animated[: len(NAMES)]
    for name, line in zip(NAMES, lines):
        np.testing.assert_array_equal(line.get_xdata(), t)
        np.testing.assert_array_equal(line.get_ydata(), curves(0.3)[name])
    assert fr.animated[-1].get_text() == "η = 0.3"


def test_axes_limits_do_not_move_with_the_slider():
    fr = frame(ylim=(1e-5, 2.0))
    visible = [ax for ax in fr.fig.axes if ax.get_visible()]
    assert len(visible) == len(NAMES)  # a 2×2 grid with the fourth panel hidden
    fr.update(1e-3)
    before = [(ax.get_xlim(), ax.get_ylim()) for ax in visible]
    fr.update(1.0)
    assert [(ax.get_xlim(), ax.get_ylim()) for ax in visible] == before
    assert all(ax.get_yscale() == "log" for ax in visible)


def test_readout_moves_in_the_panel_titles_and_reference_is_static():
    fr = frame(reference=curves(0.1), readout=lambda name, y: f"mean {y.mean():.3g}")
    fr.update(0.2)
    titles = [a for a in fr.animated if a not in fr.animated[: len(NAMES)]][:-1]
    assert [ti.get_text() for ti in titles] == [f"{n}\nmean {curves(0.2)[n].mean():.3g}" for n in NAMES]
    ax = fr.fig.axes[0]
    reference, moving = ax.lines[0], ax.lines[1]
    np.testing.assert_array_equal(reference.get_ydata(), curves(0.1)["step"])
    assert reference not in fr.animated and moving in fr.animated


def test_per_panel_settings():
    fr = schedule_plots.schedule_grid_frame(
        t, ["a", "b"], lambda v: {"a": np.full(T, v), "b": np.full(T, 0.9)}, logy={"a": True, "b": False},
        ylim={"a": (1e-3, 1.0), "b": (0.8, 1.0)}, ylabel={"a": "η", "b": "β"})
    a, b = fr.fig.axes[:2]
    assert (a.get_yscale(), b.get_yscale()) == ("log", "linear")
    assert b.get_ylim() == (0.8, 1.0) and (a.get_ylabel(), b.get_ylabel()) == ("η", "β")


def test_colours_leave_out_the_palettes_grey():
    # seaborn's "colorblind" palette: 10 colours, the 8th of which is the grey #949494
    from matplotlib.colors import to_rgb

    grey = to_rgb("#949494")
    assert not any(np.allclose(c, grey, atol=2e-3) for c in schedule_plots.COLOURS)
    assert len(schedule_plots.COLOURS) == 9


def test_static_slider_renders_one_distinct_frame_per_value():
    grid = widgets.lr_grid(1e-3, 1.0, 4)
    box = widgets.static_slider(frame(), grid, value=0.1)
    images = box.children[1].children
    assert len(images) == len(grid)
    assert len({im.value for im in images}) == len(grid)


@pytest.mark.parametrize("kwargs, message", [
    (dict(names=[]), "at least one panel"),
    (dict(names=["a", "a"]), "unique"),
    (dict(ncols=0), "ncols"),
    (dict(ylim=(1.0, 0.1)), "low < high"),
    (dict(ylim=(0.0, 1.0)), "log axis needs low > 0"),
    (dict(ylim={"step": (1e-3, 1.0)}), "no entry for panel"),
    (dict(x=[0.0]), "at least 2 points"),
])
def test_invalid_arguments_raise(kwargs, message):
    args = dict(x=t, names=NAMES)
    args.update({k: kwargs.pop(k) for k in ("x", "names") if k in kwargs})
    with pytest.raises(ValueError, match=message):
        schedule_plots.schedule_grid_frame(args["x"], args["names"], curves, **kwargs)


def test_a_curve_missing_or_of_the_wrong_length_is_an_error():
    fr = schedule_plots.schedule_grid_frame(t, ["a"], lambda v: {"b": np.zeros(T)})
    with pytest.raises(ValueError, match="no curve for panel 'a'"):
        fr.update(0.1)
    fr = schedule_plots.schedule_grid_frame(t, ["a"], lambda v: {"a": np.zeros(T - 1)})
    with pytest.raises(ValueError, match="shape"):
        fr.update(0.1)
