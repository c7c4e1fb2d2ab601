"""The pictures of the generalization chapter: loss curves on three splits, the slider over η
that reads a precomputed sweep, test accuracy per way of stopping, and hold-out loss against
progress η·t. Every function takes the chapter's results (``SplitCurves`` from
:func:`lrcourse.choosing.early_stopping.sweep_splits` and frames built from them) and only
draws; nothing here trains or chooses.

Figure standard: width × dpi ≤ 750 px (shown at full size), text ≥ 9 pt, mathtext labels,
legends outside the data.
"""
from __future__ import annotations

import warnings

import numpy as np
from matplotlib import cm, colors

from lrcourse.viz.frames import SliderFrame
from lrcourse.viz.style import LR_LABEL, PALETTE, lr_axis, new_figure

__all__ = ["mean_sd", "loss_panels", "split_frame", "split_alt", "rule_panels", "progress_panels"]

LOSS_LABEL = "cross-entropy $L$"
SPLIT_COLOURS = {"train": PALETTE[0], "hold-out": PALETTE[1], "test": PALETTE[2]}
SPLIT_STYLES = {"train": "-", "hold-out": "--", "test": ":"}


def _at(curve, epochs):
    """curve[..., e] for each leading index's own epoch e (NaN where e < 0)."""
    curve, epochs = np.asarray(curve, dtype=float), np.asarray(epochs)
    taken = np.take_along_axis(curve, np.maximum(epochs, 0)[..., None], -1)[..., 0]
    return np.where(epochs >= 0, taken, np.nan)


def mean_sd(a, axis=0):
    """Mean and sample sd (ddof=1) over seeds, ignoring NaN (epochs after a divergence)."""
    with warnings.catch_warnings(), np.errstate(invalid="ignore", divide="ignore"):
        warnings.simplefilter("ignore", RuntimeWarning)  # all-NaN columns give NaN, quietly
        return np.nanmean(a, axis=axis), np.nanstd(a, axis=axis, ddof=1)


def _index(r, eta) -> int:
    return int(np.argmin(np.abs(np.log(r.etas) - np.log(eta))))


def loss_panels(r, shown, stop, ylim=(2e-3, 5)):
    """Training and hold-out loss per epoch (mean ± sd over seeds) at the η indices ``shown``
    (at most 4), with the mean early-stopping epoch ``stop`` (seeds × η) as a dotted line."""
    fig, axes = new_figure(len(shown), size=(7.4, 2.9), dpi=100, sharey=True)
    epochs = np.arange(1, r.epochs + 1)
    for i, (ax, e) in enumerate(zip(axes, shown)):
        for split, curve in (("train", r.train_loss), ("hold-out", r.val_loss)):
            m, s = mean_sd(curve[:, e])
            ax.plot(epochs, m, color=SPLIT_COLOURS[split], ls=SPLIT_STYLES[split], lw=1.6, label=split)
            ax.fill_between(epochs, np.maximum(m - s, ylim[0]), m + s, color=SPLIT_COLOURS[split],
                            alpha=0.25, lw=0)
        ax.axvline(stop[:, e].mean() + 1, color="0.3", ls=":", lw=1.2,
                   label="mean $e^\\star$" if i == 0 else None)
        ax.set_yscale("log")
        ax.set_ylim(*ylim)
        ax.set_xlim(1, r.epochs)
        ax.set_title(f"η = {r.etas[e]:.3g}", fontsize=11)
        ax.set_xlabel("epoch", fontsize=10)
        ax.tick_params(labelsize=9)
    axes[0].set_ylabel(LOSS_LABEL, fontsize=10)
    fig.legend(*axes[0].get_legend_handles_labels(), loc="outside upper center", ncols=3, fontsize=10)
    return fig


def split_alt(r, name: str, stop):
    """alt(η): what the slider frame of :func:`split_frame` shows at η, in one sentence."""

    def alt(eta):
        i = _index(r, eta)
        n_div = int((r.diverged_at[:, i] >= 0).sum())
        if n_div:
            return (f"η = {r.etas[i]:.3g}: {name}, {n_div} of {len(r.seeds)} seeds diverged; "
                    "loss and accuracy curves stop there")
        test = _at(r.test_acc[:, i], stop[:, i])
        return (f"η = {r.etas[i]:.3g}: {name}, hold-out loss lowest at epoch {np.mean(stop[:, i]) + 1:.1f} "
                f"on average; training loss {np.mean(r.train_loss[:, i, -1]):.3g} at epoch {r.epochs}; "
                f"test accuracy {np.mean(test):.3f} at the early-stopping epoch, "
                f"{np.mean(r.test_acc[:, i, -1]):.3f} at epoch {r.epochs}")

    return alt


