"""Gradient noise: how far a mini-batch gradient lies from the full-batch gradient.

At a fixed θ, let g_i = ∇ℓ_i(θ) be the gradient of example i's loss (i = 1 … n). The
full-batch gradient is G = (1/n) Σ_i g_i and a mini-batch of b examples drawn without
replacement gives g_B = (1/b) Σ_{i∈B} g_i, an unbiased estimate of G whose expected squared
error is

    E‖g_B − G‖² = (tr Σ / b) · (n − b)/(n − 1),      tr Σ = (1/n) Σ_i ‖g_i − G‖²,

i.e. ≈ tr Σ / b while b ≪ n, and 0 at b = n. The *simple noise scale* of McCandlish et
al. (2018), B_noise = tr Σ / ‖G‖², is the batch size at which that noise equals the signal
‖G‖²: much smaller batches are noise-dominated, much larger ones waste examples.

:func:`gradient_noise` measures E‖g_B − G‖² by drawing batches (seeded) and reports the
formula's value beside it; :func:`per_example_grads` gives the g_i (``torch.func``).
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Callable

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from lrcourse import _checks

__all__ = ["GradientNoise", "flat_grad", "per_example_grads", "gradient_noise", "noise_scale"]


def _check_xy(X, y) -> None:
    if not (torch.is_tensor(X) and torch.is_tensor(y)) or len(X) != len(y) or len(y) == 0:
        raise ValueError("Invalid data: X and y must be non-empty tensors of the same length")


def flat_grad(model: nn.Module, X: torch.Tensor, y: torch.Tensor,
              loss_fn: Callable = F.cross_entropy) -> torch.Tensor:
    """∇L(θ) of the mean loss L = loss_fn(model(X), y), flattened over all parameters (P,)."""
    _check_xy(X, y)
    params = [p for p in model.parameters() if p.requires_grad]
    grads = torch.autograd.grad(loss_fn(model(X), y), params)
    return torch.cat([g.reshape(-1) for g in grads]).detach()


def per_example_grads(model: nn.Module, X: torch.Tensor, y: torch.Tensor,
                      loss_fn: Callable = F.cross_entropy, chunk: int = 1024) -> torch.Tensor:
    """The per-example gradients g_i = ∇ℓ_i(θ) as rows of an (n, P) tensor, in the order of
    ``model.parameters()`` (``torch.func.vmap`` of ``grad`` over examples, ``chunk`` at a time)."""
    from torch.func import functional_call, grad, vmap

    _check_xy(X, y)
    _checks.positive_int(chunk, "chunk")
    names = [name for name, p in model.named_parameters() if p.requires_grad]
    params = {name: p.detach() for name, p in model.named_parameters() if p.requires_grad}
    buffers = {name: b.detach() for name, b in model.named_buffers()}

    def loss_one(theta, x, target):  # ℓ_i(θ): one example as a batch of one
        out = functional_call(model, (theta, buffers), (x[None],))
        return loss_fn(out, target[None])

    per_example = vmap(grad(loss_one), in_dims=(None, 0, 0))
    rows = []
    for start in range(0, len(y), int(chunk)):
        g = per_example(params, X[start : start + chunk], y[start : start + chunk])
        rows.append(torch.cat([g[name].reshape(len(g[name]), -1) for name in names], 1))
    return torch.cat(rows)


@dataclass
class GradientNoise:
    """Measured and predicted E‖g_B − G‖² at one θ, per batch size b."""

    batch_sizes: np.ndarray  # (m,) the b measured
    variance: np.ndarray  # (m,) mean of ‖g_B − G‖² over the drawn batches
    stderr: np.ndarray  # (m,) its standard error (sd over batches / √n_batches)
    predicted: np.ndarray  # (m,) (tr Σ / b)·(n − b)/(n − 1)
    trace_sigma: float  # tr Σ = (1/n) Σ_i ‖g_i − G‖²
    grad_norm2: float  # ‖G‖²
    n: int  # examples the full batch holds
    n_batches: int  # batches drawn per b

    @property
    def noise_scale(self) -> float:
        """B_noise = tr Σ / ‖G‖² (McCandlish et al. 2018's simple noise scale)."""
        return self.trace_sigma / self.grad_norm2

    def to_frame(self):
        """One row per b: batch_size, variance, stderr, predicted."""
        import pandas as pd

        return pd.DataFrame({"batch_size": self.batch_sizes, "variance": self.variance,
                             "stderr": self.stderr, "predicted": self.predicted})


def _statistics(g: torch.Tensor) -> tuple[torch.Tensor, float, float]:
    """G, tr Σ and ‖G‖² of per-example gradients g (n, P), in float64."""
    g = g.double()
    G = g.mean(0)
    trace = float(((g - G) ** 2).sum(1).mean())
    return G, trace, float(G @ G)


def gradient_noise(model: nn.Module, X: torch.Tensor, y: torch.Tensor, batch_sizes, *,
                   n_batches: int = 100, seed: int = 0,
                   loss_fn: Callable = F.cross_entropy) -> GradientNoise:
    """Draw ``n_batches`` mini-batches of each size b in ``batch_sizes`` (without replacement,
    from a ``torch.Generator`` seeded with ``seed``) at the model's current θ and measure the
    mean of ‖g_B − G‖², with G the gradient over all of (X, y). ``loss_fn`` must average over
    the batch, so that g_B is the mean of the g_i."""
    _check_xy(X, y)
    n = len(y)
    sizes = np.asarray(batch_sizes, dtype=object).ravel() if np.ndim(batch_sizes) <= 1 else None
    if sizes is None or sizes.size == 0:
        raise ValueError(f"Invalid batch sizes: {batch_sizes!r} (need a non-empty 1-D sequence)")
    for b in sizes:
        if isinstance(b, bool) or not isinstance(b, (int, np.integer)) or not 1 <= b <= n:
            raise ValueError(f"Invalid batch size: {b!r} (must be an integer in [1, {n}])")
    _checks.int_at_least(n_batches, "n_batches", 2)
    _checks.seed(seed)

    g = per_example_grads(model, X, y, loss_fn)  # (n, P)
    G, trace, norm2 = _statistics(g)
    G = G.to(g.dtype)
    gen = torch.Generator().manual_seed(int(seed))
    variance, stderr, predicted = [], [], []
    for b in (int(b) for b in sizes):
        batches = torch.stack([torch.randperm(n, generator=gen)[:b] for _ in range(int(n_batches))])
        weights = g.new_zeros(int(n_batches), n).scatter_(1, batches, 1.0 / b)
        d2 = ((weights @ g - G).double() ** 2).sum(1)  # ‖g_B − G‖², g_B = (1/b) Σ_{i∈B} g_i
        variance.append(float(d2.mean()))
        stderr.append(float(d2.std() / math.sqrt(n_batches)))
        predicted.append(trace / b * (n - b) / (n - 1) if n > 1 else 0.0)
    return GradientNoise(np.array([int(b) for b in sizes]), np.array(variance), np.array(stderr),
                         np.array(predicted), trace, norm2, n, int(n_batches))


def noise_scale(model: nn.Module, X: torch.Tensor, y: torch.Tensor,
                loss_fn: Callable = F.cross_entropy) -> float:
    """B_noise = tr Σ / ‖G‖² at the model's current θ, from its per-example gradients."""
    _, trace, norm2 = _statistics(per_example_grads(model, X, y, loss_fn))
    return trace / norm2
