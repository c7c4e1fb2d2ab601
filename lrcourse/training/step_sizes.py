"""Each parameter's effective step during training: what the optimizer did with η.

At step t the optimizer receives the mini-batch gradient g_t = ∇L_B(θ_t) and moves θ by
Δθ_t = θ_{t+1} − θ_t. Per parameter i the *effective learning rate* is

    η_eff,i = |Δθ_{t,i}| / |g_{t,i}|            (parameters with g_{t,i} = 0 left out)

For plain SGD it is η for every i; momentum and the adaptive methods (Adagrad, RMSprop,
Adadelta, Adam) make it differ from parameter to parameter and from step to step.
:func:`effective_steps` trains a model as ``train.train`` does (same batches for the same
seed) and records, at every step, quantiles of η_eff,i and of |Δθ_{t,i}| over all parameters.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import torch
import torch.nn.functional as F

from lrcourse import _checks
from lrcourse.training.loop import epoch_orders
from lrcourse._runtime import num_threads

__all__ = ["StepSizes", "effective_steps"]


@dataclass
class StepSizes:
    """Per-step quantiles over parameters; rows are steps t = 0 … T−1 (NaN rows: no step)."""

    quantiles: tuple[float, ...]
    ratio: np.ndarray  # (T, q): quantiles of |Δθ_i| / |g_i|
    step: np.ndarray  # (T, q): quantiles of |Δθ_i|
    loss: np.ndarray  # (T,): the mini-batch loss L_B(θ_t)
    diverged_at: int | None  # first step whose loss was NaN/inf (no step taken there), or None


def _check_quantiles(quantiles) -> tuple[float, ...]:
    try:
        qs = tuple(quantiles)
    except TypeError:
        raise ValueError(f"Invalid quantiles: {quantiles!r} (need a sequence of numbers in [0, 1])") from None
    if not qs:
        raise ValueError("Invalid quantiles: () (need at least one number in [0, 1])")
    return tuple(_checks.fraction(q, "quantiles", open_low=False, open_high=False) for q in qs)


def effective_steps(model: torch.nn.Module, optimizer: torch.optim.Optimizer, data, *, epochs: int,
                    batch_size: int, seed: int = 0, quantiles=(0.05, 0.25, 0.5, 0.75, 0.95),
                    loss_fn=F.cross_entropy, threads: int | None = 1) -> StepSizes:
    """Train ``model`` with ``optimizer`` on ``data`` and record every step's quantiles."""
    epochs = _checks.positive_int(epochs, "epochs")
    batch_size = _checks.positive_int(batch_size, "batch_size")
    seed = _checks.seed(seed)
    qs = _check_quantiles(quantiles)
    q = torch.tensor(qs, dtype=torch.float64)
    params = [p for p in model.parameters() if p.requires_grad]
    X, y = data.X_train, data.y_train
    n = len(y)
    steps = epochs * math.ceil(n / batch_size)
    ratio = np.full((steps, len(qs)), np.nan)
    size = np.full((steps, len(qs)), np.nan)
    losses = np.full(steps, np.nan)
    diverged_at = None
    orders = epoch_orders(n, seed)
    t = 0
    with num_threads(threads):
        for _ in range(epochs):
            order = next(orders)
            Xs, ys = X[order], y[order]
            for start in range(0, n, batch_size):
                loss = loss_fn(model(Xs[start : start + batch_size]), ys[start : start + batch_size])
                losses[t] = loss.item()
                if not math.isfinite(losses[t]):
                    diverged_at = t
                    break
                optimizer.zero_grad(set_to_none=True)
                loss.backward()
                before = torch.cat([p.detach().ravel() for p in params]).double()
                g = torch.cat([p.grad.detach().ravel() for p in params]).double().abs()
                optimizer.step()
                delta = (torch.cat([p.detach().ravel() for p in params]).double() - before).abs()
                nonzero = g > 0
                size[t] = torch.quantile(delta, q).numpy()
                if nonzero.any():
                    ratio[t] = torch.quantile(delta[nonzero] / g[nonzero], q).numpy()
                t += 1
            if diverged_at is not None:
                break
    return StepSizes(qs, ratio, size, losses, diverged_at)
