"""Early stopping from the hold-out set, with the test split kept for reporting only.

The three splits have three jobs: the training split moves θ, the hold-out (val) split
chooses, the test split only reports. A run that recorded its hold-out loss L_val(e) after
every epoch e = 0 … T−1 is stopped at

    e* = argmin_e L_val(e)      (the first minimum; the run ends before its first NaN/inf epoch)

or, with a patience p (Prechelt 1998), at the best epoch seen when p epochs in a row brought
no new minimum — what a run that really stops would have kept. Its reported score is the
*test* accuracy at e*. This is the package's one patience rule (:func:`patience_stop`);
``lrcourse.choosing.fastest.early_stop`` reads hold-out accuracy with it.

The curves come from :func:`lrcourse.training.sweep.sweep_splits`, which trains the (seed, η)
members exactly as ``sweep_lr`` does and scores θ on all three splits after every epoch
(re-exported here). Nothing here chooses anything from the test curves.

A lower η needs more steps to get as far: after t steps SGD has moved θ by at most η·t times
the largest gradient it met, so runs are also compared at equal "progress" η·t
(:func:`epoch_at_progress`).
"""
from __future__ import annotations

import math

import numpy as np

from lrcourse import _checks
# the three-split batched run lives with sweep_lr, on the same driver; re-exported for readers
# of chapter 8, who import it from here
from lrcourse.training.sweep import SplitCurves, sweep_splits

__all__ = ["patience_stop", "best_epoch", "at_epoch", "epoch_at_progress"]


# ---------------------------------------------------------------------------------------------
# choosing the epoch (hold-out only) and reading a curve there


def patience_stop(curve, patience: int | None = None, *, mode: str = "min"):
    """The one early-stopping rule: read each run's curve (last axis: epochs) epoch by epoch.

    * A non-finite value (NaN/±inf: the run diverged) ends the run before that epoch.
    * A value strictly better than every earlier one (lower for ``mode="min"``, higher for
      ``"max"``) is the new best; an equal value is no gain.
    * With ``patience`` p, the run stops at the first epoch t with t − best ≥ p (p epochs in a
      row without a new best); without, it runs to the end.

    Returns three arrays of the leading shape: the best epoch (−1 where the run has no finite
    value), the last epoch read (the stop; −1 if epoch 0 is already non-finite) and whether
    patience ran out before the end.
    """
    v = np.asarray(curve, dtype=np.float64)
    if v.ndim == 0 or v.shape[-1] == 0:
        raise ValueError(f"Invalid curve: shape {v.shape} (need a non-empty last (epoch) axis)")
    if patience is not None:
        patience = _checks.positive_int(patience, "patience")
    if mode not in ("min", "max"):
        raise ValueError(f"Invalid mode: {mode!r} ('min' or 'max')")
    rows = (v if mode == "min" else -v).reshape(-1, v.shape[-1])
    T = rows.shape[1]
    finite = np.isfinite(rows)
    ends = np.where(finite.all(1), T, (~finite).argmax(1))  # epochs the run really had
    stop, stopped = ends - 1, np.zeros(len(rows), dtype=bool)
    if patience is None:
        masked = np.where(np.arange(T) < ends[:, None], rows, np.inf)
        best = np.where(ends > 0, masked.argmin(1), -1)  # the first minimum
    else:
        best = np.full(len(rows), -1)
        for r, curve_r in enumerate(rows):
            low = math.inf
            for t in range(ends[r]):
                if curve_r[t] < low:
                    low, best[r] = curve_r[t], t
                elif t - best[r] >= patience:
                    stop[r], stopped[r] = t, True
                    break
    lead = v.shape[:-1]
    return best.reshape(lead), stop.reshape(lead), stopped.reshape(lead)


def best_epoch(val_loss, patience: int | None = None) -> np.ndarray:
    """The early-stopping epoch of each run: e* = argmin_e L_val(e) over the last axis, by
    :func:`patience_stop` (a NaN ends the run; with ``patience``, so do p epochs in a row
    without a new, strictly lower, minimum). An int array of the leading shape; −1 where a
    run has no finite hold-out loss at all."""
    return patience_stop(val_loss, patience)[0]


def at_epoch(curve, epochs) -> np.ndarray:
    """``curve[..., epochs]`` per run: curve (..., T), epochs (...) ints; NaN where the epoch
    is −1 (no epoch chosen)."""
    c = np.asarray(curve, dtype=np.float64)
    e = np.asarray(epochs)
    if c.shape[:-1] != e.shape:
        raise ValueError(f"Shapes do not match: curve {c.shape} and epochs {e.shape}")
    if e.size and (e.min() < -1 or e.max() >= c.shape[-1]):
        raise ValueError(f"Epochs must be in [-1, {c.shape[-1] - 1}]")
    picked = np.take_along_axis(c, np.maximum(e, 0)[..., None], -1)[..., 0]
    return np.where(e >= 0, picked, np.nan)


def epoch_at_progress(etas, steps_per_epoch: int, progress: float, epochs: int) -> np.ndarray:
    """For each η, the first epoch e (0-based) at whose end η·t ≥ ``progress``, with
    t = (e + 1)·N steps taken: e = ⌈progress / (η·N)⌉ − 1; −1 where that is beyond ``epochs``."""
    eta = _checks.etas(np.atleast_1d(etas))
    steps_per_epoch = _checks.positive_int(steps_per_epoch, "steps_per_epoch")
    epochs = _checks.positive_int(epochs, "epochs")
    progress = _checks.positive_float(progress, "progress")
    if np.any(eta <= 0):
        raise ValueError("Invalid learning rate: 0.0 (progress η·t needs η > 0)")
    need = progress / (eta * steps_per_epoch)  # epochs of N steps needed
    e = np.ceil(need * (1 - 1e-12)).astype(np.int64) - 1  # (1 − 1e-12): rounding, not a step more
    e = np.maximum(e, 0)
    return np.where(e < epochs, e, -1)
