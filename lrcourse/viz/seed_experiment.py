"""The pictures of the seed article's experiment (chapter "Why the learning rate should be
(reasonably) low"): AUC curves per η with the article's numbers marked, a slider over a
precomputed η sweep, and the fastest-η procedure.

Everything here draws results it is given (a ``SweepResult``, a ``FastestResult``); nothing
trains. Text is ≥ 9 pt at display size (figures ≤ 750 px wide display unscaled) and legends
sit outside the data.
"""
from __future__ import annotations

from typing import Mapping, Sequence

import numpy as np

from lrcourse.viz.frames import SliderFrame
from lrcourse.viz.schedule_results import legible
from lrcourse.viz.style import PALETTE, lr_axis, new_figure

__all__ = ["ETA_STYLES", "auc_figure", "sweep_frame", "procedure_figure"]

# four learning rates, four hues and four line styles
ETA_STYLES = {1.0: (PALETTE[3], "-"), 0.1: (PALETTE[2], "--"), 0.01: (PALETTE[0], "-."), 0.001: (PALETTE[4], ":")}


def _style(eta):
    return ETA_STYLES.get(float(eta), (PALETTE[7], "-"))


def auc_figure(res, title: str, *, claims: Mapping[float, float] | None = None, ceiling: float | None = None,
               ylim=(0.45, 1.0), size=(7.5, 3.8), dpi: int = 100):
    """Training (left) and hold-out (right) AUC per epoch of a seeds × η sweep: mean over seeds,
    band ± 1 sd. ``claims`` {η: AUC} are drawn as crosses at the last epoch of the training
    panel; ``ceiling`` as a dashed line on the hold-out panel. One legend, above the panels."""
    fig, axes = new_figure(2, size=size, dpi=dpi, sharey=True)
    epochs = np.arange(1, res.epochs + 1)
    handles = []
    for ax, split, values in ((axes[0], "training", res.train_auc), (axes[1], "hold-out", res.val_auc)):
        for e, eta in enumerate(res.etas):
            colour, ls = _style(eta)
            m, s = np.nanmean(values[:, e], axis=0), np.nanstd(values[:, e], axis=0, ddof=1)
            ax.fill_between(epochs, m - s, m + s, color=colour, alpha=0.2, lw=0)
            (line,) = ax.plot(epochs, m, color=colour, ls=ls, lw=1.8, label=f"η = {eta:g}")
            if split == "training":
                handles.append(line)
        ax.set_title(f"{split} AUC ({title})")
        ax.set_xlim(1, res.epochs)
        ax.set_ylim(*ylim)
        ax.set_xlabel("epoch")
    axes[0].set_ylabel("macro ROC AUC")
    for eta, value in (claims or {}).items():
        (cross,) = axes[0].plot(res.epochs, value, "X", ms=10, color=_style(eta)[0], mec="k", clip_on=False,
                                zorder=5, ls="none", label=f"article: η = {eta:g}")
        handles.append(cross)
    if ceiling is not None:
        handles.append(axes[1].axhline(ceiling, color="0.3", ls=(0, (5, 2)), lw=1, label="Bayes ceiling"))
    fig.legend(handles=handles, loc="outside upper center", ncol=4, frameon=False)
    return legible(fig)


