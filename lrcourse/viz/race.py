"""The picture of an optimizer race: one slider frame, every optimizer's path for one η.

Left: the surface's contours with each optimizer's path θ_0 … θ_T in its own colour (a dot
marks where it ended). Right: the loss gap L(θ_t) − L* against t on a log scale. The frame
reads precomputed runs (``lrcourse.toy.race.race``): ``update(η)`` only looks up the run at the
grid point nearest to η, so a live slider moves instantly and static frames are cheap.
"""
from __future__ import annotations

from typing import Mapping

import numpy as np

from matplotlib import patheffects

from lrcourse.toy.gd import Trajectory
from lrcourse.viz.frames import PALETTE, SliderFrame, draw_surface, new_figure

__all__ = ["race_frame"]


def race_frame(surface, runs: Mapping[str, list[Trajectory]], *, loss_floor: float = 1e-10,
               loss_ceiling: float | None = None, size=(8.0, 3.8), dpi: int = 80) -> SliderFrame:
    """A :class:`~lrcourse.viz.frames.SliderFrame` of the race ``runs`` ({name: runs over one η grid})."""
    names = list(runs)
    if not names:
        raise ValueError("runs must hold at least one optimizer")
    grid = np.array([r.eta for r in runs[names[0]]], dtype=float)
    if any(not np.allclose([r.eta for r in runs[n]], grid) for n in names):
        raise ValueError("every optimizer's runs must share the same η grid")
    if surface.dim != 2:
        raise ValueError("race_frame draws 2-D surfaces only")
    steps = max(len(r.losses) for n in names for r in runs[n]) - 1
    l_star = surface.min_value

    fig, (ax_path, ax_loss) = new_figure(2, size=size, dpi=dpi, width_ratios=[1.0, 1.15])
    draw_surface(ax_path, surface)
    ax_path.plot(*runs[names[0]][0].path[0], marker="o", color="white", ms=6, mec="k")  # θ_0
    order = [0, 1, 2, 3, 4, 5, 9, 8, 6, 7]  # the colour-blind palette, most distinct first
    colours = {n: PALETTE[order[i % len(order)]] for i, n in enumerate(names)}
    halo = [patheffects.withStroke(linewidth=3.2, foreground="black", alpha=0.45)]
    paths = {n: ax_path.plot([], [], "-", color=colours[n], lw=1.8, path_effects=halo)[0] for n in names}
    ends = {n: ax_path.plot([], [], "o", color=colours[n], ms=5, mec="k", mew=0.6)[0] for n in names}
    curves = {n: ax_loss.plot([], [], color=colours[n], lw=1.5, label=n)[0] for n in names}
    ax_loss.set_yscale("log")
    start_gap = float(surface.value(np.asarray(runs[names[0]][0].path[0])[None])[0]) - l_star
    ax_loss.set_ylim(loss_floor, loss_ceiling if loss_ceiling is not None else 100 * max(start_gap, loss_floor))
    ax_loss.set_xlim(0, steps)
    ax_loss.set_xlabel("step t")
    ax_loss.set_ylabel("L(θ_t) − L*")
    fig.legend(handles=list(curves.values()), loc="outside lower center", ncol=min(len(names), 4),
               fontsize=8, frameon=False)
    label = ax_loss.text(0.97, 0.95, "", transform=ax_loss.transAxes, ha="right", va="top",
                         fontsize=10, bbox=dict(boxstyle="round", fc="white", ec="0.7"))

    def update(eta: float) -> None:
        k = int(np.argmin(np.abs(np.log(grid) - np.log(eta))))
        for n in names:
            tr = runs[n][k]
            ok = np.isfinite(tr.path).all(axis=1)
            shown = tr.path[ok]
            paths[n].set_data(shown[:, 0], shown[:, 1])
            ends[n].set_data(shown[-1:, 0], shown[-1:, 1])
            gap = np.clip(tr.losses[ok] - l_star, loss_floor, None)
            curves[n].set_data(np.flatnonzero(ok), gap)
        label.set_text(f"η = {grid[k]:.3g}")

    animated = [*paths.values(), *ends.values(), *curves.values(), label]
    return SliderFrame(fig, animated, update)
