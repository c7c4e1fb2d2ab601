"""A toy-surface trajectory in words: the sentence a slider frame's alt text (and its label box)
says about one run of gradient descent.

    describe(tr, surface.min_value)  ->  "reaches L − L* ≤ 1e-10 at step 12"
    alt_text("1-D quadratic", run, surface.min_value)(0.1)
        ->  "η = 0.1: gradient descent on the 1-D quadratic reaches L − L* ≤ 1e-10 at step 12"

Computation stays in ``lrcourse.toy``; this module only reads a finished
:class:`lrcourse.toy.gd.Trajectory` and says what it did.
"""
from __future__ import annotations

from typing import Callable

import numpy as np

from lrcourse.viz.tables import cell

__all__ = ["describe", "alt_text"]


def describe(tr, min_value: float = 0.0, tol: float = 1e-10) -> str:
    """What one run did: diverged (and when), reached ``tol`` (and when), or where it stopped."""
    if tr.diverged:
        return f"diverges (leaves the box at step {tr.diverged_at})"
    hit = tr.steps_to(tol, min_value)
    if hit is not None:
        return f"reaches L − L* ≤ {tol:.0e} at step {hit}"
    steps = len(tr.losses) - 1
    gap = float(tr.losses[-1] - min_value)
    tail = np.diff(tr.losses[-min(50, steps) - 1:])
    if np.all(tail < 0):
        trend = "still falling"
    elif np.all(np.abs(tail) <= 1e-12 * max(abs(gap), 1e-300)):
        trend = "not getting closer"
    else:
        trend = "not settling"
    return f"ends at L − L* = {cell(gap)} after {steps} steps ({trend})"


def alt_text(what: str, run: Callable[[float], object], min_value: float = 0.0,
             tol: float = 1e-10) -> Callable[[float], str]:
    """``alt(η)`` for a slider over ``run(η)`` (a Trajectory): "η = …: gradient descent on
    <what> <describe(...)>"."""

    def alt(eta: float) -> str:
        return f"η = {eta:.3g}: gradient descent on {what} {describe(run(eta), min_value, tol)}"

    return alt
