"""The pictures of the batch-size chapter: gradient noise against B, the (B, η) accuracy map
with the linear rule drawn over it, warm-up runs beside the sweep's best, and the slider that
shows every batch size's hold-out curve at one η. Each function takes the chapter's results
and only draws; nothing here trains or chooses.

Figure standard: width × dpi ≤ 750 px (shown at full size), text ≥ 9 pt, mathtext labels,
legends outside the data; seven batch sizes get distinct hues *and* line styles.
"""
from __future__ import annotations

import numpy as np
import seaborn as sns

from lrcourse.viz.frames import SliderFrame
from lrcourse.viz.style import PALETTE, new_figure

__all__ = ["noise_figure", "accuracy_map", "warmup_figure", "batch_size_frame", "batch_size_alt"]

LINESTYLES = ["-", "--", "-.", ":", (0, (5, 1)), (0, (3, 1, 1, 1, 1, 1)), (0, (1, 1))]


def noise_figure(gn, n_train):
    """Measured E‖g_B − ∇L‖² (± 2 s.e.) against B, with tr Σ / B, the without-replacement
    formula and the signal ‖∇L‖²."""
    fig, (ax,) = new_figure(1, size=(7.0, 3.6), dpi=100)
    b = np.geomspace(1, n_train, 200)[:-1]
    ax.plot(b, gn.trace_sigma / b, color=PALETTE[7], lw=1.2, ls="--", label=r"$\mathrm{tr}\,\Sigma / B$")
    ax.plot(b, gn.trace_sigma / b * (n_train - b) / (n_train - 1), color=PALETTE[0], lw=1.8,
            label=r"$\mathrm{tr}\,\Sigma / B \cdot (n - B)/(n - 1)$")
    ax.errorbar(gn.batch_sizes, gn.variance, yerr=2 * gn.stderr, fmt="o", color=PALETTE[3], ms=5,
                label="measured (± 2 s.e.)")
    ax.axhline(gn.grad_norm2, color=PALETTE[2], lw=1.5, ls=":", label=r"signal $\Vert\nabla L\Vert^2$")
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xlabel("batch size $B$", fontsize=11)
    ax.set_ylabel(r"$\mathrm{E}\,\Vert g_B - \nabla L\Vert^2$", fontsize=11)
    ax.tick_params(labelsize=10)
    fig.legend(*ax.get_legend_handles_labels(), loc="outside right center", fontsize=10)
    return fig


def accuracy_map(heat, etas, batch_sizes, predicted, best, b0, chance):
    """Mean final hold-out accuracy (%) for every (B, η), the linear rule from the smallest B as
    a dashed line, and the fitted best η per B as circles."""
    fig, (ax,) = new_figure(1, size=(7.4, 4.0), dpi=100)
    sns.heatmap(heat.iloc[::-1], ax=ax, cmap="viridis", vmin=chance, vmax=float(heat.values.max()),
                annot=(heat.iloc[::-1] * 100).round().astype(int), fmt="d", annot_kws={"fontsize": 9},
                xticklabels=[f"{e:.2g}" for e in etas], cbar_kws={"label": "final hold-out accuracy"})
    step = np.log(etas[1] / etas[0])
    col = lambda eta: np.log(np.asarray(eta) / etas[0]) / step + 0.5  # η → heatmap column position
    rows = np.array([len(batch_sizes) - 1 - j + 0.5 for j in range(len(batch_sizes))])
    inside = predicted <= etas[-1]
    ax.plot(col(predicted[inside]), rows[inside], color="white", ls="--", lw=1.8,
            label=f"linear rule from $B$ = {b0}")
    ax.plot(col(best), rows, "o", mfc="none", mec="white", mew=1.8, ms=15, label=r"best $\eta$ (fitted)")
    ax.set_xlabel("learning rate η (log-spaced grid)", fontsize=10)
    ax.set_ylabel("batch size $B$", fontsize=10)
    ax.tick_params(axis="x", labelrotation=90, labelsize=9)
    ax.tick_params(axis="y", labelrotation=0, labelsize=9)
    ax.collections[0].colorbar.ax.tick_params(labelsize=9)
    ax.collections[0].colorbar.ax.yaxis.label.set_fontsize(10)
    fig.legend(*ax.get_legend_handles_labels(), loc="outside upper center", ncols=2, fontsize=10,
               facecolor="0.35", labelcolor="white")
    return fig


