"""The pictures of the chapter on searching for η: the objective f(η) over a sweep, the best
loss a search has found against trials or epochs spent, pruned and finished learning curves,
PBT's learning rates over time, and the slider that places each search's choice on f(η).
Each function takes the chapter's results and only draws; nothing here trains or searches.

Figure standard: width × dpi ≤ 750 px (shown at full size), text ≥ 9 pt, mathtext labels,
legends outside the data; six searches get six hues and six markers.
"""
from __future__ import annotations

import numpy as np
import seaborn as sns

from lrcourse.viz.frames import SliderFrame
from lrcourse.viz.style import PALETTE, lr_axis, new_figure

__all__ = ["COLORS", "MARKERS", "landscape_figure", "trials_figure", "pruning_figure", "pbt_figure",
           "budget_figure", "choice_frame", "choice_alt"]

COLORS = {"grid": PALETTE[0], "random": PALETTE[1], "TPE": PALETTE[2],
          "random + halving": PALETTE[4], "TPE + Hyperband": PALETTE[9], "PBT": (0.1, 0.1, 0.1)}
MARKERS = dict(zip(COLORS, "sovD^P"))
STYLES = dict(zip(COLORS, ["-", "-", "--", "-.", ":", (0, (5, 1))]))
WINDOW = dict(color="0.75", alpha=0.35)  # shading of the good window of η
SPREAD = dict(estimator="median", errorbar=("pi", 50))  # median and 25–75 % over the repetitions


def _small_text(ax):
    ax.tick_params(labelsize=9)
    ax.xaxis.label.set_fontsize(10)
    ax.yaxis.label.set_fontsize(10)


def landscape_figure(etas, f_grid, mean_f, basin, epochs):
    """f(η) of every seed (band: lowest to highest), their geometric mean, and the window of η
    within 10 % of the best."""
    fig, (ax,) = new_figure(1, size=(7.4, 3.2), dpi=100)
    ax.fill_between(etas, f_grid.min(0), np.clip(f_grid.max(0), None, 1e3), color=PALETTE[0], alpha=0.25,
                    label=f"lowest to highest of {len(f_grid)} seeds")
    ax.plot(etas, mean_f, "o-", color=PALETTE[0], ms=3.5, label="geometric mean over the seeds")
    ax.axvspan(basin.min(), basin.max(), **WINDOW, label="within 10 % of the best")
    lr_axis(ax)
    ax.set_yscale("log")
    ax.set_ylim(0.05, 20)
    ax.set_ylabel(f"$f(\\eta)$: hold-out loss, epoch {epochs}")
    _small_text(ax)
    fig.legend(*ax.get_legend_handles_labels(), loc="outside upper center", ncols=2, fontsize=9)
    return fig


def _best_found(ax, runs, x, names, top):
    """The best hold-out loss found against ``x``: median and 25–75 % of the repetitions for
    each search in ``names``, mean ± sd for the grid; log scale from 0.08 to ``top``."""
    for name in names:
        sns.lineplot(runs[runs.search == name], x=x, y="best", **SPREAD, ax=ax,
                     color=COLORS[name], ls=STYLES[name], label=name)
    g = runs[runs.search == "grid"].groupby(x).best.agg(["mean", "std"])
    ax.errorbar(g.index, g["mean"], yerr=g["std"], fmt="s", color=COLORS["grid"], capsize=3, label="grid")
    ax.set_yscale("log")
    ax.set_ylim(0.08, top)


