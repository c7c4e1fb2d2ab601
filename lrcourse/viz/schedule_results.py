"""The pictures and tables of a schedule comparison (chapter "Learning-rate schedules").

Computation happens in the chapter (``lrcourse.schedules``, ``lrcourse.training``); this
module only draws what it is given, at a size a reader can read: every text ≥ 9 pt at the
figure's display size (figures are ≤ 750 px wide, so they display unscaled), legends
outside the data, at most 4 panels in a slider frame.

* :func:`legible` raises every text of a figure to a minimum size (for frames built by
  shared helpers whose defaults are smaller);
* :func:`schedule_panels` — static small multiples of η(t), one panel per schedule;
* :func:`loss_panels` — hold-out loss per epoch, one panel per schedule, baselines in grey;
* :func:`accuracy_points` — final hold-out accuracy per run: seeds as dots, mean ± sd;
* :func:`fixed_rate_frame` — a one-panel slider frame: mean hold-out accuracy at one fixed η
  against fixed references;
* :func:`stepping_figure` — the η a mis-stepped scheduler gives, beside the intended one;
* :func:`mean_sd` — "0.587 ± 0.013" for a table cell.
"""
from __future__ import annotations

from typing import Callable, Mapping, Sequence

import numpy as np

from lrcourse.viz.frames import SliderFrame
from lrcourse.viz.style import PALETTE, new_figure
from lrcourse.viz.tables import mean_sd

__all__ = ["legible", "schedule_panels", "loss_panels", "accuracy_points", "fixed_rate_frame",
           "stepping_figure", "mean_sd", "MIN_PT"]

MIN_PT = 9.0  # the smallest text size (points) at display size
COLOURS = [c for c in PALETTE if not np.allclose(c, c[0])]  # the palette without its grey


def legible(fig, pt: float = MIN_PT):
    """Raise every tick label, axis label, title, legend and free text of ``fig`` to ≥ ``pt``."""
    for ax in fig.axes:
        for label in [*ax.get_xticklabels(), *ax.get_yticklabels(), ax.xaxis.label, ax.yaxis.label,
                      ax.title, ax._left_title, ax._right_title, *ax.texts]:
            if label.get_fontsize() < pt:
                label.set_fontsize(pt)
        sizes = [t.get_fontsize() for t in (*ax.get_xticklabels(), *ax.get_yticklabels())]
        ax.tick_params(which="both", labelsize=max([pt, *sizes]))
        legend = ax.get_legend()
        if legend is not None:
            for text in legend.get_texts():
                text.set_fontsize(max(pt, text.get_fontsize()))
    for text in fig.texts:
        if text.get_fontsize() < pt:
            text.set_fontsize(pt)
    return fig


