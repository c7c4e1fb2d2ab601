"""The house style of every figure in the book, and the check that a figure keeps it.

* **Text**: ≥ 9 pt at the size the page shows the figure. The page shows a figure at most
  ``COLUMN_PX`` (750) CSS pixels wide, so a figure ``w`` pixels wide is scaled by
  ``min(1, 750 / w)``, and text of ``f`` points at ``dpi`` reads as
  ``f · dpi/72 · scale · 0.75`` CSS points. :func:`set_style` sets sizes that pass at dpi ≥ 80
  for figures up to 750 px wide; :func:`new_figure` never makes a figure wider than the column.
* **Series**: ``SERIES`` is 7 (colour, line style) pairs, all hues distinct and all line
  styles distinct, and is the default property cycle: 7 curves in one plot stay apart, also in
  grey or for a colour-blind reader. ``PALETTE`` (seaborn's colour-blind palette) names single
  colours by index.
* **Legends** sit outside the data (:func:`legend_outside`) or are replaced by labels at the
  line ends (:func:`label_lines`); labels are mathtext (``r"$\\theta_t$"``), never raw ``θ_t``.
* **Alt text**: a figure shown in a chapter carries its text alternative inside the PNG
  (``Description``), from :func:`set_alt` or, failing that, :func:`describe`; the book build
  copies it into the page's ``<img alt>`` (``lrcourse.sphinxext``).

:func:`figure_report` measures a drawn figure against the style (smallest text at display
size, panels, raw underscores, legends over data); the book build records a report of every
figure it shows in ``LRCOURSE_FIGURE_LOG`` and ``tests/test_figures.py`` reads them.
"""
from __future__ import annotations

import hashlib
import io
import json
import math
import os
import re

import matplotlib
import numpy as np
import seaborn as sns
from cycler import cycler
from matplotlib.colors import LogNorm
from matplotlib.figure import Figure
from matplotlib.legend import Legend
from matplotlib.lines import Line2D
from matplotlib.text import Text

__all__ = ["PALETTE", "SERIES", "LINESTYLES", "LR_LABEL", "COLUMN_PX", "MIN_TEXT_PT", "MAX_FRAME_PANELS",
           "set_style", "lr_axis", "new_figure", "draw_surface", "series", "legend_outside",
           "label_lines", "set_alt", "describe", "figure_report", "record_figure", "FIGURE_LOG_VAR"]

_STYLE_SET = False

PALETTE = sns.color_palette("colorblind")
LR_LABEL = "learning rate η"
COLUMN_PX = 750          # the widest a page shows a figure (CSS px)
MIN_TEXT_PT = 9.0        # the smallest text allowed at display size
MAX_FRAME_PANELS = 4     # panels in one slider frame
FIGURE_LOG_VAR = "LRCOURSE_FIGURE_LOG"

# Seven series: blue, orange, green, vermillion, purple, brown, black, each with its own dash.
LINESTYLES = ["-", "--", ":", "-.", (0, (10, 3)), (0, (6, 1.5, 1, 1.5, 1, 1.5)), (0, (2, 1.5, 2, 1.5, 8, 1.5))]
SERIES = [(tuple(PALETTE[i]), ls) for i, ls in zip((0, 1, 2, 3, 4, 5), LINESTYLES)] + [((0.0, 0.0, 0.0), LINESTYLES[6])]


def series(i: int) -> dict:
    """Keyword arguments (``color``, ``linestyle``) of the i-th of seven distinguishable series."""
    colour, ls = SERIES[i % len(SERIES)]
    return {"color": colour, "linestyle": ls}


