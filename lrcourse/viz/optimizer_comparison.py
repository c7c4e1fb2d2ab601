"""Pictures that compare optimizers: one fixed look per optimizer, the race on a toy surface,
accuracy per epoch and per η, and the per-parameter effective steps.

Seven or eight optimizers share a plot, so colour alone is not enough: :func:`style` gives each
a distinct hue *and* a line style *and* a marker (the pairs that looked alike before — heavy
ball and Adadelta, RMSprop and AdamW — now differ in all three). Legends sit outside the data.
Nothing here trains or steps anything; every function reads finished results.
"""
from __future__ import annotations

from typing import Mapping

import numpy as np
from matplotlib import patheffects

from lrcourse.viz.frames import SliderFrame
from lrcourse.viz.style import PALETTE, draw_surface, lr_axis, new_figure
from lrcourse.viz.tables import cell

__all__ = ["style", "race_frame", "race_alt", "accuracy_frame", "accuracy_alt", "sweep_figure",
           "spectral_figure", "step_length_figure", "effective_steps_figure"]

# (colour, line style, marker), matched on the start of the optimizer's name. Seven hues that
# stay apart for colour-blind readers too (black, blue, sky blue, green, purple, olive, orange;
# AdamW, which never races beside Nesterov, is grey), and every pair also differs in line style
# and marker.
_LOOKS = [
    ("SGD +", (PALETTE[0], "--", "o")),
    ("heavy ball", (PALETTE[0], "--", "o")),
    ("Nesterov", (PALETTE[9], "-.", "v")),
    ("SGD", ("0.1", "-", None)),
    ("Adagrad", (PALETTE[2], ":", "P")),
    ("RMSprop", ("#AA3377", "-", "s")),
    ("Adadelta", ("#999933", (0, (6, 2)), "^")),
    ("AdamW", ("0.5", "-.", "D")),
    ("Adam", (PALETTE[1], "-", "*")),
]


def style(name: str) -> dict:
    """Matplotlib keywords (color, linestyle, marker) for one optimizer, the same in every plot."""
    for prefix, (colour, ls, marker) in _LOOKS:
        if name.startswith(prefix):
            return {"color": colour, "linestyle": ls, "marker": marker}
    return {"color": "0.5", "linestyle": "-", "marker": None}


def _legend(fig, handles, ncol=4):
    fig.legend(handles=handles, loc="outside lower center", ncol=ncol, fontsize=11, frameon=False,
               handlelength=2.6, columnspacing=1.4)


def race_frame(surface, runs: Mapping[str, list], *, loss_floor: float = 1e-10,
               size=(7.5, 4.1), dpi: int = 85) -> SliderFrame:
    """Left: each optimizer's path on the contours (a ring at the end).
    Right: L(θ_t) − L* against t. ``runs`` = {name: [Trajectory per η of one shared grid]}."""
    names = list(runs)
    grid = np.array([r.eta for r in runs[names[0]]], dtype=float)
    steps = max(len(r.losses) for n in names for r in runs[n]) - 1
    l_star = surface.min_value
    fig, (ax_path, ax_loss) = new_figure(2, size=size, dpi=dpi, width_ratios=[1.0, 1.1])
    draw_surface(ax_path, surface)
    ax_path.plot(*runs[names[0]][0].path[0], marker="o", color="white", ms=7, mec="k", zorder=5)
    halo = [patheffects.withStroke(linewidth=3.0, foreground="black", alpha=0.4)]
    paths, ends, curves = {}, {}, {}
    for n in names:
        st = style(n)
        paths[n] = ax_path.plot([], [], color=st["color"], ls=st["linestyle"], lw=1.8,
                                path_effects=halo)[0]
        ends[n] = ax_path.plot([], [], "o", color=st["color"], ms=7, mec="k", mew=0.8)[0]
        curves[n] = ax_loss.plot([], [], color=st["color"], ls=st["linestyle"], lw=1.6,
                                 marker=st["marker"], ms=5, markevery=0.2, label=n)[0]
    ax_loss.set_yscale("log")
    start_gap = float(surface.value(np.asarray(runs[names[0]][0].path[0])[None])[0]) - l_star
    ax_loss.set_ylim(loss_floor, 100 * max(start_gap, loss_floor))
    ax_loss.set_xlim(0, steps)
    ax_loss.set_xlabel("step t")
    ax_loss.set_ylabel(r"$L(\theta_t) - L^\star$")
    ax_path.set_xlabel(r"$\theta_1$")
    ax_path.set_ylabel(r"$\theta_2$")
    _legend(fig, list(curves.values()))
    label = ax_loss.text(0.97, 0.95, "", transform=ax_loss.transAxes, ha="right", va="top",
                         fontsize=11, bbox=dict(boxstyle="round", fc="white", ec="0.7"))

    def update(eta: float) -> None:
        k = int(np.argmin(np.abs(np.log(grid) - np.log(eta))))
        for n in names:
            tr = runs[n][k]
            ok = np.isfinite(tr.path).all(axis=1)
            shown = tr.path[ok]
            paths[n].set_data(shown[:, 0], shown[:, 1])
            ends[n].set_data(shown[-1:, 0], shown[-1:, 1])
            gap = np.clip(tr.losses[ok] - l_star, loss_floor, None)
            curves[n].set_data(np.flatnonzero(ok), gap)
        label.set_text(f"η = {grid[k]:.3g}")

    return SliderFrame(fig, [*paths.values(), *ends.values(), *curves.values(), label], update)


