r"""Full-batch Adam with and without linear warm-up, watching the (preconditioned) sharpness.

K members, all from the same θ_0 (``lrcourse.training.models.mlp(sizes, seed)``), stacked as
in the batched engine (W_l (K, d_out, d_in), b_l (K, d_out, 1)); member k has a peak rate η_k
and a warm-up length T_k (0: none). At step t = 1, 2, … it takes torch's Adam step with

    η_k(t) = η_k · min(1, t/T_k)          (linear warm-up; η_k(t) = η_k when T_k = 0)

which is what ``torch.optim.Adam(lr=η_k)`` with ``LambdaLR(lambda s: min(1, (s + 1)/T_k))``
stepped once per step does. Every ``every`` steps it records, at the current θ_t:

* the **sharpness** λ_max(H), H = ∇²L(θ_t);
* the **preconditioned sharpness** λ_max(P^{-1/2} H P^{-1/2}), P = diag(√v̂_t + ε), Adam's
  preconditioner after its t-th step (the one its next step divides by, up to the update of
  v̂). It is the Hessian of u ↦ L(θ_t + P^{-1/2}u) at u = 0, so
  :func:`lrcourse.choosing.hessian.top_eigenvalue` computes it unchanged, with u as the
  parameters (warm-started power iteration).

A member whose loss turns non-finite, or exceeds 10⁴·L(θ_0), stops (later entries NaN).
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from lrcourse import _checks
from lrcourse.choosing.hessian import top_eigenvalue
from lrcourse.training.engine import forward, member_losses
from lrcourse.training.models import mlp

__all__ = ["WarmupRun", "track_adam_sharpness", "warmup_factor"]


@dataclass
class WarmupRun:
    """Arrays with one row per member: ``loss`` (K, steps + 1) is L(θ_t); ``lr`` (K, steps) the
    η_k(t) of step t = 1…steps; ``sharpness`` and ``preconditioned`` (K, len(marks)) at the
    steps ``marks`` (the first mark is 1: P needs one step of Adam)."""

    etas: np.ndarray
    warmups: np.ndarray
    steps: int
    betas: tuple[float, float]
    marks: np.ndarray
    loss: np.ndarray
    lr: np.ndarray
    sharpness: np.ndarray
    preconditioned: np.ndarray
    diverged_at: np.ndarray


def warmup_factor(t: int, warmup: int) -> float:
    """min(1, t/T) for step t ≥ 1 (1 when T = 0)."""
    return 1.0 if warmup == 0 else min(1.0, t / warmup)


def track_adam_sharpness(etas, warmups, X: torch.Tensor, y: torch.Tensor, *, sizes, steps: int,
                         every: int = 5, betas=(0.9, 0.999), eps: float = 1e-8, seed: int = 0,
                         power_iters: int = 20, activation: str = "relu", extra_marks=(),
                         dtype: torch.dtype = torch.float32) -> WarmupRun:
    """Run member k = (η_k, T_k) (``etas`` and ``warmups`` of equal length) for ``steps``
    full-batch Adam steps on (X, y) with mean cross-entropy; see the module docstring.
    The sharpnesses are measured at step 1, every ``every`` steps, at the last step and at
    the steps in ``extra_marks`` (e.g. every one of the first ten)."""
    eta_values = _checks.etas(etas)
    warm = np.asarray(warmups)
    if warm.shape != eta_values.shape or not np.issubdtype(warm.dtype, np.integer) or (warm < 0).any():
        raise ValueError(f"Invalid warmups: {warmups!r} (need one integer ≥ 0 per η)")
    steps = _checks.positive_int(steps, "steps")
    every = _checks.positive_int(every, "every")
    power_iters = _checks.positive_int(power_iters, "power_iters")
    sizes = _checks.sizes(sizes)
    dtype = _checks.float_dtype(dtype)
    b1, b2 = (float(b) for b in betas)
    if not (0 <= b1 < 1 and 0 <= b2 < 1):
        raise ValueError(f"Invalid betas: {betas!r} (each must lie in [0, 1))")
    if not isinstance(X, torch.Tensor) or X.dim() != 2 or X.shape[1] != sizes[0]:
        raise ValueError(f"Invalid X: need an (n, {sizes[0]}) tensor")
    K = len(eta_values)
    net = list(mlp(sizes, seed, dtype).parameters())
    L = len(net) // 2
    shapes = [(K, *p.shape) if p.dim() == 2 else (K, p.shape[0], 1) for p in net]
    params = [p.detach().reshape(s[1:]).expand(s).clone().requires_grad_() for p, s in zip(net, shapes)]
    params = params[0::2] + params[1::2]  # W_1 … W_L, b_1 … b_L
    X, xT = X.to(dtype), X.to(dtype).T

    def losses(ps):
        return member_losses(forward(ps[:L], ps[L:], xT, activation=activation), y)

    m = [torch.zeros_like(p) for p in params]
    v = [torch.zeros_like(p) for p in params]
    extra = {int(t) for t in extra_marks}
    if any(not 1 <= t <= steps for t in extra):
        raise ValueError(f"Invalid extra_marks: {extra_marks!r} (steps must lie in [1, {steps}])")
    marks = np.array(sorted({1} | set(range(every, steps + 1, every)) | {steps} | extra))
    loss = np.full((K, steps + 1), np.nan)
    lr = np.full((K, steps), np.nan)
    sharp = np.full((K, len(marks)), np.nan)
    pre = np.full((K, len(marks)), np.nan)
    diverged_at = np.full(K, -1)
    alive = torch.ones(K, dtype=torch.bool)
    vec, vec_pre, j = None, None, 0

    def per(c, p):
        return c.view((K,) + (1,) * (p.dim() - 1))

    for t in range(steps + 1):
        with torch.enable_grad():
            values = losses(params)
            grads = torch.autograd.grad(values.sum(), params)
        loss[:, t] = values.detach().double().numpy()
        bad = alive.numpy() & (~np.isfinite(loss[:, t]) | (loss[:, t] > 1e4 * loss[:, 0]))
        if bad.any():
            diverged_at[bad] = t
            alive &= ~torch.from_numpy(bad)
            with torch.no_grad():
                for p, mm, vv in zip(params, m, v):  # a stopped member keeps finite numbers
                    p[torch.from_numpy(bad)] = 0.0
                    mm[torch.from_numpy(bad)] = 0.0
                    vv[torch.from_numpy(bad)] = 0.0
        if j < len(marks) and t == marks[j]:
            first = vec is None
            est = top_eigenvalue(lambda: losses(params), params, members=K, v0=vec,
                                 iters=power_iters * (5 if first else 1), tol=1e-3)
            vec = est.eigenvector
            denom = [(vv / (1 - b2**t)).sqrt().add(eps) for vv in v]  # P = √v̂ + ε
            scale = [d.rsqrt() for d in denom]
            u = [torch.zeros_like(p, requires_grad=True) for p in params]
            est_pre = top_eigenvalue(lambda: losses([p + s * w for p, s, w in zip(params, scale, u)]),
                                     u, members=K, v0=vec_pre, iters=power_iters * (5 if first else 1),
                                     tol=1e-3)
            vec_pre = [torch.where(per(alive, w), w, torch.ones_like(w)) for w in est_pre.eigenvector]
            vec = [torch.where(per(alive, w), w, torch.ones_like(w)) for w in vec]
            keep = alive.numpy()
            sharp[keep, j] = est.eigenvalue[keep]
            pre[keep, j] = est_pre.eigenvalue[keep]
            j += 1
        if t == steps:
            break
        step = t + 1
        rate = np.array([e * warmup_factor(step, int(T)) for e, T in zip(eta_values, warm)])
        lr[alive.numpy(), t] = rate[alive.numpy()]
        rate_t = torch.where(alive, torch.tensor(rate, dtype=dtype), 0.0)
        bc1, bc2_sqrt = 1 - b1**step, (1 - b2**step) ** 0.5
        with torch.no_grad():
            for p, g, mm, vv in zip(params, grads, m, v):
                mm.lerp_(g, 1 - b1)
                vv.mul_(b2).addcmul_(g, g, value=1 - b2)
                denom = (vv.sqrt() / bc2_sqrt).add_(eps)
                p.sub_(per(rate_t / bc1, p) * mm / denom)  # θ ← θ − η(t)·m̂/(√v̂ + ε)
    for k in np.flatnonzero(diverged_at >= 0):
        loss[k, diverged_at[k] + 1:] = np.nan
    return WarmupRun(eta_values, warm, steps, (b1, b2), marks, loss, lr, sharp, pre, diverged_at)
