"""The pictures of "Step sizes the algorithm picks": the η that Armijo backtracking and the
Polyak step choose at each step against the best fixed η, and the final loss against η with
and without gradient clipping. Each function takes computed arrays and only draws.

Figure standard: width × dpi ≤ 750 px, text ≥ 9 pt, mathtext labels, legends outside the data.
"""
from __future__ import annotations

import numpy as np

from lrcourse.viz.style import legend_outside, lr_axis, new_figure, series

__all__ = ["chosen_steps_figure", "clipping_figure"]


def chosen_steps_figure(panels: dict):
    """One panel per surface: η_t against t for named runs ({name: array}) and the best fixed η
    as a dashed line. ``panels`` maps a panel title to (runs, best_fixed_eta)."""
    fig, axes = new_figure(len(panels), size=(7.4, 3.3), dpi=100)
    for ax, (title, (runs, best)) in zip(axes, panels.items()):
        for i, (name, etas) in enumerate(runs.items()):
            etas = np.asarray(etas, dtype=float)
            ax.plot(np.arange(len(etas)), np.where(etas > 0, etas, np.nan), lw=1.2, label=name, **series(i))
        ax.axhline(best, color="0.3", lw=1.2, ls=(0, (4, 2)), label=r"best fixed $\eta$")
        ax.set_yscale("log")
        ax.set_title(title)
        ax.set_xlabel("step t")
    axes[0].set_ylabel(r"$\eta_t$")
    legend_outside(axes[-1])
    return fig


def clipping_figure(etas, final_plain, final_clipped, diverged_plain, usable: float, clip_label: str):
    """Final loss − L* against η without and with clipping (log–log); runs that diverged are
    marked × at the top; the usable threshold as a dotted line."""
    fig, (ax,) = new_figure(1, size=(7.0, 3.3), dpi=100)
    etas = np.asarray(etas, dtype=float)
    top = 30.0
    shown = np.where(diverged_plain, np.nan, np.maximum(final_plain, 1e-8))
    ax.plot(etas, shown, "o-", ms=4, lw=1.2, label="no clipping", **series(0))
    ax.plot(etas[diverged_plain], np.full(int(np.sum(diverged_plain)), top), "x", ms=7, mew=2,
            color=series(0)["color"], label="no clipping: diverged")
    ax.plot(etas, np.maximum(final_clipped, 1e-8), "s--", ms=4, lw=1.2, label=clip_label, **series(1))
    ax.axhline(usable, color="0.4", lw=1.0, ls=":", label="usable below this")
    lr_axis(ax)
    ax.set_yscale("log")
    ax.set_ylim(1e-3, 100)
    ax.set_ylabel(r"$L(\theta_T) - L^\star$")
    legend_outside(ax)
    return fig