def set_style(context: str = "notebook") -> None:
    """Apply the house style to matplotlib (call once at the top of a chapter).

    In IPython it also registers a PNG display for Figure objects, so a figure made by
    :func:`new_figure` (outside pyplot) shows when it is a cell's last expression, with its
    alt text inside the PNG.
    """
    global _STYLE_SET
    _STYLE_SET = True
    sns.set_theme(context=context, style="whitegrid", palette="colorblind")
    matplotlib.rcParams.update({
        "figure.dpi": 100, "savefig.dpi": 100, "figure.autolayout": False,
        "font.size": 12, "axes.titlesize": 12, "axes.labelsize": 12,
        "xtick.labelsize": 11, "ytick.labelsize": 11, "legend.fontsize": 11,
        "legend.title_fontsize": 11, "figure.titlesize": 13,
        "axes.prop_cycle": cycler(color=[c for c, _ in SERIES]) + cycler(linestyle=[ls for _, ls in SERIES]),
    })
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
        shell.display_formatter.formatters["image/png"].for_type(Figure, figure_png)


def figure_png(fig: Figure) -> bytes:
    """The PNG a chapter shows for ``fig``: alt text inside (``Description``), report recorded."""
    alt = getattr(fig, "_lrcourse_alt", None)
    if not alt:
        try:
            alt = describe(fig)
        except Exception:  # never let the description break a chapter's figure
            alt = "A figure (no description could be made from its labels)"
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=fig.dpi, bbox_inches="tight", facecolor="white",
                metadata={"Description": alt})
    data = buffer.getvalue()
    width = int.from_bytes(data[16:20], "big")  # the IHDR width
    record_figure(fig, kind="figure", ident=hashlib.sha256(data).hexdigest(), width_px=width, alt=alt)
    return data


def set_alt(fig: Figure, text: str) -> Figure:
    """Give ``fig`` its text alternative (what it shows, with the numbers that matter)."""
    if not isinstance(text, str) or not text.strip():
        raise ValueError(f"Invalid alt text: {text!r} (need a non-empty sentence)")
    fig._lrcourse_alt = " ".join(text.split())
    return fig


_TEX = {r"\eta": "η", r"\theta": "θ", r"\lambda": "λ", r"\alpha": "α", r"\beta": "β", r"\gamma": "γ",
        r"\sigma": "σ", r"\mu": "μ", r"\star": "*", r"\ast": "*", r"\min": "min", r"\max": "max",
        r"\nabla": "∇", r"\epsilon": "ε", r"\rho": "ρ", r"\tau": "τ", r"\infty": "∞", r"\sum": "Σ",
        r"\cdot": "·", r"\times": "×", r"\approx": "≈", r"\leq": "≤", r"\geq": "≥", r"\Delta": "Δ"}


def _plain(text: str) -> str:
    """Mathtext as plain reading text: ``$\\eta^\\star$`` → ``η*``."""
    def math(m):
        s = m.group(1)
        for tex, char in sorted(_TEX.items(), key=lambda kv: -len(kv[0])):
            s = s.replace(tex, char)
        s = re.sub(r"\\[a-zA-Z]+", "", s)
        return s.replace("{", "").replace("}", "").replace("^", "")
    return " ".join(re.sub(r"\$(.*?)\$", math, text).split())


def _panels(fig: Figure) -> list:
    """The visible data axes (no colorbars); twins sharing a position count once."""
    seen, panels = set(), []
    for ax in fig.axes:
        if not ax.get_visible() or not ax.axison or hasattr(ax, "_colorbar"):
            continue
        key = tuple(np.round(ax.get_position().bounds, 3))
        if key in seen:
            continue
        seen.add(key)
        panels.append(ax)
    return panels


def _legend_labels(ax) -> list[str]:
    legend = ax.get_legend()
    if legend is not None:
        return [t.get_text() for t in legend.get_texts() if t.get_text()]
    return [l.get_label() for l in ax.get_lines() if l.get_label() and not l.get_label().startswith("_")]


def describe(fig: Figure) -> str:
    """A text alternative made from the figure's own words: its panels, axes and series."""
    title = fig._suptitle.get_text() if getattr(fig, "_suptitle", None) else ""
    panels = _panels(fig)
    parts = []
    for ax in panels:
        what = _plain(ax.get_title())
        y, x = _plain(ax.get_ylabel()), _plain(ax.get_xlabel())
        axes = f"{y} against {x}" if x and y else (y or x)
        labels = [_plain(l) for l in _legend_labels(ax)]
        piece = ", ".join(p for p in (what, axes) if p)
        if labels:
            shown = ", ".join(labels[:8]) + (" …" if len(labels) > 8 else "")
            piece += f" ({shown})"
        if piece:
            parts.append(piece)
    head = f"{_plain(title)}. " if title else ""
    if not parts:
        return head + "A figure without labels"
    if len(parts) == 1:
        return head + "Plot of " + parts[0]
    return head + f"{len(parts)} panels: " + "; ".join(parts)