def race_alt(surface_name: str, runs: Mapping[str, list], min_value: float = 0.0):
    """``alt(η)``: where each optimizer ended in the race at that η, in words."""
    names = list(runs)
    grid = np.array([r.eta for r in runs[names[0]]], dtype=float)

    def alt(eta: float) -> str:
        k = int(np.argmin(np.abs(np.log(grid) - np.log(eta))))
        parts = []
        for n in names:
            tr = runs[n][k]
            if tr.diverged:
                parts.append(f"{n} leaves the picture at step {tr.diverged_at}")
            else:
                parts.append(f"{n} ends at L − L* = {cell(tr.losses[-1] - min_value, 2)}")
        return f"η = {grid[k]:.3g}, seven optimizers on {surface_name}: " + "; ".join(parts)

    return alt


def accuracy_frame(epochs: np.ndarray, names, curves, *, ylim=(0.0, 0.75), size=(7.5, 3.9),
                   dpi: int = 85) -> SliderFrame:
    """Hold-out accuracy per epoch of every optimizer at one η; the legend below the axes."""
    fig, (ax,) = new_figure(1, size=size, dpi=dpi)
    lines = {}
    for n in names:
        st = style(n)
        lines[n] = ax.plot([], [], color=st["color"], ls=st["linestyle"], lw=1.8,
                           marker=st["marker"], ms=5, label=n)[0]
    ax.set_xlim(float(np.min(epochs)), float(np.max(epochs)))
    ax.set_ylim(*ylim)
    ax.set_xlabel("epoch")
    ax.set_ylabel("hold-out accuracy")
    _legend(fig, list(lines.values()))
    text = ax.text(0.02, 0.95, "", transform=ax.transAxes, ha="left", va="top", fontsize=11,
                   bbox=dict(boxstyle="round", fc="white", ec="0.7"))

    def update(eta: float) -> None:
        ys = curves(eta)
        for n, line in lines.items():
            y = np.asarray(ys[n], dtype=float)
            line.set_data(np.asarray(epochs)[: len(y)], y)
        text.set_text(f"η = {eta:.3g}")

    return SliderFrame(fig, [*lines.values(), text], update)


def accuracy_alt(names, curves):
    """``alt(η)``: every optimizer's last hold-out accuracy at that η (or that it diverged)."""

    def alt(eta: float) -> str:
        ys = curves(eta)
        parts = []
        for n in names:
            y = np.asarray(ys[n], dtype=float)
            parts.append(f"{n} diverged" if not np.isfinite(y[-1]) else f"{n} {y[-1]:.2f}")
        return f"η = {eta:.3g}: hold-out accuracy after the last epoch — " + ", ".join(parts)

    return alt