def trials_figure(by_trials, random_etas0, tpe0, basin, n_trials, startup=5):
    """Left: the best hold-out loss found against trials (random and TPE: median and 25–75 %;
    grid: mean ± sd). Right: the η each tried in repetition 0, with the good window shaded."""
    fig, (ax, ax_eta) = new_figure(2, size=(7.4, 3.6), dpi=100, width_ratios=[1.15, 1])
    _best_found(ax, by_trials, "trials", ("random", "TPE"), top=3)
    ax.set_xlabel("trials $n$")
    ax.set_ylabel("best hold-out loss found")
    handles, labels = ax.get_legend_handles_labels()
    ax.get_legend().remove()
    ax_eta.scatter(np.arange(1, n_trials + 1), random_etas0, color=COLORS["random"], s=22, label="random")
    ax_eta.scatter(tpe0.number + 1, tpe0.eta, color=COLORS["TPE"], marker="^", s=28, label="TPE")
    ax_eta.axhspan(basin.min(), basin.max(), **WINDOW, label="good window")
    ax_eta.axvline(startup + 0.5, color="0.5", ls=":", lw=1)
    ax_eta.text(startup + 0.7, 1.5, "TPE's start-up ends", fontsize=9, color="0.3", va="top")
    lr_axis(ax_eta, which="y")
    ax_eta.set_ylim(5e-5, 2)
    ax_eta.set_xlabel("trial (repetition 0)")
    for a in (ax, ax_eta):
        _small_text(a)
    h2, l2 = ax_eta.get_legend_handles_labels()
    fig.legend(handles + h2[1:], labels + ["TPE's η", "good window"], loc="outside upper center", ncols=5,
               fontsize=9, columnspacing=1.0)
    return fig


def pruning_figure(studies_and_titles, rungs=(1, 3, 9)):
    """Every trial's hold-out loss per epoch in two studies; finished trials in colour, pruned
    ones in grey; the rungs as dotted lines."""
    fig, axes = new_figure(2, size=(7.4, 3.3), dpi=100, sharey=True)
    for ax, (study, title) in zip(axes, studies_and_titles):
        for t in study.trials:
            steps = sorted(t.intermediate_values)
            done = t.state.name == "COMPLETE"
            ax.plot(steps, [min(t.intermediate_values[s], 50) for s in steps], marker="o", ms=2.5,
                    lw=1.6 if done else 0.9, color=PALETTE[0] if done else "0.55", alpha=1 if done else 0.7)
        for rung in rungs:
            ax.axvline(rung, color=PALETTE[3], ls=":", lw=1)
        ax.set_yscale("log")
        ax.set_xlabel("epoch")
        ax.set_title(f"{title}: {sum(len(t.intermediate_values) for t in study.trials)} epochs", fontsize=10)
        _small_text(ax)
    axes[0].set_ylabel("hold-out loss (pruned: grey)")
    return fig


def pbt_figure(res, schedule, pop, epochs):
    """Left: η of every member over the rounds (repetition 0) and the final best member's line
    of descent; right: the best hold-out loss in the population, PBT against fixed η."""
    fig, (ax, ax_loss) = new_figure(2, size=(7.4, 3.4), dpi=100)
    x = np.arange(0, epochs + 1)
    for p in range(res.etas.shape[1]):
        ax.step(x, np.r_[res.etas[:, p], res.etas[-1, p]], where="post", color="0.6", lw=0.8, alpha=0.7)
    ax.step(x, np.r_[schedule, schedule[-1]], where="post", color=COLORS["PBT"], lw=2.5,
            label="best final member's line")
    lr_axis(ax, which="y")
    ax.set_xlabel("epoch")
    ax.set_title("η of every member (repetition 0)", fontsize=10)
    sns.lineplot(pop, x="epoch", y="best", hue="population", style="population", errorbar="sd", ax=ax_loss,
                 palette=[COLORS["PBT"], COLORS["random"]])
    ax_loss.set_yscale("log")
    ax_loss.set_ylabel("best hold-out loss")
    handles, labels = ax_loss.get_legend_handles_labels()
    ax_loss.get_legend().remove()
    for a in (ax, ax_loss):
        _small_text(a)
    h0, l0 = ax.get_legend_handles_labels()
    fig.legend(h0 + handles, l0 + labels, loc="outside lower center", ncols=3, fontsize=9)
    return fig


