"""Pictures of learning-rate schedules: several η(t) curves as one slider frame.

A schedule is a function η(t) of the step t. :func:`schedule_grid_frame` draws a set of
them as small multiples, one panel per schedule, all sharing the x axis, with the curves
computed by ``curves(v)`` for the slider's value v (a base η, or a shape argument such as
OneCycleLR's pct_start). It returns a :class:`lrcourse.viz.frames.SliderFrame`, so
``widgets.lr_slider(frame, grid)`` shows it live in a kernel and as precomputed frames in
the book. As for every slider frame, only the curves and their readouts move: axes limits
and an optional grey reference curve per panel are drawn once.
"""
from __future__ import annotations

from typing import Callable, Mapping, Sequence

import numpy as np

from lrcourse import _checks
from lrcourse.viz.frames import PALETTE, SliderFrame, new_figure

__all__ = ["schedule_grid_frame", "COLOURS"]

# the house palette without its grey, which the book keeps for baselines and references
COLOURS = [c for c in PALETTE if not np.allclose(c, c[0])]


def _per_panel(name: str, value, names: Sequence[str]) -> dict:
    """One value per panel: a mapping must name every panel, anything else is shared."""
    if isinstance(value, Mapping):
        missing = [n for n in names if n not in value]
        if missing:
            raise ValueError(f"{name} has no entry for panel(s) {missing}")
        return {n: value[n] for n in names}
    return {n: value for n in names}


def _check_ylim(name: str, ylim, logy: bool) -> tuple[float, float]:
    try:
        lo, hi = (float(v) for v in ylim)
    except (TypeError, ValueError):
        raise ValueError(f"Invalid ylim for {name!r}: {ylim!r} (need a (low, high) pair)") from None
    if not (np.isfinite(lo) and np.isfinite(hi) and lo < hi):
        raise ValueError(f"Invalid ylim for {name!r}: ({lo}, {hi}) (need finite low < high)")
    if logy and lo <= 0:
        raise ValueError(f"Invalid ylim for {name!r}: ({lo}, {hi}) (a log axis needs low > 0)")
    return lo, hi


def schedule_grid_frame(
    x,
    names: Sequence[str],
    curves: Callable[[float], Mapping[str, np.ndarray]],
    *,
    ncols: int = 4,
    ylim=(1e-4, 1.0),
    logy=True,
    xlabel: str = "step t",
    ylabel="η",
    reference: Mapping[str, np.ndarray] | None = None,
    readout: Callable[[str, np.ndarray], str] | None = None,
    label: Callable[[float], str] | None = None,
    size=(8.0, 4.6),
    dpi: int = 80,
) -> SliderFrame:
    """Small multiples of η(t): panel ``name`` shows ``curves(v)[name]`` against ``x``.

    ``ylim``, ``logy`` and ``ylabel`` are shared, or given per panel as {name: value}.
    ``reference`` ({name: y}) is drawn once in grey, e.g. the curve at the default argument.
    ``readout(name, y)``, if given, is a second line of each panel's title and moves with
    the slider; ``label(v)`` is the figure's title (default ``η = v``).
    """
    x = np.asarray(x, dtype=float)
    if x.ndim != 1 or len(x) < 2:
        raise ValueError(f"Invalid x: need a 1-D array of at least 2 points, got shape {x.shape}")
    names = list(names)
    if not names:
        raise ValueError("Invalid names: need at least one panel")
    if len(set(names)) != len(names):
        raise ValueError(f"Invalid names: {names} (panel names must be unique)")
    ncols = min(_checks.positive_int(ncols, "ncols"), len(names))
    nrows = -(-len(names) // ncols)
    logs = {n: bool(v) for n, v in _per_panel("logy", logy, names).items()}
    lims = {n: _check_ylim(n, v, logs[n]) for n, v in _per_panel("ylim", ylim, names).items()}
    ylabels = _per_panel("ylabel", ylabel, names)
    if reference is not None:
        reference = _per_panel("reference", reference, names)
    fig, axes = new_figure(ncols, nrows, size=size, dpi=dpi, sharex=True)
    for ax in axes[len(names):]:
        ax.set_visible(False)
    lines, titles = {}, {}
    for i, (name, ax) in enumerate(zip(names, axes)):
        if logs[name]:
            ax.set_yscale("log")
        ax.set_xlim(float(x[0]), float(x[-1]))
        ax.set_ylim(*lims[name])
        # with a readout, titles have two lines from the start, so the layout keeps room for both
        titles[name] = ax.set_title(name + ("\n " if readout is not None else ""), fontsize=8, pad=3)
        ax.tick_params(labelsize=7, pad=1)
        if i % ncols == 0 or isinstance(ylabel, Mapping):
            ax.set_ylabel(ylabels[name], fontsize=8)
        if i >= len(names) - ncols:  # the last panel of its column: label its x axis
            ax.set_xlabel(xlabel, fontsize=8)
            ax.xaxis.set_tick_params(labelbottom=True)
        if reference is not None:
            ax.plot(x, np.asarray(reference[name], dtype=float), color="k", alpha=0.45, lw=1.0, ls="--")
        lines[name] = ax.plot([], [], color=COLOURS[i % len(COLOURS)], lw=1.8)[0]
    title = fig.suptitle("η", fontsize=10)  # non-empty, so the layout keeps room for it

    def update(value: float) -> None:
        ys = curves(value)
        for name in names:
            if name not in ys:
                raise ValueError(f"curves({value!r}) returned no curve for panel {name!r}")
            y = np.asarray(ys[name], dtype=float)
            if y.shape != x.shape:
                raise ValueError(f"curve {name!r} has shape {y.shape}, expected {x.shape}")
            lines[name].set_data(x, y)
            if readout is not None:
                titles[name].set_text(f"{name}\n{readout(name, y)}")
        title.set_text(label(value) if label else f"η = {value:.3g}")

    moving_titles = list(titles.values()) if readout is not None else []
    return SliderFrame(fig, [*lines.values(), *moving_titles, title], update)
