"""The pictures of the modern-practice chapter: hold-out accuracy over η × weight decay for Adam
+ L2 and AdamW, loss and preconditioned sharpness with and without warm-up, and the best η
against width under the standard parameterization and μP (a figure and a slider over width).
Each function only draws what the chapter computed.

Figure standard: width × dpi ≤ 750 px, text ≥ 9 pt, mathtext labels, legends outside the data.
"""
from __future__ import annotations

import numpy as np

from lrcourse.viz.frames import SliderFrame
from lrcourse.viz.style import PALETTE, lr_axis, new_figure

__all__ = ["decay_heatmaps", "warmup_panels", "transfer_figure", "width_frame", "tick"]


def tick(x: float) -> str:
    """A short axis label for a grid value: 0, 3e-04, 0.001, 0.03, 1, 3."""
    if x == 0:
        return "0"
    if x >= 1:
        return f"{x:.3g}"
    return f"{x:.0e}" if x < 1e-3 else f"{x:.3g}"


def decay_heatmaps(panels, etas):
    """Side-by-side heatmaps of hold-out accuracy (%), rows η, columns λ (the first column λ = 0).

    ``panels``: [(title, decays, acc (E, W), best column per row (E,), best cell (e, w))]."""
    fig, axes = new_figure(len(panels), size=(7.4, 3.7), dpi=100)
    lo = min(np.nanmin(p[2]) for p in panels)
    hi = max(np.nanmax(p[2]) for p in panels)
    for ax, (title, decays, acc, best_col, best) in zip(axes, panels):
        image = ax.imshow(100 * acc, origin="lower", cmap="viridis", vmin=100 * lo, vmax=100 * hi,
                          aspect="auto")
        for e in range(acc.shape[0]):
            for w in range(acc.shape[1]):
                value = 100 * acc[e, w]
                dark = value < 100 * (lo + 0.6 * (hi - lo))
                weight = "bold" if w == best_col[e] else "normal"
                ax.text(w, e, f"{value:.1f}", ha="center", va="center", fontsize=9,
                        color="white" if dark else "black", fontweight=weight)
        ax.add_patch(_box(best[1], best[0]))
        ax.plot(best_col, np.arange(len(etas)), color="white", lw=1.2, ls="--")
        ax.set_xticks(range(len(decays)), [tick(d) for d in decays], rotation=45, fontsize=9)
        ax.set_yticks(range(len(etas)), [tick(e) for e in etas], fontsize=9)
        ax.set_xlabel(r"weight decay $\lambda$", fontsize=10)
        ax.set_title(title, fontsize=10)
    axes[0].set_ylabel(r"learning rate $\eta$", fontsize=10)
    bar = fig.colorbar(image, ax=list(axes), shrink=0.9)
    bar.set_label("hold-out accuracy (%)", fontsize=10)
    bar.ax.tick_params(labelsize=9)
    return fig


def _box(x, y):
    from matplotlib.patches import Rectangle

    return Rectangle((x - 0.5, y - 0.5), 1, 1, fill=False, edgecolor="red", lw=2.2)


def warmup_panels(run, rows, labels, bound_const):
    """Loss (left) and preconditioned sharpness (right) against the step for the members
    ``rows`` (with and without warm-up), each with its stability bound c/η(t) dashed."""
    fig, (ax_l, ax_s) = new_figure(2, size=(7.4, 3.6), dpi=100)
    steps = np.arange(run.loss.shape[1])
    for c, (k, label) in enumerate(zip(rows, labels)):
        colour, ls = PALETTE[c], ("-", "--", "-.", ":")[c]
        ax_l.plot(steps, run.loss[k], color=colour, ls=ls, lw=1.4, label=label)
        ax_s.plot(run.marks, run.preconditioned[k], color=colour, ls=ls, lw=1.6, marker="o", ms=3)
        bound = bound_const / run.lr[k, run.marks - 1]
        ax_s.plot(run.marks, bound, color=colour, ls=(0, (2, 2)), lw=0.9)
    ax_l.set_yscale("log")
    ax_s.set_yscale("log")
    for ax in (ax_l, ax_s):
        ax.set_xlabel("step $t$", fontsize=10)
        ax.tick_params(labelsize=9)
    ax_l.set_ylabel(r"training loss $L(\theta_t)$", fontsize=10)
    ax_s.set_ylabel(r"$\lambda_{\max}(P^{-1/2}HP^{-1/2})$ (dotted: bound)", fontsize=10)
    fig.legend(*ax_l.get_legend_handles_labels(), loc="outside upper center", ncols=2, fontsize=9)
    return fig


def transfer_figure(widths, best, labels):
    """Best η (by hold-out loss) against the hidden width, one line per parameterization."""
    fig, (ax,) = new_figure(1, size=(6.0, 3.4), dpi=110)
    for c, (values, label) in enumerate(zip(best, labels)):
        ax.plot(widths, values, color=PALETTE[c], ls=("-", "--")[c], marker=("o", "s")[c], lw=1.6,
                label=label)
    ax.set_xscale("log", base=2)
    ax.set_xticks(widths, [str(w) for w in widths])
    lr_axis(ax, "y", r"best $\eta$ (hold-out loss)")
    ax.set_xlabel("hidden width $n$", fontsize=10)
    ax.tick_params(labelsize=9)
    ax.legend(loc="upper left", bbox_to_anchor=(1.02, 1.0), frameon=False, fontsize=9)
    return fig


def width_frame(etas, widths, curves, best, names, base, ylim):
    """Slider frame over the width multiplier m = n/base: hold-out loss against η at that width,
    one panel per parameterization; the base width's curve in grey, the best η marked.

    ``curves[p]`` (n_widths, n_etas) and ``best[p]`` (n_widths,) per parameterization p."""
    fig, axes = new_figure(len(names), size=(7.4, 3.3), dpi=100, sharey=True)
    lines, marks = [], []
    for p, (ax, name) in enumerate(zip(axes, names)):
        ax.plot(etas, curves[p][0], color="0.6", lw=1.2, ls=":", label=f"n = {base} (base)")
        (line,) = ax.plot([], [], color=PALETTE[p], lw=1.8, marker="o", ms=4, ls=("-", "--")[p],
                          label="this width")
        (mark,) = ax.plot([], [], ls="none", marker="*", ms=13, color="k", label=r"best $\eta$")
        lines.append(line)
        marks.append(mark)
        lr_axis(ax, "x")
        ax.set_ylim(*ylim)
        ax.set_title(name, fontsize=10)
        ax.tick_params(labelsize=9)
        ax.xaxis.label.set_fontsize(10)
    axes[0].set_ylabel("hold-out loss", fontsize=10)
    fig.legend(*axes[0].get_legend_handles_labels(), loc="outside lower center", ncols=3, fontsize=9)
    title = fig.suptitle(" ", fontsize=10)

    def update(m):
        i = int(np.argmin(np.abs(np.log(np.asarray(widths) / base) - np.log(m))))
        for p in range(len(names)):
            lines[p].set_data(etas, curves[p][i])
            j = int(np.nanargmin(curves[p][i]))
            marks[p].set_data([etas[j]], [curves[p][i][j]])
        title.set_text(f"hidden width n = {widths[i]} (m = {widths[i] // base})")

    return SliderFrame(fig, lines + marks + [title], update)