def warmup_figure(warm, batch_sizes, best_in_sweep):
    """Final hold-out accuracy of each seed with and without warm-up at the two largest B,
    beside the best any η reached in the sweep (dashed)."""
    fig, (ax,) = new_figure(1, size=(7.0, 3.2), dpi=100)
    sns.stripplot(warm, x="B", y="final hold-out accuracy", hue="warm-up", dodge=True, size=8, ax=ax,
                  palette=[PALETTE[3], PALETTE[0]], jitter=False, marker="o", linewidth=0.6)
    for i, B in enumerate(batch_sizes):
        ax.hlines(best_in_sweep[i], i - 0.4, i + 0.4, color="0.4", ls="--", lw=1.2,
                  label="best η in the sweep" if i == 0 else None)
    ax.set_xlabel(r"batch size $B$ (at the linearly scaled $\hat\eta$)", fontsize=11)
    ax.set_ylabel("final hold-out accuracy", fontsize=11)
    ax.tick_params(labelsize=10)
    ax.set_ylim(0, max(0.7, float(warm["final hold-out accuracy"].max()) + 0.05))
    handles, labels = ax.get_legend_handles_labels()
    ax.get_legend().remove()
    fig.legend(handles, labels, loc="outside right center", fontsize=10, title="warm-up", title_fontsize=10)
    return fig


def _nearest(etas, eta) -> int:
    return int(np.argmin(np.abs(np.log(etas) - np.log(eta))))


def batch_size_alt(etas, batch_sizes, final_mean):
    """alt(η): which batch size does best at η, and how far the largest one gets."""
    def alt(eta):
        k = _nearest(etas, eta)
        acc = final_mean[:, k]
        j = int(np.argmax(acc))
        return (f"η = {etas[k]:.3g}: hold-out accuracy per epoch for batch sizes {batch_sizes[0]} to "
                f"{batch_sizes[-1]}; the best final accuracy here is {acc[j]:.2f} at B = {batch_sizes[j]}, "
                f"and B = {batch_sizes[-1]} ends at {acc[-1]:.2f}")
    return alt


def batch_size_frame(etas, batch_sizes, curves, final_mean, acc_best, chance, epochs):
    """Left: hold-out accuracy per epoch of every batch size at one η (mean over seeds); right:
    final accuracy against B at this η beside the best over η (grey)."""
    fig, (ax_c, ax_b) = new_figure(2, size=(7.4, 3.8), dpi=100, width_ratios=[1.2, 1])
    colours = sns.color_palette("viridis", len(batch_sizes))
    x = np.arange(1, epochs + 1)
    lines = [ax_c.plot([], [], color=c, ls=ls, lw=1.8, label=f"B = {B}")[0]
             for c, ls, B in zip(colours, LINESTYLES, batch_sizes)]
    ax_c.set_xlim(1, epochs)
    ax_c.set_ylim(0, 0.8)
    ax_c.set_xlabel("epoch", fontsize=10)
    ax_c.set_ylabel("hold-out accuracy", fontsize=10)
    ax_b.plot(batch_sizes, acc_best, "o--", color="0.6", lw=1.2, ms=4, label="best over η")
    (now,) = ax_b.plot([], [], "o-", color=PALETTE[3], lw=1.8, ms=5, label="at this η")
    ax_b.axhline(chance, color="0.8", lw=1)
    ax_b.set_xscale("log", base=2)
    ax_b.set_xticks(batch_sizes, [str(B) for B in batch_sizes])
    ax_b.set_ylim(0, 0.8)
    ax_b.set_xlabel("batch size $B$", fontsize=10)
    ax_b.set_ylabel("final hold-out accuracy", fontsize=10)
    for ax in (ax_c, ax_b):
        ax.tick_params(labelsize=9)
    ax_b.tick_params(axis="x", labelrotation=90)
    fig.legend(lines + [ax_b.lines[0], now], [f"B = {B}" for B in batch_sizes] + ["best over η", "at this η"],
               loc="outside lower center", ncols=5, fontsize=9, handlelength=2.2, columnspacing=1.0)
    label = fig.suptitle(" ", fontsize=10)

    def update(eta):
        k = _nearest(etas, eta)  # nearest precomputed η
        for line, B in zip(lines, batch_sizes):
            line.set_data(x, curves[B][:, k].mean(0))
        now.set_data(batch_sizes, final_mean[:, k])
        label.set_text(f"η = {etas[k]:.3g} · best batch size here: B = {batch_sizes[int(np.argmax(final_mean[:, k]))]}")

    return SliderFrame(fig, [*lines, now, label], update)
