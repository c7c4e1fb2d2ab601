"""The picture of an LR range test: smoothed (and raw) loss against η, each suggestion marked."""
from __future__ import annotations

import numpy as np

from lrcourse.viz.style import new_figure

__all__ = ["range_test_plot"]


def range_test_plot(result, ax=None):
    """Smoothed (and faint raw) loss against η on a log axis, each suggestion marked."""
    if ax is None:
        _, (ax,) = new_figure(size=(6, 3.5))
    finite = np.isfinite(result.smoothed)
    ax.plot(result.lrs[finite], result.losses[finite], color="0.7", lw=0.8, label="raw loss L")
    ax.plot(result.lrs[finite], result.smoothed[finite], lw=1.8, label=f"smoothed L̃ (β={result.smooth})")
    markers = {"valley": "o", "steep": "^", "minimum/10": "s"}
    for name, s in result.suggestions.items():
        if s is None:
            continue
        ax.plot([s.lr], [s.loss], marker=markers.get(name, "D"), ls="none", ms=8, zorder=3,
                label=f"{name} η={s.lr:.2g}: {s.rule}")
    if result.stop_index is not None:
        ax.axvline(result.lrs[result.stop_index], color="0.4", ls=":", lw=1,
                   label=f"stopped ({result.stop_reason}) η={result.lrs[result.stop_index]:.2g}")
    window = result.smoothed[result.skip_start:max(result.skip_start + 1, len(result.smoothed) - result.skip_end)]
    window = window[np.isfinite(window)]
    if window.size:
        lo, hi = float(window.min()), float(window.max())
        pad = 0.05 * (hi - lo) if hi > lo else 0.05 * abs(hi) + 1e-12
        ax.set_ylim(lo - pad, hi + 3 * pad)
    ax.set_xscale("log")
    ax.set_xlabel("learning rate η")
    ax.set_ylabel("loss")
    ax.legend(fontsize="small", loc="best")
    return ax