def sweep_frame(run, grid, labels: Sequence[str], ceiling: float, *, size=(7.5, 3.6), dpi: int = 100) -> SliderFrame:
    """Loss (left) and AUC (right) per epoch of the precomputed run nearest to η, training and
    hold-out; the title says the doctor's label and the final hold-out AUC. ``update`` only sets
    data: it looks a run up, it never trains."""
    fig, (ax_loss, ax_auc) = new_figure(2, size=size, dpi=dpi)
    epochs = np.arange(1, run.epochs + 1)
    lines = {}
    for ax, kind, ylabel in ((ax_loss, "loss", "cross-entropy L"), (ax_auc, "auc", "macro ROC AUC")):
        for colour, ls, split in ((PALETTE[0], "-", "training"), (PALETTE[1], "--", "hold-out")):
            (lines[kind, split],) = ax.plot([], [], color=colour, ls=ls, lw=1.8, label=split)
        ax.set_xlim(1, run.epochs)
        ax.set_xlabel("epoch")
        ax.set_ylabel(ylabel)
    ax_loss.set_yscale("log")
    ax_loss.set_ylim(0.25, 25)
    ax_loss.set_yticks([0.3, 1, 3, 10], labels=["0.3", "1", "3", "10"])
    ax_loss.minorticks_off()
    ax_auc.set_ylim(0.45, 1.0)
    ceiling_line = ax_auc.axhline(ceiling, color="0.3", ls=(0, (5, 2)), lw=1, label="Bayes ceiling")
    fig.legend(handles=[lines["loss", "training"], lines["loss", "hold-out"], ceiling_line],
               loc="outside lower center", ncol=2, frameon=False)  # two columns fit a phone's stacked frame
    text = fig.suptitle(" \n ", fontsize=11)  # two lines reserved; update() writes them
    curves = {("loss", "training"): run.train_loss, ("loss", "hold-out"): run.val_loss,
              ("auc", "training"): run.train_auc, ("auc", "hold-out"): run.val_auc}
    grid = np.asarray(grid, dtype=float)

    def update(eta):
        i = int(np.argmin(np.abs(np.log(grid) - np.log(eta))))  # look up, never train
        for key, line in lines.items():
            line.set_data(epochs, curves[key][i])
        text.set_text(f"η = {grid[i]:.3g}: the doctor reads \"{labels[i]}\"\n"
                      f"hold-out AUC after {run.epochs} epochs: {run.val_auc[i, -1]:.3f}")

    legible(fig)
    return SliderFrame(fig, [*lines.values(), text], update)


def procedure_figure(proc, grid, grid_best, bayes_accuracy: float, *, size=(7.5, 4.3), dpi: int = 100):
    """Left: training SSE after one epoch against η, the discarded region shaded. Right: best
    hold-out accuracy of each step-down candidate (filled: used by the walk), the chosen η
    starred, beside the same early-stopped score for every η of a grid."""
    fig, (ax_sse, ax_acc) = new_figure(2, size=size, dpi=dpi)
    finite = np.isfinite(proc.sse)
    ax_sse.plot(proc.grid[finite], proc.sse[finite], "o-", color=PALETTE[0], ms=4)
    ax_sse.axvspan(proc.fastest, proc.grid[-1] * 2, color="0.85", zorder=0, label="discarded: η > fastest")
    ax_sse.axvline(proc.fastest, color=PALETTE[3], ls="--", lw=1.2, label=f"fastest η = {proc.fastest:.3g}")
    lr_axis(ax_sse)
    ax_sse.set_xlim(proc.grid[0] / 2, proc.grid[-1] * 2)
    ax_sse.set_ylabel("training SSE after 1 epoch")
    ax_acc.plot(grid, grid_best, "-", color="0.55", lw=1.5, label="every η of the grid")
    for s in proc.steps:
        ax_acc.plot(s.eta, s.best_acc, "o", ms=6, color=PALETTE[0] if s.used else "white", mec=PALETTE[0], zorder=4)
    ax_acc.plot([], [], "o", color=PALETTE[0], label="steps the walk used")
    ax_acc.plot([], [], "o", color="white", mec=PALETTE[0], label="steps after it stopped")
    chosen = next(s for s in proc.steps if np.isclose(s.eta, proc.chosen))
    ax_acc.plot(proc.chosen, chosen.best_acc, "*", ms=15, color=PALETTE[3], mec="k", zorder=5,
                label=f"chosen η = {proc.chosen:.3g}")
    ax_acc.axhline(bayes_accuracy, color="0.3", ls=(0, (5, 2)), lw=1, label="Bayes accuracy")
    lr_axis(ax_acc)
    ax_acc.set_ylabel("best hold-out accuracy")
    ax_acc.set_ylim(0.55, 0.86)
    handles = [*ax_sse.get_legend_handles_labels()[0], *ax_acc.get_legend_handles_labels()[0]]
    fig.legend(handles=handles, loc="outside lower center", ncol=3, frameon=False)
    return legible(fig)
