"""The pictures of chapter "Finding a good learning rate": a grid sweep (log against linear),
an LR range test with its smoothing and suggestions, the suggestions trained with, two
optimizers' range tests, and the LR doctor's slider frame.

Everything here draws results it is given; nothing trains. Text is ≥ 9 pt at display size
(figures ≤ 750 px wide display unscaled), legends sit outside the data, and the three
suggestion rules keep one marker each across figures.
"""
from __future__ import annotations

import textwrap

import numpy as np

from lrcourse.viz.frames import SliderFrame
from lrcourse.viz.schedule_results import legible
from lrcourse.viz.style import PALETTE, lr_axis, new_figure

__all__ = ["MARKERS", "readable", "grid_figure", "range_test_figure", "suggestions_figure", "optimizers_figure",
           "doctor_frame"]

MARKERS = {"valley": "o", "steep": "^", "minimum/10": "s"}
READABLE = {"nan": "non-finite loss"}  # the doctor's label "nan", in words a reader does not mistake for a gap


def readable(label: str) -> str:
    """The doctor's label as a reader sees it."""
    return READABLE.get(label, label)


def _above(ax, ncol=2):
    ax.legend(loc="lower left", bbox_to_anchor=(0.0, 1.0), ncol=ncol, frameon=False)


def grid_figure(log_grid, log_acc, linear_grid, lin_acc, best, chance, *, size=(7.5, 4.0), dpi=100):
    """Final hold-out accuracy against η: the log grid (mean ± sd over seeds, line and band), the
    linear grid (squares with sd bars), a band within 0.01 of the best and the chance level."""
    fig, (ax,) = new_figure(1, size=size, dpi=dpi)
    m, s = log_acc.mean(0), log_acc.std(0, ddof=1)
    ax.fill_between(log_grid, m - s, m + s, color=PALETTE[0], alpha=0.2, lw=0)
    ax.plot(log_grid, m, "o-", color=PALETTE[0], ms=4, lw=1.6, label=f"log grid ({len(log_grid)} points)")
    ax.errorbar(linear_grid, lin_acc.mean(0), yerr=lin_acc.std(0, ddof=1), fmt="s", ms=5, color=PALETTE[3],
                capsize=2, label=f"linear grid ({len(linear_grid)} points)")
    ax.axhspan(best - 0.01, best, color="0.85", zorder=0, label="within 0.01 of the best")
    ax.axhline(chance, color="0.4", ls=":", lw=1, label="chance (a diverged run scores this)")
    lr_axis(ax)
    ax.set_ylabel("final hold-out accuracy")
    ax.set_ylim(0, 1.02)
    _above(ax)
    return legible(fig)


def range_test_figure(rt, biased, debiased, *, first_steps=40, size=(7.5, 4.2), dpi=100):
    """Left: the first steps of the ramp, raw loss, the biased EMA and the debiased one.
    Right: the whole test against η, raw (faint) and smoothed, the suggestions marked and the
    stopping point dotted."""
    fig, (ax_s, ax_rt) = new_figure(2, size=size, dpi=dpi)
    steps = np.arange(len(rt.losses))
    ax_s.plot(steps, rt.losses, color="0.6", lw=0.9, label="raw $L_i$")
    ax_s.plot(steps, biased, color=PALETTE[3], lw=1.6, ls="--", label="EMA $a_i$ (biased)")
    ax_s.plot(steps, debiased, color=PALETTE[0], lw=1.8, label=r"debiased $\tilde L_i$")
    ax_s.set_xlim(0, first_steps)
    ax_s.set_ylim(0, 1.15 * max(rt.losses[:first_steps].max(), 1e-9))
    ax_s.set_xlabel("step $i$ of the ramp")
    ax_s.set_ylabel("training loss")
    ax_s.set_title(f"the first {first_steps} steps")
    ax_s.legend(loc="lower left", bbox_to_anchor=(0.0, 1.08), ncol=1, frameon=False)
    ok = slice(0, (rt.stop_index if rt.stop_index is not None else len(rt.lrs) - 1) + 1)
    ax_rt.plot(rt.lrs[ok], rt.losses[ok], color="0.7", lw=0.8)
    ax_rt.plot(rt.lrs[ok], rt.smoothed[ok], color=PALETTE[0], lw=1.8)
    for c, (name, sug) in enumerate(rt.suggestions.items()):
        if sug is not None:
            ax_rt.plot([sug.lr], [sug.loss], marker=MARKERS.get(name, "D"), ms=9, ls="none", color=PALETTE[c + 1],
                       mec="k", zorder=3, label=f"{name}: η = {sug.lr:.2g}")
    if rt.stop_index is not None:
        ax_rt.axvline(rt.lrs[rt.stop_index], color="0.4", ls=":", lw=1.2, label=f"stopped: η = {rt.lrs[rt.stop_index]:.2g}")
    lo = np.nanmin(rt.smoothed[ok])
    ax_rt.set_ylim(0.9 * min(lo, np.nanmin(rt.losses[ok])), 1.15 * rt.losses[0])
    lr_axis(ax_rt)
    ax_rt.set_ylabel("training loss")
    ax_rt.set_title("the whole test")
    ax_rt.legend(loc="lower left", bbox_to_anchor=(0.0, 1.08), ncol=1, frameon=False)
    return legible(fig)


