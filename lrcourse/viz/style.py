"""The house style of every figure in the book: one palette (colour-blind safe), one theme set
once, log-scaled learning-rate axes, figures made outside pyplot, and the contour picture of a
toy surface that several frames share."""
from __future__ import annotations

import matplotlib
import numpy as np
import seaborn as sns
from matplotlib.colors import LogNorm
from matplotlib.figure import Figure

__all__ = ["PALETTE", "LR_LABEL", "set_style", "lr_axis", "new_figure", "draw_surface"]

_STYLE_SET = False

PALETTE = sns.color_palette("colorblind")
LR_LABEL = "learning rate η"


def set_style(context: str = "notebook") -> None:
    """Apply the house style to matplotlib (call once at the top of a chapter).

    In IPython it also registers a PNG display for Figure objects, so a figure made by
    :func:`new_figure` (outside pyplot) shows when it is a cell's last expression.
    """
    global _STYLE_SET
    _STYLE_SET = True
    sns.set_theme(context=context, style="whitegrid", palette="colorblind")
    matplotlib.rcParams.update(
        {"figure.dpi": 100, "savefig.dpi": 100, "axes.titlesize": "medium", "figure.autolayout": False}
    )
    _display_figures_as_png()


def _display_figures_as_png() -> None:
    try:
        from IPython import get_ipython
        from IPython.core.pylabtools import select_figure_formats
    except ImportError:  # plain Python: nothing to register
        return
    shell = get_ipython()
    if shell is not None:
        select_figure_formats(shell, {"png"})


def lr_axis(ax, which: str = "x", label: str = LR_LABEL) -> None:
    """Log-scale an axis that carries learning rates, and label it."""
    if which == "x":
        ax.set_xscale("log")
        ax.set_xlabel(label)
    else:
        ax.set_yscale("log")
        ax.set_ylabel(label)


def new_figure(ncols: int = 1, nrows: int = 1, size=(7.0, 3.0), dpi: int = 80, **kwargs):
    """A figure that is not registered with pyplot (it will not auto-display or leak).
    The house style is set once, on the first figure, not reset for each one."""
    if not _STYLE_SET:
        set_style()
    fig = Figure(figsize=size, dpi=dpi, layout="constrained")
    axes = fig.subplots(nrows, ncols, squeeze=False, **kwargs)
    return fig, axes.ravel()


def draw_surface(ax, surface, levels: int = 25, resolution: int = 160) -> None:
    """Filled contours of L over the surface's window (log-spaced levels of L − L*), minima as ×."""
    (x0, x1), (y0, y1) = surface.window
    X, Y = np.meshgrid(np.linspace(x0, x1, resolution), np.linspace(y0, y1, resolution))
    Z = surface.value(np.stack([X, Y], axis=-1))
    gap = Z - Z.min() + 1e-3 * (Z.max() - Z.min() + 1e-12)
    ax.contourf(X, Y, gap, levels=np.geomspace(gap.min(), gap.max(), levels), norm=LogNorm(), cmap="viridis", alpha=0.85)
    ax.contour(X, Y, gap, levels=np.geomspace(gap.min(), gap.max(), levels), norm=LogNorm(), colors="white", linewidths=0.3, alpha=0.6)
    for m in surface.minima:
        ax.plot(m[0], m[1], marker="x", color="white", markersize=8, mew=2)
    ax.set_xlim(x0, x1)
    ax.set_ylim(y0, y1)
    ax.set_xlabel("θ₁")
    ax.set_ylabel("θ₂")