def budget_figure(runs, names):
    """The best hold-out loss found against epochs of training spent, per search (median and
    25–75 % of the repetitions; grid: mean ± sd)."""
    fig, (ax,) = new_figure(1, size=(7.4, 3.6), dpi=100)
    _best_found(ax, runs, "epochs", names, top=1)
    ax.set_xlabel("epochs of training spent")
    ax.set_ylabel("best hold-out loss found")
    _small_text(ax)
    handles, labels = ax.get_legend_handles_labels()
    ax.get_legend().remove()
    fig.legend(handles, labels, loc="outside right center", fontsize=9)
    return fig


def _nearest(etas, eta) -> int:
    return int(np.argmin(np.abs(np.log(etas) - np.log(eta))))


def choice_alt(etas, f0):
    """alt(η): the value of f at η (seed 0), in one sentence."""
    def alt(eta):
        i = _nearest(etas, eta)
        if not np.isfinite(f0[i]):
            return f"η = {etas[i]:.3g}: the run diverged (seed 0); the markers below show the η each search chose"
        return (f"η = {etas[i]:.3g}: hold-out loss after training f = {f0[i]:.3g} (seed 0); the markers below "
                "show the η each search chose")
    return alt


def choice_frame(etas, f0, curves0, chosen, i_best, epochs):
    """Left: f(η) for seed 0, a cursor at η, and below it one row per search with the η it
    chose (so that choices that coincide stay visible); right: the learning curve at η."""
    fig = new_figure(1, size=(7.4, 3.8), dpi=100)[0]
    fig.clear()
    grid = fig.add_gridspec(2, 2, height_ratios=[2.2, 1], width_ratios=[1.15, 1])
    ax_f = fig.add_subplot(grid[0, 0])
    ax_m = fig.add_subplot(grid[1, 0], sharex=ax_f)
    ax_c = fig.add_subplot(grid[:, 1])
    ax_f.plot(etas, np.clip(f0, None, 1e3), color=PALETTE[0], lw=1.8)
    ax_f.set_xscale("log")
    ax_f.set_yscale("log")
    ax_f.set_ylim(0.05, 20)
    ax_f.set_ylabel("$f(\\eta)$")
    ax_f.tick_params(labelbottom=False)
    names = list(chosen)
    for row, name in enumerate(names):
        ax_m.plot(chosen[name], row, MARKERS[name], color=COLORS[name], ms=7, mec="k", mew=0.5)
    ax_m.set_yticks(range(len(names)), names)
    ax_m.set_ylim(len(names) - 0.5, -0.5)
    ax_m.set_xlabel("learning rate η")
    ax_m.grid(axis="y", visible=False)
    (cursor,) = ax_f.plot([], [], color=PALETTE[3], ls="-", lw=1.2)
    (cursor_m,) = ax_m.plot([], [], color=PALETTE[3], ls="-", lw=1.2)
    ax_c.plot(np.arange(1, epochs + 1), curves0[i_best], color="0.6", lw=1, ls="--",
              label=f"η = {etas[i_best]:.3g} (best on average)")
    (curve,) = ax_c.plot([], [], color=PALETTE[3], lw=2, marker="o", ms=3, label="this η")
    ax_c.set_xlim(1, epochs)
    ax_c.set_ylim(0.05, 20)
    ax_c.set_yscale("log")
    ax_c.set_xlabel("epoch")
    ax_c.set_ylabel("hold-out loss")
    for a in (ax_f, ax_m, ax_c):
        _small_text(a)
    fig.legend(*ax_c.get_legend_handles_labels(), loc="outside lower right", ncols=2, fontsize=9)
    label = fig.suptitle(" ", fontsize=10)

    def update(eta):
        i = _nearest(etas, eta)  # the nearest precomputed run
        cursor.set_data([etas[i], etas[i]], [0.05, 20])
        cursor_m.set_data([etas[i], etas[i]], [-0.5, len(names) - 0.5])
        curve.set_data(np.arange(1, epochs + 1), curves0[i])
        label.set_text(f"η = {etas[i]:.3g} · f = {f0[i]:.3g}" if np.isfinite(f0[i]) else f"η = {etas[i]:.3g} · diverged")

    return SliderFrame(fig, [cursor, cursor_m, curve, label], update)