def suggestions_figure(log_grid, log_acc, trained, rules, ramps, epochs, *, size=(7.5, 4.4), dpi=100):
    """The grid sweep (grey, mean ± sd) and, per seed, the accuracy each rule's suggestion
    reached: one marker per rule, filled for the first ramp length, open for the second."""
    fig, (ax,) = new_figure(1, size=size, dpi=dpi)
    m, s = log_acc.mean(0), log_acc.std(0, ddof=1)
    ax.fill_between(log_grid, m - s, m + s, color="0.6", alpha=0.25, lw=0)
    ax.plot(log_grid, m, color="0.45", lw=1.6, label="grid sweep, mean ± sd")
    for c, rule in enumerate(rules):
        for n, filled in zip(ramps, (True, False)):
            pts = trained[trained.choice == f"{rule} (N={n})"]
            ax.plot(pts.eta, pts.acc, ls="none", marker=MARKERS[rule], ms=7, color=PALETTE[c + 1],
                    mfc=PALETTE[c + 1] if filled else "white", mew=1.5, label=f"{rule}, N = {n}")
    lr_axis(ax)
    ax.set_xlim(1e-3, 10)
    ax.set_ylim(0.3, 1.0)
    ax.set_ylabel(f"hold-out accuracy, epoch {epochs}")
    ax.legend(loc="center left", bbox_to_anchor=(1.01, 0.5), frameon=False)
    return legible(fig)


def optimizers_figure(tests, rules, *, size=(7.5, 4.0), dpi=100):
    """Range tests of several optimizers ({name: RangeTestResult}) on one η axis: smoothed loss
    (raw faint), each rule's suggestion marked with the rule's marker in the optimizer's colour."""
    fig, (ax,) = new_figure(1, size=size, dpi=dpi)
    styles = ["-", "--", "-.", ":"]
    for c, (opt, t) in enumerate(tests.items()):
        ok = slice(0, (t.stop_index if t.stop_index is not None else len(t.lrs) - 1) + 1)
        ax.plot(t.lrs[ok], t.losses[ok], color=PALETTE[c], lw=0.6, alpha=0.4)
        ax.plot(t.lrs[ok], t.smoothed[ok], color=PALETTE[c], ls=styles[c % 4], lw=2, label=f"{opt}: smoothed loss")
        for r in rules:
            sug = t.suggestions[r]
            if sug is not None:
                ax.plot([sug.lr], [sug.loss], marker=MARKERS[r], ms=9, ls="none", color=PALETTE[c], mec="k")
    for r in rules:
        ax.plot([], [], marker=MARKERS[r], ls="none", color="0.6", mec="k", ms=9, label=r)
    lr_axis(ax)
    ax.set_ylim(0, 3.5)
    ax.set_ylabel("training loss")
    ax.legend(loc="center left", bbox_to_anchor=(1.01, 0.5), frameon=False)
    return legible(fig)


def doctor_frame(run, grid, mean_acc, run_acc, diagnose, *, seed_index=0, size=(7.5, 4.0), dpi=100) -> SliderFrame:
    """Left: training and hold-out loss per epoch of the precomputed run nearest to η (losses
    above 2·10³ drawn on the dotted line; a run that turned NaN stops). Right: the sweep's mean
    final accuracy against η, this run (``run_acc[i]``) as a dot. Title: the doctor's label and message.
    ``update`` only looks a run up."""
    fig, (ax_loss, ax_acc) = new_figure(2, size=size, dpi=dpi, width_ratios=[1.2, 1])
    epochs = np.arange(1, run.epochs + 1)
    (train_line,) = ax_loss.plot([], [], color=PALETTE[0], lw=1.8, label="training loss")
    (val_line,) = ax_loss.plot([], [], color=PALETTE[1], ls="--", lw=1.8, label="hold-out loss")
    ax_loss.set_yscale("log")
    ax_loss.set_xlim(1, run.epochs)
    ax_loss.set_ylim(3e-3, 3e3)
    ax_loss.set_xlabel("epoch")
    ax_loss.set_ylabel("cross-entropy L")
    ax_loss.axhline(2e3, color="0.5", ls=":", lw=1)
    ax_acc.plot(grid, mean_acc, color="0.6", lw=1.5, label="sweep, mean")
    (dot,) = ax_acc.plot([], [], "o", ms=9, color=PALETTE[3], label="this run")
    lr_axis(ax_acc)
    ax_acc.set_ylim(0, 1.02)
    ax_acc.set_ylabel("final hold-out accuracy")
    fig.legend(handles=[train_line, val_line, *ax_acc.get_lines()[:1], dot], loc="outside lower center", ncol=2,
               frameon=False)  # two columns fit a phone's stacked frame
    text = fig.suptitle(" \n \n \n ", fontsize=10, ha="left", x=0.01)  # four lines reserved
    grid = np.asarray(grid, dtype=float)
    acc = np.asarray(run_acc, dtype=float)

    def update(eta):
        i = int(np.argmin(np.abs(np.log(grid) - np.log(eta))))  # look up, never train
        h = run.history(seed_index, i)
        n = len(h.train_loss)
        train_line.set_data(epochs[:n], np.clip(h.train_loss, 1e-3, 2e3))
        val_line.set_data(epochs[:n], np.clip(h.val_loss, 1e-3, 2e3))
        dot.set_data([grid[i]], [np.nan_to_num(acc[i], nan=0.1)])
        d = diagnose(h)
        lines = textwrap.wrap(d.message, 46)
        if len(lines) > 3:
            lines = lines[:2] + [textwrap.shorten(" ".join(lines[2:]), 46, placeholder=" …")]
        text.set_text(f"η = {grid[i]:.3g}, the doctor: {readable(d.label).upper()}\n" + "\n".join(lines + [" "] * (3 - len(lines))))

    legible(fig)
    return SliderFrame(fig, [train_line, val_line, dot, text], update)
