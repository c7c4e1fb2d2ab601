"""Searching for η: the objective every search shares, grid and random search, (Optuna studies: lrcourse.search.studies).

The objective f(η) of a :class:`Task` trains its MLP from a seeded initialisation with SGD,
momentum β (torch's convention), for N epochs and returns the hold-out loss:

    v ← β·v + ∇L_B(θ),   θ ← θ − η·v        (every mini-batch B)
    f(η) = L_val(θ_N)                         (hold-out cross-entropy after N epochs)

A run whose loss becomes NaN/inf has diverged: f(η) = +inf, a result like any other.
:class:`Run` is one such training run advanced an epoch at a time (Optuna reports each epoch
to its pruner, PBT changes η between epochs); :func:`evaluate` computes f for many η at once
with the batched sweep (``lrcourse.training.sweep``), which sees the same initialisation and batch
order as a :class:`Run` with the same seed. Optuna is imported only by the Optuna helpers.
"""
from __future__ import annotations

import copy
import functools
import math
from dataclasses import dataclass

import numpy as np
import torch
import torch.nn.functional as F

from lrcourse import _checks
from lrcourse.data import load
from lrcourse.training.sweep import sweep_lr
from lrcourse.training.models import mlp
from lrcourse._runtime import num_threads

__all__ = ["Task", "Run", "evaluate", "grid_etas", "random_etas", "best_so_far",
           "best_within"]


@functools.lru_cache(maxsize=8)
def _dataset(name: str, data_seed: int, dtype: torch.dtype):
    return load(name, data_seed, dtype=dtype)


@dataclass(frozen=True)
class Task:
    """What is being tuned: an MLP (n_features → hidden ReLU → n_classes) trained for
    ``epochs`` epochs of SGD with momentum β on a dataset of ``lrcourse.data``; η is searched
    log-uniformly in [lo, hi]."""

    dataset: str = "digits"
    hidden: int = 32
    epochs: int = 10
    batch_size: int = 64
    momentum: float = 0.9
    lo: float = 1e-4
    hi: float = 1.0
    data_seed: int = 0
    dtype: torch.dtype = torch.float32

    def __post_init__(self):
        if not 0 < _checks.lr(self.lo) < _checks.lr(self.hi):
            raise ValueError(f"Invalid search range: need 0 < lo < hi, got lo={self.lo}, hi={self.hi}")
        if not 0 <= self.momentum < 1:
            raise ValueError(f"Invalid momentum value: {self.momentum}")

    def data(self):
        return _dataset(self.dataset, self.data_seed, self.dtype)

    @property
    def sizes(self) -> tuple[int, int, int]:
        d = self.data()
        return (d.n_features, self.hidden, d.n_classes)