def legend_outside(ax, **kwargs) -> Legend:
    """The axes' legend to the right of its data (constrained layout makes room for it)."""
    kwargs = {"loc": "upper left", "bbox_to_anchor": (1.02, 1.0), "borderaxespad": 0.0, "frameon": False, **kwargs}
    return ax.legend(**kwargs)


def label_lines(ax, dx: float = 4.0) -> list[Text]:
    """Direct labels: each labelled line's name at its last finite point, in its colour."""
    texts = []
    for line in ax.get_lines():
        label = line.get_label()
        if not label or label.startswith("_"):
            continue
        x, y = (np.asarray(v, dtype=float) for v in line.get_data())
        ok = np.isfinite(x) & np.isfinite(y)
        if not ok.any():
            continue
        i = np.flatnonzero(ok)[-1]
        texts.append(ax.annotate(label, (x[i], y[i]), xytext=(dx, 0), textcoords="offset points",
                                 va="center", ha="left", color=line.get_color(), fontsize=11,
                                 annotation_clip=False))
    return texts


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
    The house style is set once, on the first figure, not reset for each one. A figure is
    never wider than the page's column (``COLUMN_PX``): a wider size gets a lower dpi."""
    if not _STYLE_SET:
        set_style()
    dpi = min(float(dpi), COLUMN_PX / float(size[0]))
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
    ax.set_xlabel(r"$\theta_1$")
    ax.set_ylabel(r"$\theta_2$")


# ---- checking a figure against the style --------------------------------------------------------

def _drawn_texts(fig: Figure) -> list[Text]:
    """Every text the figure draws: titles, labels, legends, annotations and the tick labels
    of the ticks actually drawn (not the spare ones outside the view)."""
    tick_texts = set()
    drawn = []
    for ax in fig.axes:
        if not ax.get_visible():
            continue
        for axis in ax._axis_map.values():
            for tick in axis.get_major_ticks() + axis.get_minor_ticks():
                tick_texts.update({id(tick.label1), id(tick.label2)})
            if not axis.get_visible():
                continue
            for tick in axis._update_ticks():
                drawn += [t for t in (tick.label1, tick.label2) if t.get_visible()]
    for t in fig.findobj(Text):
        if id(t) not in tick_texts and t.get_visible():
            drawn.append(t)
    out, seen = [], set()
    for t in drawn:
        parent = t.axes
        if parent is not None and not parent.get_visible():
            continue
        if t.get_text().strip() and id(t) not in seen:
            seen.add(id(t))
            out.append(t)
    return out


def _raw_underscore(text: str) -> bool:
    """An underscore outside $…$ (mathtext) shows as a literal "_"."""
    outside = re.sub(r"(?<!\\)\$.*?(?<!\\)\$", "", text)
    return "_" in outside


