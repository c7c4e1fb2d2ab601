"""The pictures of "Why decay works": the noise floor of SGD with a constant η against its
formula, decaying schedules going below it, the slider over η, and the MNIST-1D runs before and
after each drop of a step schedule. Each function takes computed arrays and only draws.

Figure standard: width × dpi ≤ 750 px, text ≥ 9 pt, mathtext labels, legends outside the data.
"""
from __future__ import annotations

import numpy as np

from lrcourse.viz.frames import SliderFrame
from lrcourse.viz.style import legend_outside, lr_axis, new_figure, series

__all__ = ["floor_figure", "decay_figure", "floor_frame", "mnist_floor_figure"]

EXCESS = r"$\mathbb{E}\,L(\theta_t) - L^\star$"


def floor_figure(etas, batch_sizes, simulated, formula):
    """Stationary excess loss against η: the simulation (markers) and the formula (lines), one
    series per batch size. ``simulated`` is (len(batch_sizes), len(etas)); ``formula(η, B)``."""
    fig, (ax,) = new_figure(1, size=(7.0, 3.3), dpi=100)
    fine = np.geomspace(min(etas), max(etas), 200)
    markers = "osD^v"
    for i, B in enumerate(batch_sizes):
        style = series(i)
        ax.plot(fine, formula(fine, B), lw=1.4, label=f"formula, B = {B}", **style)
        ax.plot(etas, simulated[i], markers[i % len(markers)], color=style["color"], ms=6, mfc="none",
                mew=1.5, label=f"simulated, B = {B}")
    lr_axis(ax)
    ax.set_yscale("log")
    ax.set_ylabel("stationary " + EXCESS)
    legend_outside(ax)
    return fig


def decay_figure(t, curves: dict, floor: float, floor_label: str, ylim=None):
    """Expected excess loss against the step t (log–log) for named schedules, with the constant
    rate's floor as a dashed horizontal line."""
    fig, (ax,) = new_figure(1, size=(7.0, 3.3), dpi=100)
    for i, (name, y) in enumerate(curves.items()):
        ax.plot(t[1:], np.asarray(y)[1:], lw=1.8, label=name, **series(i))
    ax.axhline(floor, color="0.4", lw=1.0, ls=(0, (4, 2)), label=floor_label)
    ax.set_xscale("log")
    ax.set_yscale("log")
    if ylim is not None:
        ax.set_ylim(*ylim)
    ax.set_xlabel("step t")
    ax.set_ylabel(EXCESS)
    legend_outside(ax)
    return fig


def floor_frame(steps: int, curves, ylim, label) -> SliderFrame:
    """The slider's frame: for one η, the simulated and exact excess loss of constant-η SGD,
    its floor from the formula, and the decaying schedule η_t = η/(1 + ηλt) from the same start.
    ``curves(η)`` returns a dict with "simulated", "exact", "decay" (arrays over t = 0 … steps)
    and "floor" (a number); ``label(η)`` the readout text."""
    fig, (ax,) = new_figure(1, size=(7.0, 3.3), dpi=100)
    t = np.arange(steps + 1)
    (sim,) = ax.plot([], [], lw=0.9, alpha=0.8, label=r"constant $\eta$, simulated", **series(0))
    (exact,) = ax.plot([], [], lw=1.8, label=r"constant $\eta$, exact", color=series(0)["color"], ls="-")
    (floor,) = ax.plot([], [], lw=1.2, label="floor (formula)", color="0.3", ls=(0, (4, 2)))
    (decay,) = ax.plot([], [], lw=1.8, label=r"$\eta_t = \eta/(1+\eta\lambda t)$", **series(1))
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xlim(1, steps)
    ax.set_ylim(*ylim)
    ax.set_xlabel("step t")
    ax.set_ylabel(EXCESS)
    legend_outside(ax)
    text = ax.text(0.03, 0.04, "", transform=ax.transAxes, ha="left", va="bottom", fontsize=11,
                   bbox=dict(boxstyle="round", fc="white", ec="0.7"))

    def update(eta: float) -> None:
        c = curves(eta)
        sim.set_data(t[1:], c["simulated"][1:])
        exact.set_data(t[1:], c["exact"][1:])
        floor.set_data([1, steps], [c["floor"], c["floor"]])
        decay.set_data(t[1:], c["decay"][1:])
        text.set_text(label(eta))

    return SliderFrame(fig, [sim, exact, floor, decay, text], update)


def mnist_floor_figure(epochs, curves: dict, drops, ylabel: str):
    """Mean training loss per epoch for named runs (mean over seeds), the drops of the step
    schedule as thin vertical lines."""
    fig, (ax,) = new_figure(1, size=(7.0, 3.3), dpi=100)
    for i, (name, y) in enumerate(curves.items()):
        ax.plot(epochs, y, lw=1.8, marker="o", ms=3, label=name, **series(i))
    for d in drops:
        ax.axvline(d - 0.5, color="0.5", lw=0.8, ls=":")
    ax.set_xlabel("epoch (loss after it)")
    ax.set_ylabel(ylabel)
    legend_outside(ax)
    return fig