class Run:
    """One model of ``task`` trained from ``mlp(sizes, seed)`` with SGD at learning rate η,
    one epoch per :meth:`epoch` call; η may change between calls. Batch orders come from a
    ``torch.Generator`` seeded with ``seed``, as in ``train.train`` and ``sweep.sweep_lr``."""

    def __init__(self, task: Task, eta: float, seed: int = 0):
        self.task = task
        self.model = mlp(task.sizes, seed, task.dtype)
        self.optimizer = torch.optim.SGD(self.model.parameters(), lr=_checks.lr(eta), momentum=task.momentum)
        self.generator = torch.Generator().manual_seed(int(seed))
        self.epochs_done = 0
        self.val_loss = math.nan  # hold-out loss after the last epoch (inf once diverged)
        self.diverged_at: int | None = None

    @property
    def eta(self) -> float:
        return float(self.optimizer.param_groups[0]["lr"])

    @eta.setter
    def eta(self, value: float) -> None:
        for group in self.optimizer.param_groups:
            group["lr"] = _checks.lr(value)

    def epoch(self) -> float:
        """Train one epoch at the current η, then return the hold-out loss (inf if diverged)."""
        if self.diverged_at is not None:
            return self.val_loss
        d = self.task.data()
        n, B = len(d.y_train), self.task.batch_size
        order = torch.randperm(n, generator=self.generator)
        X, y = d.X_train[order], d.y_train[order]
        with num_threads(1):
            for start in range(0, n, B):
                loss = F.cross_entropy(self.model(X[start : start + B]), y[start : start + B])
                if not math.isfinite(loss.item()):
                    self.diverged_at = self.epochs_done  # no step with a non-finite loss
                    break
                self.optimizer.zero_grad(set_to_none=True)
                loss.backward()
                self.optimizer.step()
            with torch.no_grad():
                val = float(F.cross_entropy(self.model(d.X_val), d.y_val))
        self.epochs_done += 1
        if not math.isfinite(val) and self.diverged_at is None:
            self.diverged_at = self.epochs_done - 1  # θ overflowed on the last step
        if self.diverged_at is not None:
            val = math.inf
        self.val_loss = val
        return val

    @torch.no_grad()
    def score(self, split: str = "test") -> tuple[float, float]:
        """(loss, accuracy) of the current θ on the "val" or "test" split."""
        if split not in ("val", "test"):
            raise ValueError(f"Invalid split: {split!r} ('val' or 'test')")
        d = self.task.data()
        X, y = (d.X_val, d.y_val) if split == "val" else (d.X_test, d.y_test)
        out = self.model(X)
        return float(F.cross_entropy(out, y)), float((out.argmax(-1) == y).double().mean())

    def state_dict(self) -> dict:
        """Everything needed to resume: θ, optimizer state (v, η), batch-order RNG, counters (copies)."""
        return copy.deepcopy({
            "model": self.model.state_dict(), "optimizer": self.optimizer.state_dict(),
            "generator": self.generator.get_state(), "epochs_done": self.epochs_done,
            "val_loss": self.val_loss, "diverged_at": self.diverged_at,
        })

    def load_state_dict(self, state: dict) -> None:
        state = copy.deepcopy(state)
        self.model.load_state_dict(state["model"])
        self.optimizer.load_state_dict(state["optimizer"])
        self.generator.set_state(state["generator"])
        self.epochs_done, self.val_loss = state["epochs_done"], state["val_loss"]
        self.diverged_at = state["diverged_at"]


def evaluate(task: Task, etas, seed: int = 0, *, epochs: int | None = None, curves: bool = False):
    """f(η) for every η in ``etas``, trained as one batched sweep with ``seed``.

    Returns the final hold-out losses (K,) with +inf for diverged runs; with ``curves=True``
    the whole (K, epochs) hold-out loss and accuracy curves instead (NaN after divergence).
    """
    d = task.data()
    result = sweep_lr(np.asarray(etas, dtype=float), d, sizes=task.sizes, epochs=epochs or task.epochs,
                      batch_size=task.batch_size, seed=seed, momentum=task.momentum,
                      dtype=task.dtype, progress=False)
    if curves:
        return result.val_loss, result.val_acc
    final = result.val_loss[:, -1].copy()
    final[~np.isfinite(final)] = np.inf
    return final


def grid_etas(task: Task, n: int) -> np.ndarray:
    """Grid search's n candidates: log η evenly spaced over [log lo, log hi], ends included."""
    if n < 1:
        raise ValueError(f"Invalid budget: {n}")
    if n == 1:
        return np.array([math.sqrt(task.lo * task.hi)])
    return np.geomspace(task.lo, task.hi, n)


def random_etas(task: Task, n: int, seed: int) -> np.ndarray:
    """Random search's n candidates: log η ~ Uniform[log lo, log hi], drawn from ``seed``."""
    if n < 1:
        raise ValueError(f"Invalid budget: {n}")
    u = np.random.default_rng(seed).uniform(size=n)
    return np.exp(math.log(task.lo) + u * (math.log(task.hi) - math.log(task.lo)))


def best_so_far(values) -> np.ndarray:
    """min(f_1 … f_i) for i = 1 … n: the best objective a search has seen after i trials."""
    return np.minimum.accumulate(np.asarray(values, dtype=float))


def best_within(spent, best, budgets) -> np.ndarray:
    """The best value a search had found once it had spent each of ``budgets`` epochs:
    ``best[i]`` for the last trial i with ``spent[i]`` ≤ budget (+inf before the first).
    ``spent`` is cumulative epochs (non-decreasing), ``best`` the best-so-far values."""
    spent, best = np.asarray(spent, dtype=float), np.asarray(best, dtype=float)
    i = np.searchsorted(spent, np.asarray(budgets, dtype=float), side="right") - 1
    return np.where(i >= 0, best[np.maximum(i, 0)], np.inf)


# ---------------------------------------------------------------------------------------------
# Optuna