def schedule_panels(x, curves: Mapping[str, np.ndarray], titles: Mapping[str, str], *, ncols: int = 2,
                    ylim=(1e-5, 1.0), xlabel: str = "epoch", ylabel: str = r"$\eta_t$",
                    size=(7.5, 7.6), dpi: int = 100):
    """Static small multiples: one log-η panel per schedule, titled ``titles[name]``."""
    names = list(curves)
    nrows = -(-len(names) // ncols)
    fig, axes = new_figure(ncols, nrows, size=size, dpi=dpi, sharex=True, sharey=True)
    for ax in axes[len(names):]:
        ax.set_visible(False)
    for i, (ax, name) in enumerate(zip(axes, names)):
        ax.plot(x, curves[name], color=COLOURS[i % len(COLOURS)], lw=1.8)
        ax.set_yscale("log")
        ax.set_ylim(*ylim)
        ax.set_xlim(float(x[0]), float(x[-1]))
        ax.set_title(titles[name], fontsize=10, pad=3)
        if i % ncols == 0:
            ax.set_ylabel(ylabel)
        if i >= len(names) - ncols:
            ax.set_xlabel(xlabel)
    return legible(fig)


def loss_panels(curves, names: Sequence[str], baselines: Mapping[str, tuple], *, ylim=(1.0, 2.3),
                ncols: int = 2, size=(7.5, 8.4), dpi: int = 100):
    """Hold-out loss per epoch: one panel per schedule (mean over seeds, band ± 1 sd), with
    ``baselines`` {run name: (label, line style)} drawn in grey in every panel and named in a
    legend above the panels. ``curves`` is a long frame with columns schedule, seed, epoch,
    val_loss."""
    nrows = -(-len(names) // ncols)
    fig, axes = new_figure(ncols, nrows, size=size, dpi=dpi, sharex=True, sharey=True)
    stats = curves.groupby(["schedule", "epoch"]).val_loss.agg(["mean", "std"])
    handles = []
    for i, (ax, name) in enumerate(zip(axes, names)):
        for run, (label, style) in baselines.items():
            s = stats.loc[run]
            (line,) = ax.plot(s.index, s["mean"], color="0.45", ls=style, lw=1.3, label=label)
            if i == 0:
                handles.append(line)
        s = stats.loc[name]
        colour = COLOURS[i % len(COLOURS)]
        ax.fill_between(s.index, s["mean"] - s["std"], s["mean"] + s["std"], color=colour, alpha=0.25, lw=0)
        (line,) = ax.plot(s.index, s["mean"], color=colour, lw=1.9)
        if i == 0:
            line.set_label("the schedule (band: ± 1 sd over seeds)")
            handles.append(line)
        ax.set_title(name, fontsize=10, pad=3)
        ax.set_ylim(*ylim)
        if i % ncols == 0:
            ax.set_ylabel("hold-out loss")
        if i >= len(names) - ncols:
            ax.set_xlabel("epoch")
    fig.legend(handles=handles, loc="outside upper center", ncol=2, frameon=False, fontsize=MIN_PT)
    return legible(fig)


def accuracy_points(finals, order: Sequence[str], column: str = "val_acc", *,
                    xlabel: str = "hold-out accuracy after the last epoch", size=(7.5, 4.4), dpi: int = 100):
    """One row per run name in ``order``: each seed a grey dot, the mean a blue dot with a bar of
    ± 1 sd. ``finals`` is a long frame with columns schedule and ``column``."""
    fig, (ax,) = new_figure(1, size=size, dpi=dpi)
    for row, name in enumerate(order):
        values = finals.loc[finals.schedule == name, column].to_numpy(dtype=float)
        ax.plot(values, np.full(len(values), row), "o", color="0.55", ms=4, alpha=0.7)
        m, s = values.mean(), values.std(ddof=1)
        ax.errorbar(m, row, xerr=s, fmt="o", color=PALETTE[0], ms=6, capsize=3, lw=1.5)
    ax.set_yticks(range(len(order)), labels=list(order))
    ax.set_ylim(len(order) - 0.5, -0.5)
    ax.set_xlabel(xlabel)
    ax.plot([], [], "o", color="0.55", ms=4, label="one seed")
    ax.errorbar([], [], xerr=[], fmt="o", color=PALETTE[0], ms=6, capsize=3, label="mean ± sd")
    ax.legend(loc="lower left", bbox_to_anchor=(0.0, 1.0), ncol=2, frameon=False)
    return legible(fig)


def fixed_rate_frame(epochs, names: Sequence[str], curves: Callable[[float], dict], label: Callable[[float], str],
                     *, ylim=(0.0, 0.8), size=(7.5, 3.6), dpi: int = 100) -> SliderFrame:
    """Mean hold-out accuracy per epoch; ``curves(η)`` gives {name: y} for the declared names (the
    first moves with η, the others are fixed references, dashed). Legend above the axes, a
    label box (``label(η)``) at the bottom right."""
    fig, (ax,) = new_figure(1, size=size, dpi=dpi)
    styles = ["-", "--", ":", "-."]
    lines = {name: ax.plot([], [], color=PALETTE[(0, 3, 2, 4)[i % 4]], ls=styles[i % 4], lw=2.0 if i == 0 else 1.6,
                           label=name)[0] for i, name in enumerate(names)}
    ax.set_xlim(float(np.min(epochs)), float(np.max(epochs)))
    ax.set_ylim(*ylim)
    ax.set_xlabel("epoch")
    ax.set_ylabel("hold-out accuracy")
    ax.legend(loc="lower left", bbox_to_anchor=(0.0, 1.0), ncol=len(names), frameon=False, fontsize=MIN_PT)
    text = ax.text(0.98, 0.04, " \n ", transform=ax.transAxes, ha="right", va="bottom", fontsize=10,
                   bbox=dict(boxstyle="round", fc="white", ec="0.7"))

    def update(eta: float) -> None:
        ys = curves(eta)
        for name, line in lines.items():
            y = np.asarray(ys[name], dtype=float)
            line.set_data(np.asarray(epochs)[: len(y)], y)
        text.set_text(label(eta))

    legible(fig)
    return SliderFrame(fig, [*lines.values(), text], update)


def stepping_figure(x, traces: Mapping[str, Mapping[str, np.ndarray]], *, size=(7.5, 3.4), dpi: int = 100):
    """One panel per scheduler: {panel title: {"right" label: η trace, "wrong" label: η trace}};
    the first trace solid, the second dashed, labelled in a legend under each panel."""
    fig, axes = new_figure(len(traces), size=size, dpi=dpi, sharey=True)
    for ax, (title, pair) in zip(axes, traces.items()):
        for j, (label, trace) in enumerate(pair.items()):
            ax.plot(x, trace, color=PALETTE[0 if j == 0 else 3], lw=1.8 if j == 0 else 1.4,
                    ls="-" if j == 0 else "--", label=label)
        ax.set_title(title, fontsize=10)
        ax.set_xlabel("epoch")
        ax.legend(loc="upper center", bbox_to_anchor=(0.5, -0.28), ncol=1, frameon=False)
    axes[0].set_ylabel(r"$\eta_t$ used by the step")
    return legible(fig)
