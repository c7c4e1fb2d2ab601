"""The computation graph of a scalar autograd value, drawn as boxes and arrows.

``draw_graph(root)`` shows every node of ``root.graph()`` (an :class:`lrcourse.scratch.autograd.Value`)
as a box with its label, operation, value (``data``) and gradient ∂L/∂node (``grad``), with an
arrow from each input to the node that uses it. Each node sits one column left of its first
user (the root rightmost) and, within a column, near the rows of its users, so the main chain
runs along the top. Leaves are blue, computed nodes orange. Plain matplotlib; nothing computed.
"""
from __future__ import annotations

import numpy as np
from matplotlib.patches import FancyBboxPatch

from lrcourse.viz.style import PALETTE, new_figure

__all__ = ["draw_graph"]


def _layout(root):
    nodes, edges = root.graph()
    users = {id(v): [c for p, c in edges if p is v] for v in nodes}
    col, row = {id(root): 0}, {id(root): 0}
    for v in reversed(nodes[:-1]):
        col[id(v)] = min(col[id(c)] for c in users[id(v)]) - 1

    def place(v):
        u = users[id(v)]
        return (np.mean([row[id(c)] for c in u]), u[0].parents.index(v))

    for c in sorted(set(col.values()), reverse=True)[1:]:
        last = -1
        for v in sorted((v for v in nodes if col[id(v)] == c), key=place):
            last = row[id(v)] = max(last + 1, round(place(v)[0]))
    return nodes, edges, col, row


def draw_graph(root, size=(7.5, 3.2), dpi: int = 100):
    """A Figure of ``root``'s graph: boxes (label [op], data, grad), arrows input → user."""
    nodes, edges, col, row = _layout(root)
    shift = min(col.values())
    fig, (ax,) = new_figure(1, size=size, dpi=dpi)
    ax.set_xlim(-0.5, -shift + 0.5)
    ax.set_ylim(max(row.values()) + 0.5, -0.5)
    ax.axis("off")
    bw, bh = 0.86, 0.8
    for v in nodes:
        cx, cy = col[id(v)] - shift, row[id(v)]
        colour = PALETTE[0] if not v.parents else PALETTE[1]
        ax.add_patch(FancyBboxPatch((cx - bw / 2, cy - bh / 2), bw, bh, boxstyle="round,pad=0.02",
                                    fc=(*colour, 0.15), ec="0.35", lw=1))
        head = v.label if not v.parents else f"{v.label} [{v.op}]"
        ax.text(cx, cy - 0.2, head, ha="center", va="center", fontsize=10, weight="bold")
        ax.text(cx, cy + 0.13, f"data {v.data:+.3f}\ngrad {v.grad:+.3f}".replace("-", "−"),
                ha="center", va="center", fontsize=9, family="monospace")
    for p, c in edges:
        x0, y0 = col[id(p)] - shift, row[id(p)]
        x1, y1 = col[id(c)] - shift, row[id(c)]
        ax.annotate("", xy=(x1 - bw / 2 - 0.02, y1), xytext=(x0 + bw / 2 + 0.02, y0),
                    arrowprops=dict(arrowstyle="->", color="0.3", lw=1, shrinkA=0, shrinkB=0))
    return fig
