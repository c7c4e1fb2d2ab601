"""The "fastest learning rate" procedure: find the fastest η in one epoch, then step it down.

**Step 1 — the fastest η.** From the same initial θ_0 and the same batch order, train one
epoch of plain SGD (θ ← θ − η∇L_B(θ)) for every η of a log grid and measure the summed
squared error of the outputs on the *training* set after that epoch,

    SSE(η) = Σ_{i ∈ train} ‖softmax(f(x_i; θ_1(η))) − onehot(y_i)‖²,

(0 for perfect confident answers, 2n at worst; a run that diverged scores +∞). The η with
the lowest SSE made the most progress in one epoch: the *fastest* η. Every larger η is
discarded.

**Step 2 — step down.** Train with η_0 = the fastest η and η_k = η_0 / factor^k, k = 1, 2, …,
each with hold-out early stopping (a run stops once ``patience`` epochs pass without a new
best hold-out accuracy, and scores its best hold-out accuracy), and stop stepping as soon
as a step scores no better than the one before (by more than ``min_delta``). The chosen η
is the last step that improved.

Step 2's candidates are trained together as one batched sweep (``lrcourse.training.sweep``) and each
curve is read only up to its early-stopping epoch: stopping a run changes nothing before the
stop, so this gives what running them one by one would, only faster. Steps after the one
where the walk stops are trained too (they are cheap in a batch) but take no part in the
choice; the result says which steps the procedure used.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import torch
import torch.nn.functional as F

from lrcourse import _checks
from lrcourse.choosing.early_stopping import patience_stop
from lrcourse.training.sweep import SweepResult, sweep_lr
from lrcourse.training.models import mlp
from lrcourse.training.loop import train

__all__ = ["summed_squared_error", "one_epoch_sse", "EarlyStop", "early_stop", "Step",
           "FastestLR", "fastest_lr"]


def summed_squared_error(logits: torch.Tensor, y: torch.Tensor) -> float:
    """SSE = Σ_i ‖softmax(logits_i) − onehot(y_i)‖² over the n rows of ``logits`` (n, C);
    +∞ when any logit is NaN/inf."""
    logits = logits.detach()
    if not bool(torch.isfinite(logits).all()):
        return math.inf
    p = torch.softmax(logits.double(), -1)
    return float(((p - F.one_hot(y, logits.shape[-1]).double()) ** 2).sum())


def one_epoch_sse(etas, data, *, seed: int = 0, batch_size: int = 50, sizes=None) -> np.ndarray:
    """Step 1: SSE on the training set after one epoch of SGD at each η in ``etas``.

    Every run starts from ``mlp(sizes, seed)`` and sees the batch order of ``seed`` (so all
    runs share θ_0 and batches); ``sizes`` defaults to (n_features, 50, n_classes).
    Returns one SSE per η (+∞ for a run whose loss or outputs became NaN/inf).
    """
    grid = _checks.etas(etas)
    batch_size = _checks.positive_int(batch_size, "batch_size")
    sizes = _checks.sizes((data.n_features, 50, data.n_classes) if sizes is None else sizes)
    out = np.empty(len(grid))
    for k, eta in enumerate(grid):
        model = mlp(sizes, seed, data.dtype)
        opt = torch.optim.SGD(model.parameters(), lr=float(eta))
        hist = train(model, opt, data, epochs=1, batch_size=batch_size, seed=seed, progress=False)
        if hist.diverged_at is not None:
            out[k] = math.inf
            continue
        with torch.no_grad():
            model.eval()
            out[k] = summed_squared_error(model(data.X_train), data.y_train)
    return out


@dataclass(frozen=True)
class EarlyStop:
    """Hold-out early stopping read off one accuracy curve (epochs are 0-based)."""

    best_epoch: int  # epoch of the best hold-out accuracy up to the stop
    stop_epoch: int  # last epoch trained
    best: float  # the best hold-out accuracy (the run's score; NaN if none was finite)
    stopped_early: bool  # True if patience ran out before the last epoch


def early_stop(val_acc, patience: int) -> EarlyStop:
    """Train epoch by epoch; stop after ``patience`` epochs with no new best (a strict gain).

    The package's one patience rule (:func:`lrcourse.choosing.early_stopping.patience_stop`)
    on a hold-out accuracy curve: a NaN entry means the run diverged there, and it stops at
    the epoch before. Where no epoch is finite, ``best_epoch`` and ``stop_epoch`` are −1 and
    ``best`` is NaN."""
    patience = _checks.positive_int(patience, "patience")
    acc = np.asarray(val_acc, dtype=np.float64)
    if acc.ndim != 1 or len(acc) == 0:
        raise ValueError(f"Invalid val_acc: shape {acc.shape} (need a non-empty 1-D curve)")
    best, stop, stopped = (int(x) for x in patience_stop(acc, patience, mode="max"))
    return EarlyStop(best, stop, float(acc[best]) if best >= 0 else math.nan, bool(stopped))


@dataclass(frozen=True)
class Step:
    """One η of step 2: its early-stopped run, and whether the procedure looked at it."""

    k: int
    eta: float
    best_epoch: int
    stop_epoch: int
    best_acc: float
    used: bool  # part of the walk (False: trained in the batch, but after the walk stopped)
    improved: bool | None  # better than step k − 1 (None for k = 0 and unused steps)


@dataclass
class FastestLR:
    """Everything the procedure did: the one-epoch grid, the steps, and the chosen η."""

    grid: np.ndarray  # step 1's learning rates
    sse: np.ndarray  # SSE after one epoch, per η of the grid
    fastest: float  # argmin of sse
    factor: float
    steps: list[Step]
    chosen: float  # the last step that improved
    exhausted: bool  # every step improved: the walk ran out of steps (try more)
    sweep: SweepResult  # step 2's batched run of all candidates

    def grid_table(self):
        """Step 1 as a DataFrame: eta, sse, kept (η ≤ the fastest)."""
        import pandas as pd

        return pd.DataFrame({"eta": self.grid, "sse": self.sse, "kept": self.grid <= self.fastest})

    def table(self):
        """Step 2 as a DataFrame, one row per candidate η."""
        import pandas as pd

        return pd.DataFrame([s.__dict__ for s in self.steps])


def fastest_lr(
    data,
    etas,
    *,
    factor: float = 3.0,
    max_steps: int = 8,
    epochs: int = 200,
    patience: int = 20,
    min_delta: float = 0.0,
    batch_size: int = 50,
    seed: int = 0,
    sizes=None,
    progress: bool | str = False,
) -> FastestLR:
    """Run both steps of the procedure (module docstring) on ``data`` with one seed.

    ``etas``: step 1's log grid. Step 2 tries η_0 / factor^k for k = 0 … max_steps − 1 with
    at most ``epochs`` epochs each and early stopping after ``patience`` epochs.
    """
    grid = _checks.etas(etas)
    if _checks.positive_float(factor, "factor") <= 1:
        raise ValueError(f"Invalid factor: {factor!r} (must be > 1)")
    if _checks.positive_int(max_steps, "max_steps") < 2:
        raise ValueError(f"Invalid max_steps: {max_steps!r} (must be an integer ≥ 2)")
    epochs = _checks.positive_int(epochs, "epochs")
    batch_size = _checks.positive_int(batch_size, "batch_size")
    patience = _checks.positive_int(patience, "patience")
    min_delta = _checks.lr(min_delta, "min_delta")  # a finite number ≥ 0

    sse = one_epoch_sse(grid, data, seed=seed, batch_size=batch_size, sizes=sizes)
    if not np.isfinite(sse).any():
        raise ValueError("every learning rate of the grid diverged within one epoch: extend the grid downwards")
    fastest = float(grid[int(np.argmin(sse))])
    candidates = fastest / float(factor) ** np.arange(max_steps)
    run = sweep_lr(candidates, data, sizes=sizes, epochs=epochs, batch_size=batch_size, seed=seed,
                   dtype=data.dtype, progress=progress)

    stops = [early_stop(run.val_acc[k], patience) for k in range(max_steps)]
    chosen_k, walking, steps = 0, True, []
    for k, (eta, st) in enumerate(zip(candidates, stops)):
        improved = None
        used = walking
        if walking and k > 0:
            previous = stops[k - 1].best
            improved = bool(st.best > previous + min_delta) if math.isfinite(previous) else math.isfinite(st.best)
            if improved:
                chosen_k = k
            else:
                walking = False  # this step was looked at; the walk ends here
        steps.append(Step(k, float(eta), st.best_epoch, st.stop_epoch, st.best, used, improved))
    exhausted = walking
    return FastestLR(grid, sse, fastest, float(factor), steps, float(candidates[chosen_k]), exhausted, run)