def sweep_figure(grid, acc: Mapping[str, np.ndarray], best: Mapping[str, float],
                 rules=((1e-3, "1e-3: Adam"), (1e-2, "1e-2: SGD")), size=(7.5, 4.4), dpi: int = 100):
    """Hold-out accuracy against η per optimizer, a star at each one's best, the rules marked."""
    fig, (ax,) = new_figure(1, size=size, dpi=dpi)
    handles = []
    for n, a in acc.items():
        st = style(n)
        handles.append(ax.plot(grid, a, color=st["color"], ls=st["linestyle"], marker=st["marker"],
                               ms=5, lw=1.6, label=n)[0])
        k = int(np.argmin(np.abs(np.log(grid) - np.log(best[n]))))
        ax.plot(best[n], a[k], "o", ms=12, mfc="none", mec=st["color"], mew=2)
    for x, text in rules:
        ax.axvline(x, color="0.3", ls=":", lw=1.2)
        ax.text(x * 1.08, 0.02, text, fontsize=10, color="0.25")
    lr_axis(ax)
    ax.set_ylabel("hold-out accuracy\n(last 3 epochs)")
    ax.set_ylim(0, 0.75)
    _legend(fig, handles)
    return fig


def spectral_figure(x, curves, limits, size=(7.5, 3.8), dpi: int = 100):
    """ρ(M) against ηλ: ``curves`` = [(label, y, colour, line style)], dotted lines at ``limits``."""
    fig, (ax,) = new_figure(1, size=size, dpi=dpi)
    handles = [ax.plot(x, y, color=c, ls=ls, lw=2, label=lab)[0] for lab, y, c, ls in curves]
    for xv, c in limits:
        ax.axvline(xv, color=c, ls=":", lw=1.2)
    ax.axhline(1.0, color="k", lw=1)
    ax.set_ylim(0, 2)
    ax.set_xlabel(r"$\eta\lambda$")
    ax.set_ylabel(r"spectral radius $\rho(M)$")
    _legend(fig, handles, ncol=3)
    return fig


def step_length_figure(step_const, step_torch, step_text, apart, k_switch, eta_before, eta_after,
                       size=(7.5, 3.6), dpi: int = 100):
    """Left: step lengths in both momentum conventions around an η switch. Right: their gap."""
    fig, (ax1, ax2) = new_figure(2, size=size, dpi=dpi)
    h = [ax1.plot(step_const, color="0.6", lw=1.2, label=f"no switch (η = {eta_before})")[0],
         ax1.plot(step_torch, color=PALETTE[0], lw=2, label=r"PyTorch: $v \leftarrow \beta v + \nabla L$")[0],
         ax1.plot(step_text, color=PALETTE[1], lw=2, ls="--",
                  label=r"textbook: $v \leftarrow \beta v - \eta\nabla L$")[0]]
    ax2.plot(apart, color=PALETTE[3], lw=2)
    for ax in (ax1, ax2):
        ax.axvline(k_switch, color="0.4", ls=":", lw=1.2)
        ax.set_yscale("log")
        ax.set_xlabel("step t")
    ax1.set_ylabel(r"step length $\|\theta_{t+1} - \theta_t\|$")
    ax2.set_ylabel(r"$\|\theta_{\mathrm{torch}} - \theta_{\mathrm{textbook}}\|$")
    ax1.set_title(f"η = {eta_before} until t = {k_switch}, then {eta_after}", fontsize=10)
    ax2.set_title("distance between the two runs", fontsize=10)
    _legend(fig, h, ncol=3)
    return fig


def effective_steps_figure(steps_of: Mapping, best: Mapping[str, float], size=(7.5, 7.2),
                           dpi: int = 100):
    """One panel per optimizer: quantile bands of |Δθᵢ|/|gᵢ| per step, the median, and η dashed."""
    names = list(steps_of)
    rows = (len(names) + 1) // 2
    fig, axes = new_figure(2, rows, size=size, dpi=dpi, sharex=True, sharey=True)
    for ax, name in zip(axes, names):
        r = steps_of[name].ratio
        t = np.arange(len(r))
        colour = style(name)["color"]
        ax.fill_between(t, r[:, 0], r[:, 4], color=colour, alpha=0.25, lw=0)
        ax.fill_between(t, r[:, 1], r[:, 3], color=colour, alpha=0.5, lw=0)
        ax.plot(t, r[:, 2], color=colour, lw=1.5)
        ax.axhline(best[name], color="k", ls="--", lw=1)
        ax.set_yscale("log")
        ax.set_title(f"{name}, η = {best[name]:.3g}", fontsize=10)
    for ax in axes[len(names):]:
        ax.axis("off")
    for ax in axes[len(names) - 2:len(names)]:
        ax.xaxis.set_tick_params(labelbottom=True)
        ax.set_xlabel("step t")
    for ax in axes[::2]:
        ax.set_ylabel(r"$|\Delta\theta_i| / |g_i|$")
    return fig
