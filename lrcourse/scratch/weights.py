"""What gradient descent does to the weights of an MLP, traced step by step.

:func:`trace_gd` runs full-batch gradient descent, θ_{t+1} = θ_t − η∇L(θ_t), on an
:class:`lrcourse.scratch.nn.MLP` (its hand-written backward pass and :func:`lrcourse.scratch.nn.sgd_step`)
for each η, and records at every step t:

    L(θ_t)                       the training loss (mean softmax cross-entropy)
    ‖θ_t‖₂                       the norm of all parameters as one vector
    max_i |θ_t,i|                the largest parameter in absolute value
    dead fraction                the share of hidden ReLU units that output 0 on every
                                 training input (pre-activation z ≤ 0 for all rows)

A dead unit gets ∂L/∂z = 0 on every row, hence no gradient on its weights and bias: under
full-batch gradient descent it stays dead. A run whose loss or θ becomes NaN/±inf has
diverged: ``diverged_at = t`` is recorded (a result, not an exception), the values of step t
are kept and the later entries are NaN.
"""
from __future__ import annotations

import numbers
from dataclasses import dataclass

import numpy as np
import torch

from lrcourse import _checks
from lrcourse.scratch.nn import MLP, Linear, ReLU, sgd_step

__all__ = ["WeightTrace", "dead_relu_fraction", "trace_gd"]


@dataclass
class WeightTrace:
    """One η's run: arrays of length steps + 1 (t = 0 … steps), NaN after divergence."""

    eta: float
    loss: np.ndarray  # L(θ_t)
    norm: np.ndarray  # ‖θ_t‖₂
    max_abs: np.ndarray  # max |θ_t,i|
    dead: np.ndarray  # fraction of hidden ReLU units dead on the whole training set
    diverged_at: int | None  # first t with a non-finite loss or θ, else None

    @property
    def diverged(self) -> bool:
        return self.diverged_at is not None

    @property
    def last(self) -> int:
        """Index of the last recorded step (``diverged_at`` or ``steps``)."""
        return len(self.loss) - 1 if self.diverged_at is None else self.diverged_at


def dead_relu_fraction(model: MLP, X: torch.Tensor) -> float:
    """Fraction of the model's hidden ReLU units whose pre-activation z is ≤ 0 for every row
    of X, i.e. units that output 0 on all of X (and so pass no gradient back). 0.0 for a
    model with no hidden layer or with tanh units."""
    if not isinstance(model, MLP):
        raise ValueError(f"Expected an lrcourse.scratch.nn.MLP, got {type(model).__name__}")
    dead = total = 0
    a = X
    with torch.no_grad():
        for layer, following in zip(model.layers, model.layers[1:] + [None]):
            if isinstance(layer, Linear):
                z = a @ layer.W.T + layer.b
                if isinstance(following, ReLU):
                    dead += int((~(z > 0).any(dim=0)).sum())
                    total += z.shape[1]
                a = z
            else:
                a = torch.relu(a) if isinstance(layer, ReLU) else torch.tanh(a)
    return dead / total if total else 0.0


def trace_gd(etas, X: torch.Tensor, y: torch.Tensor, *, sizes=(2, 50, 3), steps: int = 300,
             seed: int = 0, dtype: torch.dtype = torch.float32,
             init: MLP | None = None) -> list[WeightTrace]:
    """Full-batch gradient descent θ ← θ − η∇L from ``MLP(sizes, seed=seed, dtype=dtype)``
    for each η in ``etas`` (every run starts from the same θ_0); one :class:`WeightTrace`
    per η, in order. X is cast to ``dtype``; y holds int64 class labels.

    ``init``: start instead from copies of this MLP's θ cast to ``dtype`` (its sizes and
    activation; ``sizes`` and ``seed`` are then ignored) — e.g. to rerun a float32 start in
    float64. ``init`` itself is not modified."""
    eta_values = [_checks.lr(e) for e in np.atleast_1d(np.asarray(etas, dtype=object))]
    if not eta_values:
        raise ValueError("Invalid learning rates: [] (need at least one)")
    _checks.positive_int(steps, "number of steps")
    if not isinstance(X, torch.Tensor):
        raise ValueError(f"Expected X to be a torch.Tensor, got {type(X).__name__}")
    if init is not None and not isinstance(init, MLP):
        raise ValueError(f"Expected init to be an lrcourse.scratch.nn.MLP, got {type(init).__name__}")
    X = X.to(dtype)

    def start() -> MLP:
        if init is None:
            return MLP(list(sizes), seed=seed, dtype=dtype)
        return MLP.from_torch(init.to_torch().to(dtype))  # copies: init stays as it is

    return [_trace_one(eta, X, y, start(), int(steps)) for eta in eta_values]


def _trace_one(eta, X, y, model, steps) -> WeightTrace:
    rows = np.full((steps + 1, 4), np.nan)
    diverged_at = None
    for t in range(steps + 1):
        loss = float(model.loss(X, y))
        theta = torch.cat([p.reshape(-1) for p in model.parameters()]).double()  # no overflow in ‖θ‖
        finite = bool(torch.isfinite(theta).all())
        rows[t] = (loss, float(theta.norm()), float(theta.abs().max()),
                   dead_relu_fraction(model, X) if finite else np.nan)
        if not (np.isfinite(loss) and finite):
            diverged_at = t
            break
        if t < steps:
            sgd_step(model.parameters(), model.backward(), eta)
    loss, norm, max_abs, dead = rows.T.copy()
    return WeightTrace(eta, loss, norm, max_abs, dead, diverged_at)
