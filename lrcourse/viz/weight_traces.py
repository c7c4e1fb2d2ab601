"""Pictures of what gradient descent does to an MLP's weights (from
:func:`lrcourse.scratch.weights.trace_gd`'s :class:`WeightTrace` records).

* :func:`traces_figure` — loss, weight norm, largest weight and dead-ReLU fraction against the
  step, one coloured line per chosen η, the legend above the panels;
* :func:`sweep_figure` — final loss, peak norm and dead fraction against η, with the diverging
  range shaded;
* :func:`traces_frame` — the slider frame: every η in grey, the chosen one in colour, and a
  label box that says what the run did.

Nothing here computes a run; every function reads finished traces.
"""
from __future__ import annotations

import numpy as np

from lrcourse.viz.frames import SliderFrame
from lrcourse.viz.style import PALETTE, lr_axis, new_figure

__all__ = ["nearest", "traces_figure", "sweep_figure", "traces_frame", "describe_trace"]

LOSS = r"training loss $L(\theta_t)$"
NORM = r"weight norm $\|\theta_t\|_2$"
MAXABS = r"largest weight $\mathrm{max}_i\,|\theta_{t,i}|$"
DEAD = "fraction of dead ReLUs"


def nearest(traces, eta):
    """The trace whose η is closest to ``eta`` (on a log scale)."""
    etas = np.array([tr.eta for tr in traces])
    return traces[int(np.argmin(np.abs(np.log(etas / eta))))]


def describe_trace(tr) -> str:
    """One run in words: where it ended or when it overflowed, and how many units died."""
    dead = np.nanmax(tr.dead)
    if tr.diverged:
        return f"NaN/inf at step {tr.diverged_at}, {dead:.0%} of the ReLUs dead by then"
    return f"final loss {tr.loss[-1]:.3f}, {dead:.0%} of the ReLUs dead"


def traces_figure(traces, shown, size=(7.5, 5.6), dpi: int = 100):
    """2×2 panels (loss, norm, largest weight, dead fraction) for the η in ``shown``."""
    fig, axes = new_figure(2, 2, size=size, dpi=dpi, sharex=True)
    panels = [("loss", LOSS, True, (0.5, 1e3)), ("norm", NORM, True, (3, 1e4)),
              ("max_abs", MAXABS, True, (0.3, 1e4)), ("dead", DEAD, False, (-0.03, 1.03))]
    styles = ["-", "--", "-.", ":", (0, (5, 1, 1, 1, 1, 1))]
    for i, eta in enumerate(shown):
        tr = nearest(traces, eta)
        for ax, (field, _, _, _) in zip(axes, panels):
            values = getattr(tr, field)
            ax.plot(np.arange(len(values)), values, color=PALETTE[i], lw=1.8,
                    ls=styles[i % len(styles)], label=f"η = {tr.eta:.3g}")
    for ax, (_, label, logy, ylim) in zip(axes, panels):
        ax.set_title(label, fontsize=11)
        if logy:
            ax.set_yscale("log")
        ax.set_ylim(*ylim)
    for ax in axes[2:]:
        ax.set_xlabel("step t")
    handles, labels = axes[0].get_legend_handles_labels()
    fig.legend(handles, labels, loc="outside upper center", ncol=len(shown), fontsize=10,
               handlelength=2.2, columnspacing=1.2)
    return fig


def sweep_figure(traces, first_div: int, size=(7.5, 2.9), dpi: int = 100):
    """Final loss, peak ‖θ‖ and final dead fraction against η; the diverging range shaded."""
    etas = np.array([tr.eta for tr in traces])
    final = np.array([np.nan if tr.diverged else tr.loss[tr.last] for tr in traces])
    peak = np.array([np.nanmax(tr.norm) for tr in traces])
    dead = np.array([tr.dead[np.isfinite(tr.dead)][-1] for tr in traces])
    fig, axes = new_figure(3, size=size, dpi=dpi, sharex=True)
    for ax, values, title, logy in [(axes[0], final, "final training loss", False),
                                    (axes[1], peak, r"peak $\|\theta_t\|_2$", True),
                                    (axes[2], dead, "dead ReLUs at the end", False)]:
        ax.axvspan(etas[first_div], etas[-1] * 1.2, color=PALETTE[3], alpha=0.12, lw=0)
        ax.plot(etas, values, "o-", color=PALETTE[0], ms=3.5, lw=1.5)
        ax.set_xscale("log")
        ax.set_xticks([1e-2, 1, 1e2])
        ax.set_xlabel("η")
        ax.set_title(title, fontsize=11)
        if logy:
            ax.set_yscale("log")
    axes[0].axhline(traces[0].loss[0], color="0.4", ls=":", lw=1.2)
    axes[0].text(etas[0], traces[0].loss[0] * 1.03, r"$L(\theta_0)$", fontsize=10, color="0.3",
                 va="bottom")
    axes[2].set_ylim(-0.03, 1.03)
    axes[2].text(etas[first_div] * 1.3, 0.05, "NaN/inf", fontsize=10, color=PALETTE[3])
    return fig


def traces_frame(traces, steps: int, size=(9.0, 3.0), dpi: int = 80) -> SliderFrame:
    """Loss, norm and dead fraction per step: all η in grey, the slider's η in colour."""
    fig, (ax_loss, ax_norm, ax_dead) = new_figure(3, size=size, dpi=dpi)
    t_axis = np.arange(steps + 1)
    for tr in traces:
        for ax, values in ((ax_loss, tr.loss), (ax_norm, tr.norm), (ax_dead, tr.dead)):
            ax.plot(t_axis, values, color="0.82", lw=0.7, zorder=1)
    for ax, title in ((ax_loss, LOSS), (ax_norm, NORM), (ax_dead, DEAD)):
        ax.set_xlim(0, steps)
        ax.set_xlabel("step t")
        ax.set_title(title, fontsize=11)
    ax_loss.set_yscale("log")
    ax_loss.set_ylim(0.4, 1e36)
    ax_norm.set_yscale("log")
    ax_norm.set_ylim(1, 1e21)
    ax_dead.set_ylim(-0.03, 1.03)
    lines = [ax.plot([], [], color=PALETTE[3], lw=2, zorder=3)[0] for ax in (ax_loss, ax_norm, ax_dead)]
    note = ax_dead.text(0.97, 0.05, "", transform=ax_dead.transAxes, ha="right", va="bottom",
                        fontsize=11, bbox=dict(boxstyle="round", fc="white", ec="0.7"), zorder=4)

    def update(eta):
        tr = nearest(traces, eta)
        for line, values in zip(lines, (tr.loss, tr.norm, tr.dead)):
            line.set_data(t_axis, values)
        state = f"NaN/inf at t = {tr.diverged_at}" if tr.diverged else f"final L = {tr.loss[-1]:.3f}"
        note.set_text(f"η = {tr.eta:.3g}\n{state}\ndead: {np.nanmax(tr.dead):.0%}")

    return SliderFrame(fig, [*lines, note], update)
