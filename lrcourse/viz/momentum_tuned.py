"""Pictures of tuned momentum: the (η, β) explorable's frame, its alt text, and the three
dampings. Nothing here runs an optimizer: every function draws what the chapter computed."""
from __future__ import annotations

from typing import Mapping

import numpy as np
from matplotlib import patheffects
from matplotlib.colors import ListedColormap
from matplotlib.ticker import NullFormatter

from lrcourse.viz.style import PALETTE, draw_surface, new_figure
from lrcourse.viz.tables import cell
from lrcourse.viz.two_sliders import PairFrame

__all__ = ["pair_frame", "pair_alt", "damping_figure"]


def pair_frame(surface, runs: Mapping[tuple, object], rate_etas, rate_betas, rates, best, *,
               loss_floor: float = 1e-12, size=(7.5, 2.75), dpi: int = 100, column: bool = False) -> PairFrame:
    """Left: heavy ball's path on the contours. Middle: L(θ_t) − L* against t. Right: the rate ρ
    over the (η, β) plane (log η), (η*, β*) as a star and the current pair as a ring.
    ``runs[(η, β)]`` is a Trajectory; ``rates`` has shape (len(rate_betas), len(rate_etas)).
    ``column=True`` stacks the panels (360 px wide) for phones."""
    first = next(iter(runs.values()))
    steps = len(first.losses) - 1
    if column:                                    # the phone layout: the three panels stacked
        fig, (ax_path, ax_loss, ax_rate) = new_figure(1, 3, size=(3.6, 7.6), dpi=dpi)
    else:
        fig, (ax_path, ax_loss, ax_rate) = new_figure(3, size=size, dpi=dpi, width_ratios=[1, 1, 1.15])
    draw_surface(ax_path, surface, levels=18, resolution=120)
    ax_path.plot(*first.path[0], marker="o", color="white", ms=6, mec="k", zorder=5)
    halo = [patheffects.withStroke(linewidth=3.0, foreground="black", alpha=0.4)]
    path, = ax_path.plot([], [], color=PALETTE[1], lw=1.6, path_effects=halo)
    ax_path.set_title("path", fontsize=11)
    curve, = ax_loss.plot([], [], color=PALETTE[3], lw=1.8)
    ax_loss.set_yscale("log")
    start = float(first.losses[0] - surface.min_value)
    ax_loss.set_ylim(loss_floor, 100 * start)
    ax_loss.set_xlim(0, steps)
    ax_loss.set_xlabel("step t")
    ax_loss.set_ylabel(r"$L(\theta_t) - L^\star$")
    note = ax_loss.text(0.96, 0.95, "", transform=ax_loss.transAxes, ha="right", va="top", fontsize=10,
                        bbox=dict(boxstyle="round", fc="white", ec="0.7"))
    shown = np.where(rates < 1, rates, np.nan)
    floor = float(np.floor(10 * np.nanmin(shown)) / 10)
    cmap = ListedColormap(np.linspace([0.05, 0.2, 0.45], [0.97, 0.95, 0.75], 256)).with_extremes(bad="0.55")
    mesh = ax_rate.pcolormesh(rate_etas, rate_betas, shown, cmap=cmap, vmin=floor, vmax=1.0, shading="nearest",
                              rasterized=True)
    ax_rate.set_xscale("log")
    ticks = [t for t in (0.01, 0.03, 0.1, 0.3, 1.0) if rate_etas[0] <= t <= rate_etas[-1]]
    ax_rate.set_xticks(ticks, [f"{t:g}" for t in ticks])
    ax_rate.xaxis.set_minor_formatter(NullFormatter())
    ax_rate.set_xlabel(r"$\eta$")
    ax_rate.set_ylabel(r"$\beta$")
    ax_rate.set_title(r"rate $\rho$ (grey: diverges)", fontsize=11)
    fig.colorbar(mesh, ax=ax_rate, pad=0.02, fraction=0.08)
    ax_rate.plot(best.eta, best.beta, marker="*", color="white", ms=13, mec="k", zorder=5)
    ring, = ax_rate.plot([], [], "o", ms=10, mfc="none", mec=PALETTE[3], mew=2.5, zorder=6)

    def update(pair) -> None:
        tr = runs[(float(pair[0]), float(pair[1]))]
        ok = np.isfinite(tr.path).all(axis=1) & (np.abs(tr.path) < 1e3).all(axis=1)
        path.set_data(tr.path[ok, 0], tr.path[ok, 1])
        gap = np.clip(tr.losses - surface.min_value, loss_floor, None)
        good = np.isfinite(gap)
        curve.set_data(np.flatnonzero(good), gap[good])
        note.set_text("diverged" if tr.diverged else f"below {loss_floor:.0e}" if gap[-1] <= loss_floor
                     else f"final {gap[-1]:.1e}")
        ring.set_data([pair[0]], [pair[1]])

    return PairFrame(fig, [path, curve, note, ring], update)


def pair_alt(runs: Mapping[tuple, object], rate_of, best, min_value: float = 0.0, tol: float = 1e-6):
    """``alt(η, β)``: the rate there and what the run did, in words."""
    def alt(eta: float, beta: float) -> str:
        tr = runs[(eta, beta)]
        rho = float(rate_of(eta, beta))
        head = f"η = {cell(eta)}, β = {cell(beta)}: rate ρ = {cell(rho)}"
        where = f"; the optimum (η* = {cell(best.eta)}, β* = {cell(best.beta)}, ρ* = {cell(best.rate)}) is starred on the map"
        if tr.diverged or rho >= 1:
            return head + ", heavy ball diverges" + where
        gap = tr.losses - min_value
        hit = np.flatnonzero(gap <= tol * gap[0])
        done = (f"the loss falls by {tol:.0e} in {int(hit[0])} steps" if hit.size
                else f"the loss falls to {cell(float(gap[-1] / gap[0]))} of its start in {len(gap) - 1} steps")
        return f"{head}; {done}" + where
    return alt


def damping_figure(curves: Mapping[str, np.ndarray], *, size=(7.5, 2.8), dpi: int = 100):
    """θ_t of one direction under three (η, β): under-, critically and over-damped."""
    fig, (ax,) = new_figure(1, size=size, dpi=dpi)
    looks = [(PALETTE[0], "-", "o"), (PALETTE[3], "--", None), (PALETTE[2], ":", "s")]
    for (name, theta), (colour, ls, marker) in zip(curves.items(), looks):
        ax.plot(np.arange(len(theta)), theta, color=colour, ls=ls, lw=2, marker=marker, ms=4, markevery=3,
                label=name)
    ax.axhline(0, color="0.5", lw=0.8)
    ax.set_xlabel("step t")
    ax.set_ylabel(r"$\theta_t$ (one direction)")
    ax.legend(loc="upper left", bbox_to_anchor=(1.02, 1.0), frameon=False, fontsize=10)
    return fig
