"""The pictures of the transformer chapter: accuracy curves of the four schedules (a slider over
η), the schedules themselves, and the hold-out accuracy of each optimizer against its one knob.
Each function only draws (or words) what the chapter computed.

Figure standard: width × dpi ≤ 750 px, text ≥ 9 pt, mathtext labels, legends outside the data.
"""
from __future__ import annotations

import numpy as np

from lrcourse.viz.frames import SliderFrame
from lrcourse.viz.style import PALETTE, new_figure

__all__ = ["schedules_figure", "curves_frame", "curves_alt", "knob_figure", "first_at"]

STYLES = ["-", "--", "-.", ":"]
MARKERS = ["o", "s", "^", "D"]


def first_at(steps, curve, level):
    """The first step at which ``curve`` reaches ``level`` (NaN if it never does)."""
    hit = np.flatnonzero(np.asarray(curve) >= level)
    return float(steps[hit[0]]) if hit.size else float("nan")


def schedules_figure(lr_of, names, eta, steps):
    """η_t of each schedule (``lr_of(name, eta)`` → array of length ``steps``) at peak η."""
    fig, (ax,) = new_figure(1, size=(7.4, 2.8), dpi=100)
    for c, name in enumerate(names):
        ax.plot(np.arange(steps), lr_of(name, eta), color=PALETTE[c], ls=STYLES[c], lw=1.8, label=name)
    ax.set_xlabel("step $t$", fontsize=10)
    ax.set_ylabel(r"learning rate $\eta_t$", fontsize=10)
    ax.tick_params(labelsize=9)
    fig.legend(*ax.get_legend_handles_labels(), loc="outside right center", fontsize=9)
    return fig


def curves_frame(run, table, names, etas, level):
    """Two panels over the steps at one peak η: training accuracy (left) and test accuracy
    (right) of each schedule, mean over seeds. ``table``: rows (schedule, η, seed, wd) → member
    index, as a DataFrame with columns schedule, eta, member."""
    fig, (ax_tr, ax_te) = new_figure(2, size=(7.4, 3.5), dpi=100)
    lines = []
    for ax, label in ((ax_tr, "training accuracy"), (ax_te, "test accuracy")):
        ax.set(xlim=(0, run.eval_steps[-1]), ylim=(-0.02, 1.02))
        ax.set_xlabel("step $t$", fontsize=10)
        ax.set_ylabel(label, fontsize=10)
        ax.tick_params(labelsize=9)
    ax_te.axhline(level, color="0.5", lw=0.8, ls=(0, (2, 2)))
    for c, name in enumerate(names):
        for ax in (ax_tr, ax_te):
            (line,) = ax.plot([], [], color=PALETTE[c], ls=STYLES[c], lw=1.6, label=name)
            lines.append(line)
    fig.legend(lines[::2], names, loc="outside lower center", ncols=4, fontsize=9)
    title = fig.suptitle(" ", fontsize=10)

    def update(eta):
        e = etas[int(np.argmin(np.abs(np.log(np.asarray(etas) / eta))))]
        for c, name in enumerate(names):
            members = table[(table["schedule"] == name) & np.isclose(table["eta"], e)]["member"].to_numpy()
            lines[2 * c].set_data(run.eval_steps, run.train_acc[members].mean(0))
            lines[2 * c + 1].set_data(run.eval_steps, run.test_acc[members].mean(0))
        title.set_text(f"AdamW, peak η = {e:.3g} (mean over seeds)")

    return SliderFrame(fig, [*lines, title], update)


def curves_alt(summary, etas, level):
    """alt(η): for each schedule at η, the final training and test accuracy and the step test
    accuracy first reached ``level`` (from the chapter's per-schedule summary table)."""
    def alt(eta):
        e = etas[int(np.argmin(np.abs(np.log(np.asarray(etas) / eta))))]
        rows = summary[np.isclose(summary["η"], e)]
        parts = []
        for _, r in rows.iterrows():
            seeds = "seed" if r["jumped"] == 1 else "seeds"
            jump = (f"test accuracy reached {level:.0%} in {r['jumped']:.0f} {seeds}, first at step {r['jump']:.0f} "
                    "(mean)" if np.isfinite(r["jump"]) else f"test accuracy never reached {level:.0%}")
            parts.append(f"{r['schedule']}: final training accuracy {r['train']:.0%}, test {r['test']:.0%} "
                         f"(means over seeds), {jump}")
        return f"Peak η = {e:.3g}. " + "; ".join(parts) + "."
    return alt


def knob_figure(curves, tol):
    """Hold-out accuracy against each optimizer's knob, as decades from its default
    (``curves``: {panel title: {optimizer label: (decades, accuracy)}}), one panel per task."""
    fig, axes = new_figure(len(curves), size=(7.4, 3.4), dpi=100)
    for ax, (title, per_opt) in zip(np.atleast_1d(axes), curves.items()):
        for c, (label, (x, acc)) in enumerate(per_opt.items()):
            acc = np.asarray(acc, dtype=float)
            ax.plot(x, acc, color=PALETTE[c], ls=STYLES[c], marker=MARKERS[c], ms=5, lw=1.5, label=label)
            best = np.nanmax(acc)
            ax.plot([min(x), max(x)], [best - tol] * 2, color=PALETTE[c], lw=0.7, ls=(0, (1, 2)))
        ax.set_title(title, fontsize=10)
        ax.set_xlabel("knob, decades from its default", fontsize=10)
        ax.set_ylim(0, 1.02)
        ax.tick_params(labelsize=9)
    np.atleast_1d(axes)[0].set_ylabel("hold-out accuracy", fontsize=10)
    handles, labels = np.atleast_1d(axes)[0].get_legend_handles_labels()
    fig.legend(handles, labels, loc="outside lower center", ncols=2, fontsize=9)
    return fig
