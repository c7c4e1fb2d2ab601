"""The book's house style, and the few plot kinds it repeats.

Style: seaborn's ``whitegrid`` theme with the colour-blind-safe ``colorblind`` palette;
learning-rate axes are log-scaled and labelled "learning rate η".

A slider frame (:class:`SliderFrame`) is a persistent figure whose background (contours,
axes, labels) is drawn once and whose *animated* artists (a path, a curve, a title) are
updated for each η. ``lrcourse.viz.widgets`` renders it by blitting: only the animated artists
are redrawn, which is what keeps a live slider fast and static frames small.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, Sequence

import numpy as np
from matplotlib.figure import Figure

from lrcourse.viz.style import (LR_LABEL, PALETTE, draw_surface, legend_outside, lr_axis, new_figure,  # noqa: F401
                                series, set_style)


@dataclass
class SliderFrame:
    """A persistent figure for one slider.

    ``update(η)`` sets the data of the ``animated`` artists for that η; nothing else on the
    figure changes, so every frame shares the same axes limits and only η's effect moves.
    """

    fig: Figure
    animated: Sequence
    update: Callable[[float], None]


def trajectory_frame(
    surface,
    trajectory: Callable[[float], "object"],
    *,
    steps: int,
    loss_floor: float = 1e-12,
    loss_ceiling: float | None = None,
    size=(8.0, 3.2),
    dpi: int = 80,
    title: Callable[[object], str] | None = None,
) -> SliderFrame:
    """Left: the path θ_0…θ_T on the surface (a 1-D curve or 2-D contours). Right: L(θ_t) − L* vs t
    (labels in mathtext).

    ``trajectory(η)`` returns a :class:`lrcourse.toy.gd.Trajectory`; the frame only draws it.
    """
    fig, (ax_path, ax_loss) = new_figure(2, size=size, dpi=dpi, width_ratios=[1.1, 1])
    colour = PALETTE[3]
    l_star = surface.min_value
    if surface.dim == 1:
        x0, x1 = surface.window
        xs = np.linspace(x0, x1, 300)
        ax_path.plot(xs, surface.value(xs[:, None]), color=PALETTE[0], lw=2)
        ax_path.plot(surface.minima[0][0], l_star, marker="x", color="k", markersize=8, mew=2)
        ax_path.set_xlim(x0, x1)
        top = float(surface.value(np.array([[x1]]))[0])
        ax_path.set_ylim(-0.05 * top, 1.15 * top)
        ax_path.set_xlabel(r"$\theta$")
        ax_path.set_ylabel(r"$L(\theta)$")
        (path_line,) = ax_path.plot([], [], "o-", color=colour, ms=3.5, lw=0.8, alpha=0.9)
    else:
        draw_surface(ax_path, surface)
        (path_line,) = ax_path.plot([], [], "o-", color=colour, ms=2.5, lw=1.2)
    ax_loss.set_yscale("log")
    ceiling = loss_ceiling if loss_ceiling is not None else 10 * (float(surface.value(np.asarray(surface.start)[None])[0]) - l_star)
    ax_loss.set_ylim(loss_floor, max(ceiling, 10 * loss_floor))
    ax_loss.set_xlim(0, steps)
    ax_loss.set_xlabel("step t")
    ax_loss.set_ylabel(r"$L(\theta_t) - L^\star$")
    (loss_line,) = ax_loss.plot([], [], color=colour, lw=1.5)
    label = ax_loss.text(0.97, 0.95, "", transform=ax_loss.transAxes, ha="right", va="top",
                         fontsize=11, bbox=dict(boxstyle="round", fc="white", ec="0.7"))

    def update(eta: float) -> None:
        tr = trajectory(eta)
        shown = tr.path if surface.dim == 2 else np.column_stack([tr.path[:, 0], tr.losses])
        path_line.set_data(shown[:, 0], shown[:, 1])
        gap = np.clip(tr.losses - l_star, loss_floor, None)
        loss_line.set_data(np.arange(len(gap)), gap)
        if title is not None:
            label.set_text(title(tr))
        else:
            state = f"diverged at t = {tr.diverged_at}" if tr.diverged else f"L − L* = {tr.losses[-1] - l_star:.2e}"
            label.set_text(f"η = {eta:.3g}\n{state}")

    return SliderFrame(fig, [path_line, loss_line, label], update)


def curves_frame(
    x: np.ndarray,
    names: Sequence[str],
    curves: Callable[[float], dict],
    *,
    xlabel: str,
    ylabel: str,
    ylim,
    logy: bool = False,
    size=(6.5, 3.2),
    dpi: int = 80,
    label: Callable[[float], str] | None = None,
) -> SliderFrame:
    """Named curves y(x) that change with η (e.g. train and hold-out loss per epoch).

    ``curves(η)`` returns {name: y-array} for the declared ``names`` (a shorter array stops
    early, e.g. a run that diverged).
    """
    fig, (ax,) = new_figure(1, size=size, dpi=dpi)
    lines = {name: ax.plot([], [], lw=1.8, label=name, **series(i))[0] for i, name in enumerate(names)}
    ax.set_xlim(float(np.min(x)), float(np.max(x)))
    if logy:
        ax.set_yscale("log")
    ax.set_ylim(*ylim)
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    legend_outside(ax)
    text = ax.text(0.97, 0.95, "", transform=ax.transAxes, ha="right", va="top", fontsize=11,
                   bbox=dict(boxstyle="round", fc="white", ec="0.7"))

    def update(eta: float) -> None:
        ys = curves(eta)
        for name, line in lines.items():
            y = np.asarray(ys[name], dtype=float)
            line.set_data(np.asarray(x)[: len(y)], y)
        text.set_text(label(eta) if label else f"η = {eta:.3g}")

    return SliderFrame(fig, [*lines.values(), text], update)