def split_frame(r, stop, size=(7.4, 3.4), dpi=100):
    """Per-epoch loss and accuracy (mean ± sd over seeds) of the precomputed run nearest to η,
    with each seed's early-stopping epoch; update() only sets data, the axes never move."""
    fig, (ax_loss, ax_acc) = new_figure(2, size=size, dpi=dpi)
    epochs = np.arange(1, r.epochs + 1)
    shown = {ax_loss: [("train", r.train_loss), ("hold-out", r.val_loss)],
             ax_acc: [("train", r.train_acc), ("hold-out", r.val_acc), ("test", r.test_acc)]}
    artists, curves = [], []
    floor = {ax_loss: 2e-3, ax_acc: 0.0}  # a band's lower edge stays on the axis (log scale)
    for ax, items in shown.items():
        for label, curve in items:
            (line,) = ax.plot([], [], color=SPLIT_COLOURS[label], ls=SPLIT_STYLES[label], lw=1.6, label=label)
            band = ax.fill_between([], [], [], color=SPLIT_COLOURS[label], alpha=0.25, lw=0)
            artists += [band, line]
            curves.append((line, band, curve, floor[ax]))
        ax.set_xlim(1, r.epochs)
        ax.set_xlabel("epoch", fontsize=10)
        ax.tick_params(labelsize=9)
    (stop_loss,) = ax_loss.plot([], [], "o", color="k", ms=4)
    (stop_test,) = ax_acc.plot([], [], "o", color="k", ms=4)
    ax_loss.set_yscale("log")
    ax_loss.set_ylim(2e-3, 8)
    ax_loss.set_ylabel(LOSS_LABEL, fontsize=10)
    ax_acc.set_ylim(0, 1.02)
    ax_acc.set_ylabel("accuracy", fontsize=10)
    lines = [line for line, *_ in curves]  # train, hold-out (loss); train, hold-out, test (accuracy)
    fig.legend([*lines[2:], stop_loss], ["train", "hold-out", "test", "$e^\\star$ of each seed"],
               loc="outside lower center", fontsize=10, ncols=4)
    text = fig.suptitle(" ", fontsize=10)

    def update(eta):
        i = _index(r, eta)  # look up, never train
        diverged = bool((r.diverged_at[:, i] >= 0).any())
        for line, band, curve, low in curves:
            m, s = mean_sd(curve[:, i])
            keep = np.isfinite(m) & np.isfinite(s) & (not diverged)  # no bands over exploding losses
            line.set_data(epochs[np.isfinite(m)], m[np.isfinite(m)])
            band.set_data(epochs[keep], np.maximum(m - s, low)[keep], (m + s)[keep])
        e = stop[:, i]
        seen = (e >= 0) & (r.diverged_at[:, i] < 0)  # early stopping of a diverged run is not compared
        stop_loss.set_data(e[seen] + 1, _at(r.val_loss[:, i], e)[seen])
        stop_test.set_data(e[seen] + 1, _at(r.test_acc[:, i], e)[seen])
        if diverged:
            status = f"diverged in {int((r.diverged_at[:, i] >= 0).sum())} of {len(r.seeds)} seeds"
        else:
            t_m, t_s = mean_sd(_at(r.test_acc[:, i], e))
            status = (f"mean $e^\\star$ = {np.mean(e) + 1:.1f} · test acc. there {t_m:.3f} ± {t_s:.3f},"
                      f" at epoch {r.epochs} {np.mean(r.test_acc[:, i, -1]):.3f}")
        text.set_text(f"η = {r.etas[i]:.3g} · {status}")

    return SliderFrame(fig, [*artists, stop_loss, stop_test, text], update)


RULE_STYLES = [(PALETTE[7], "o", "-"), (PALETTE[0], "s", "--"), (PALETTE[2], "^", ":")]


def rule_panels(results, settings, rules):
    """Test accuracy (mean ± sd over seeds) against η for each way of stopping, one panel per
    setting; a star marks each way's hold-out choice η̂."""
    fig, axes = new_figure(len(settings), size=(7.4, 3.2), dpi=100)
    for i, (ax, name) in enumerate(zip(axes, settings)):
        for rule, (colour, marker, ls) in zip(rules, RULE_STYLES):
            part = results[(results.setting == name) & (results.rule == rule)]
            ax.plot(part.eta, part.test_mean, marker=marker, ls=ls, color=colour, ms=4, lw=1.4, label=rule)
            ax.fill_between(part.eta, part.test_mean - part.test_sd, part.test_mean + part.test_sd,
                            color=colour, alpha=0.2, lw=0)
            best = part[part.chosen]
            ax.plot(best.eta, best.test_mean, "*", ms=13, color=colour, mec="k", mew=0.6, zorder=5)
        lr_axis(ax)
        ax.xaxis.label.set_fontsize(10)
        ax.tick_params(labelsize=9)
        ax.set_title(name, fontsize=10)
        ax.set_ylabel("test accuracy" if i == 0 else "", fontsize=10)
    fig.legend(*axes[0].get_legend_handles_labels(), loc="outside upper center", ncols=3, fontsize=9)
    return fig


def progress_panels(runs, stable, grid, ylims):
    """Hold-out loss (mean over seeds) against progress η·t, one line per stable η, coloured by
    η on a log scale, one panel per setting."""
    norm = colors.LogNorm(grid[0], grid[-1])
    fig, axes = new_figure(len(runs), size=(7.4, 3.0), dpi=100)
    for ax, (name, r), ylim in zip(axes, runs.items(), ylims):
        for e in np.flatnonzero(stable[name]):
            progress = r.etas[e] * r.steps_per_epoch * np.arange(1, r.epochs + 1)  # η·t after each epoch
            ax.plot(progress, np.mean(r.val_loss[:, e], 0), color=cm.viridis(norm(r.etas[e])), lw=1.4)
        ax.set_xscale("log")
        ax.set_xlabel("progress $\\eta t$", fontsize=10)
        ax.set_title(name, fontsize=10)
        ax.tick_params(labelsize=9)
        if ylim == "log":
            ax.set_yscale("log")
        else:
            ax.set_ylim(*ylim)
    axes[0].set_ylabel("hold-out loss", fontsize=10)
    bar = fig.colorbar(cm.ScalarMappable(norm, "viridis"), ax=axes, pad=0.01)
    bar.set_label(LR_LABEL, fontsize=10)
    bar.ax.tick_params(labelsize=9)
    return fig
