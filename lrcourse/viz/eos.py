"""The pictures of the edge-of-stability chapter: loss and sharpness over training for a few
learning rates, the slider over η that reads a precomputed ``track_sharpness`` run, and the
plateau of the sharpness against η beside the line 2/η. Each function takes the run (and the
chapter's table of it) and only draws.

Figure standard: width × dpi ≤ 750 px (shown at full size), text ≥ 9 pt, mathtext labels,
legends outside the data.
"""
from __future__ import annotations

import matplotlib.ticker
import numpy as np

from lrcourse.viz.frames import SliderFrame
from lrcourse.viz.style import PALETTE, lr_axis, new_figure

__all__ = ["sharpness_panels", "sharpness_frame", "sharpness_alt", "plateau_figure"]

LOSS_LABEL = r"training loss $L(\theta_t)$"
SHARP_LABEL = r"sharpness $\lambda_{\max}$"
STYLES = ["-", "--", "-.", ":", (0, (5, 1))]


def _nearest(etas, eta) -> int:
    return int(np.argmin(np.abs(np.log(etas) - np.log(eta))))


def sharpness_panels(run, shown, sharp_ylim=(0, 12)):
    """Loss (left) and sharpness (right) over the steps for the η indices ``shown`` (≤ 5), each
    with its 2/η as a thin dashed line of the same colour."""
    fig, (ax_loss, ax_sharp) = new_figure(2, size=(7.4, 3.6), dpi=100)
    for c, k in enumerate(shown):
        colour = PALETTE[c]
        ax_loss.plot(run.loss[k], color=colour, ls=STYLES[c], lw=1.2,
                     label=f"η = {run.etas[k]:.3g} (2/η = {2 / run.etas[k]:.3g})")
        ax_sharp.plot(run.sharpness_steps, run.sharpness[k], color=colour, ls=STYLES[c], lw=1.6)
        ax_sharp.axhline(2 / run.etas[k], color=colour, ls=(0, (2, 2)), lw=0.9)
    ax_loss.set_yscale("log")
    ax_loss.set_ylim(1e-3, 1.0)
    ax_sharp.set_ylim(*sharp_ylim)
    for ax in (ax_loss, ax_sharp):
        ax.set_xlabel("step $t$", fontsize=10)
        ax.tick_params(labelsize=9)
    ax_loss.set_ylabel(LOSS_LABEL, fontsize=10)
    ax_sharp.set_ylabel(SHARP_LABEL + r" (thin dashed: $2/\eta$)", fontsize=10)
    fig.legend(*ax_loss.get_legend_handles_labels(), loc="outside upper center", ncols=3, fontsize=9)
    return fig


def sharpness_alt(run):
    """alt(η): what the slider frame shows at η, computed from the run."""
    def alt(eta):
        k = _nearest(run.etas, eta)
        head = f"η = {run.etas[k]:.3g}, 2/η = {2 / run.etas[k]:.2f}: "
        if run.diverged_at[k] >= 0:
            return head + f"full-batch gradient descent diverged at step {int(run.diverged_at[k])}"
        return head + (f"the training loss falls from {run.loss[k, 0]:.3g} to {run.loss[k, -1]:.3g} in "
                       f"{run.steps} steps; the sharpness goes from {run.sharpness[k, 0]:.2f} to "
                       f"{run.final_sharpness[k]:.2f}, that is {run.final_sharpness[k] * run.etas[k] / 2:.2f} "
                       "times 2/η")
    return alt


def sharpness_frame(run, loss_ylim=(1e-3, 3.0), sharp_ylim=(0.0, 12.0)):
    """Loss (left) and sharpness with its 2/η line (right) of the precomputed run nearest to η."""
    fig, (ax_l, ax_s) = new_figure(2, size=(7.4, 3.4), dpi=100)
    ax_l.set(xlim=(0, run.steps), ylim=loss_ylim, yscale="log")
    ax_s.set(xlim=(0, run.steps), ylim=sharp_ylim)
    for ax, label in ((ax_l, LOSS_LABEL), (ax_s, SHARP_LABEL)):
        ax.set_xlabel("step $t$", fontsize=10)
        ax.set_ylabel(label, fontsize=10)
        ax.tick_params(labelsize=9)
    (loss_line,) = ax_l.plot([], [], color=PALETTE[0], lw=1)
    (sharp_line,) = ax_s.plot([], [], color=PALETTE[3], lw=1.8, label=r"$\lambda_{\max}(\nabla^2 L(\theta_t))$")
    (limit_line,) = ax_s.plot([], [], color="k", ls="--", lw=1.2, label=r"$2/\eta$")
    fig.legend([sharp_line, limit_line], [sharp_line.get_label(), limit_line.get_label()],
               loc="outside lower center", ncols=2, fontsize=10)
    label = fig.suptitle(" ", fontsize=10)

    def update(eta):
        k = _nearest(run.etas, eta)
        loss_line.set_data(np.arange(run.steps + 1), run.loss[k])
        sharp_line.set_data(run.sharpness_steps, run.sharpness[k])
        limit_line.set_data([0, run.steps], [2 / run.etas[k]] * 2)
        where = "" if 2 / run.etas[k] < sharp_ylim[1] else " (above the plot)"
        if run.diverged_at[k] >= 0:
            state = f"diverged at t = {int(run.diverged_at[k])}"
        else:
            state = f"final $\\lambda_{{\\max}}\\eta/2$ = {run.final_sharpness[k] * run.etas[k] / 2:.2f}"
        label.set_text(f"η = {run.etas[k]:.3g} · 2/η = {2 / run.etas[k]:.2f}{where} · {state}")

    return SliderFrame(fig, [loss_line, sharp_line, limit_line, label], update)


def plateau_figure(table, run, lam0, late_start):
    """The plateau of the sharpness (median over the last third) and the largest sharpness seen,
    against η on log axes, with the line 2/η and λ_max at θ_0; diverged η as crosses on 2/η."""
    ok = table["diverged at"].isna()
    fig, (ax,) = new_figure(1, size=(7.4, 3.4), dpi=100)
    grid = np.geomspace(run.etas[0], run.etas[-1], 200)
    ax.plot(grid, 2 / grid, color="k", ls="--", lw=1.2, label=r"$2/\eta$")
    ax.axhline(lam0, color=PALETTE[2], ls=":", lw=1.5, label=r"$\lambda_{\max}$ at $\theta_0$")
    ax.plot(table.loc[ok, "η"], table.loc[ok, "plateau median λ_max"], "o-", color=PALETTE[3],
            label=f"plateau (median from step {late_start})")
    ax.plot(table.loc[ok, "η"], table.loc[ok, "max λ_max"], "^", color=PALETTE[0], ms=6,
            label=r"largest $\lambda_{\max}$ seen")
    if (~ok).any():
        ax.plot(table.loc[~ok, "η"], [2 / e for e in table.loc[~ok, "η"]], "x", color="k", ms=8, mew=2,
                label="diverged")
    lr_axis(ax)
    ax.xaxis.label.set_fontsize(10)
    ax.set_yscale("log")
    ax.yaxis.set_major_formatter(matplotlib.ticker.ScalarFormatter())
    ax.yaxis.set_minor_formatter(matplotlib.ticker.NullFormatter())
    ax.set_yticks([1, 2, 5, 10, 20, 40])
    ax.set_ylabel(SHARP_LABEL, fontsize=10)
    ax.tick_params(labelsize=9)
    fig.legend(*ax.get_legend_handles_labels(), loc="outside right center", fontsize=9)
    return fig