def _points_of(ax) -> np.ndarray:
    """Display coordinates of the data drawn in ``ax``: line vertices densified to ~3 px, and
    scatter points."""
    chunks = []
    for line in ax.get_lines():
        if not line.get_visible() or line.get_label() == "_legend_handle":
            continue
        xy = np.column_stack([np.asarray(v, dtype=float) for v in line.get_data()]) if len(line.get_xdata()) else np.empty((0, 2))
        if xy.size == 0:
            continue
        with np.errstate(all="ignore"):
            pts = line.get_transform().transform(xy)
        pts = pts[np.all(np.isfinite(pts), axis=1)]
        if len(pts) > 1 and line.get_linestyle() not in ("None", "", " ", "none"):
            seg = np.diff(pts, axis=0)
            n = np.clip(np.ceil(np.hypot(seg[:, 0], seg[:, 1]) / 3.0).astype(int), 1, 200)
            if n.sum() > 40_000:
                n = np.maximum(1, (n * 40_000 // n.sum()))
            fill = [pts[i] + np.outer(np.arange(k) / k, seg[i]) for i, k in enumerate(n)]
            pts = np.vstack(fill + [pts[-1:]])
        chunks.append(pts)
    for coll in ax.collections:
        offsets = getattr(coll, "get_offsets", lambda: np.empty((0, 2)))()
        if len(offsets) and coll.get_visible():
            with np.errstate(all="ignore"):
                chunks.append(coll.get_offset_transform().transform(offsets))
    return np.vstack(chunks) if chunks else np.empty((0, 2))


def _legend_over_data(fig: Figure, renderer) -> list[str]:
    """Legends drawn inside an axes with data points or line segments under them."""
    bad = []
    for ax in fig.axes:
        legend = ax.get_legend()
        if legend is None or not legend.get_visible() or not ax.get_visible():
            continue
        box = legend.get_window_extent(renderer)
        axbox = ax.get_window_extent(renderer)
        inside = box.intersection(box, axbox)
        if inside is None or inside.width * inside.height < 0.5 * box.width * box.height:
            continue  # outside the data area
        pts = _points_of(ax)
        pad = 2.0
        hit = ((pts[:, 0] > box.x0 + pad) & (pts[:, 0] < box.x1 - pad)
               & (pts[:, 1] > box.y0 + pad) & (pts[:, 1] < box.y1 - pad))
        if hit.any():
            labels = [t.get_text() for t in legend.get_texts()]
            bad.append(f"legend {labels[:3]}{'…' if len(labels) > 3 else ''} covers {int(hit.sum())} data points")
    return bad


def figure_report(fig: Figure, width_px: float | None = None, column_px: float = COLUMN_PX) -> dict:
    """Measure a drawn figure against the house style (see the module's docstring).

    ``width_px`` is the width of the image the page shows (default: the canvas width)."""
    canvas = fig.canvas
    renderer = canvas.get_renderer() if hasattr(canvas, "get_renderer") else fig._get_renderer()
    width_px = float(width_px or fig.get_size_inches()[0] * fig.dpi)
    scale = min(1.0, column_px / width_px)
    small, smallest = [], math.inf
    for t in _drawn_texts(fig):
        shown = t.get_fontsize() * fig.dpi / 72.0 * scale * 0.75
        smallest = min(smallest, shown)
        if shown < MIN_TEXT_PT - 1e-6:
            small.append({"text": _plain(t.get_text())[:60], "pt": round(shown, 2)})
    underscores = sorted({t.get_text()[:60] for t in _drawn_texts(fig) if _raw_underscore(t.get_text())})
    return {
        "width_px": round(width_px), "dpi": round(float(fig.dpi), 2), "scale": round(scale, 3),
        "column_px": column_px, "smallest_pt": None if smallest is math.inf else round(smallest, 2),
        "small_texts": small[:12], "n_small_texts": len(small), "panels": len(_panels(fig)),
        "raw_underscores": underscores, "legends_over_data": _legend_over_data(fig, renderer),
    }


def record_figure(fig: Figure, kind: str, ident: str, width_px: float | None = None,
                  column_px: float = COLUMN_PX, **extra) -> dict | None:
    """Append the figure's report to the file named by ``LRCOURSE_FIGURE_LOG`` (the book build
    sets it); do nothing when it is unset. ``ident`` names the image on the built site."""
    path = os.environ.get(FIGURE_LOG_VAR)
    if not path:
        return None
    try:
        measured = figure_report(fig, width_px, column_px)
    except Exception as exc:  # a figure the check cannot read must not break the chapter
        measured = {"error": f"{type(exc).__name__}: {exc}"}
    report = {"kind": kind, "ident": ident, **measured, **extra}
    with open(path, "a", encoding="utf-8") as f:
        f.write(json.dumps(report, default=str) + "\n")
    return report
