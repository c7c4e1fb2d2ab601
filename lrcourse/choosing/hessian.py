"""Curvature of a loss: Hessian-vector products, the sharpness λ_max, and sharpness during GD.

The Hessian ∇²L(θ) of a network with n parameters has n² entries — too many to form — but
its product with a vector v costs about two gradients (Pearlmutter's trick):

    ∇²L(θ)·v = ∇_θ( ∇_θL(θ) · v )        (v held constant)

i.e. differentiate the scalar ∇L·v once more ("double backward"). Power iteration with these
products gives the **sharpness** λ_max(∇²L), the top eigenvalue, whose quadratic stability
threshold is η < 2/λ_max (chapter 1):

    v ← ∇²L·v / ‖∇²L·v‖,     λ ≈ vᵀ∇²L v (the Rayleigh quotient, ‖v‖ = 1).

Parameters are a list of tensors that require grad, or a ``torch.nn.Module`` (its parameters
that require grad); a direction ``v`` is a list of tensors of the same shapes or one flat
vector of length n. ``loss_fn()`` recomputes L from the current parameters.

With ``members=K`` every parameter carries K independent models along its first axis and the
loss is the sum of their losses (or the (K,) vector of them): the Hessian is then block
diagonal, and one product serves all K blocks — :func:`track_sharpness` uses this to follow
the sharpness of K learning rates at once.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Callable, Sequence

import numpy as np
import torch

from lrcourse import _checks
from lrcourse.training.engine import ACTIVATIONS, forward, member_losses


__all__ = ["hvp", "top_eigenvalue", "TopEigen", "track_sharpness", "SharpnessRun"]


# ---------------------------------------------------------------------------------------------
# argument checks


def _as_params(params) -> list[torch.Tensor]:
    if isinstance(params, torch.nn.Module):
        params = [p for p in params.parameters() if p.requires_grad]
    elif isinstance(params, torch.Tensor):
        params = [params]
    try:
        params = list(params)
    except TypeError:
        raise ValueError(f"Invalid params: {params!r} (need a module or a list of tensors)") from None
    if not params:
        raise ValueError("Invalid params: empty (need at least one tensor that requires grad)")
    for p in params:
        if not isinstance(p, torch.Tensor) or not p.is_floating_point() or not p.requires_grad:
            raise ValueError(f"Invalid parameter: {type(p).__name__} (need floating tensors that require grad)")
    return params


def _check_loss_fn(loss_fn) -> Callable:
    if not callable(loss_fn):
        raise ValueError(f"Invalid loss_fn: {loss_fn!r} (need a callable returning the loss)")
    return loss_fn


def _as_direction(v, params) -> tuple[list[torch.Tensor], bool]:
    """v as a list shaped like ``params`` (detached, in their dtype); True if it came flat."""
    n = sum(p.numel() for p in params)
    if isinstance(v, torch.Tensor) and v.dim() == 1 and not (len(params) == 1 and params[0].dim() == 1):
        if v.numel() != n:
            raise ValueError(f"Invalid direction: {v.numel()} entries for {n} parameters")
        pieces = torch.split(v.detach(), [p.numel() for p in params])
        return [x.reshape(p.shape).to(p.dtype) for x, p in zip(pieces, params)], True
    if isinstance(v, torch.Tensor):
        v = [v]
    try:
        v = list(v)
    except TypeError:
        raise ValueError(f"Invalid direction: {v!r} (need tensors shaped like the parameters)") from None
    if len(v) != len(params) or any(
        not isinstance(x, torch.Tensor) or x.shape != p.shape for x, p in zip(v, params)
    ):
        raise ValueError("Invalid direction: its tensors must have the parameters' shapes")
    return [x.detach().to(p.dtype) for x, p in zip(v, params)], False


# ---------------------------------------------------------------------------------------------
# Hessian-vector products


def _hessian_matvec(loss_fn, params, members=None):
    """v ↦ ∇²L·v at the current θ. The gradient graph is built once and kept, so each further
    product costs one backward pass through it (the second of the double backward)."""
    with torch.enable_grad():
        loss = loss_fn()
        if not isinstance(loss, torch.Tensor):
            raise ValueError(f"Invalid loss: loss_fn returned {type(loss).__name__}, not a tensor")
        if members is not None and loss.shape == (members,):
            loss = loss.sum()
        if loss.numel() != 1:
            raise ValueError(f"Invalid loss: shape {tuple(loss.shape)} (need a scalar)")
        if loss.requires_grad:
            grads = torch.autograd.grad(loss.reshape(()), params, create_graph=True, allow_unused=True)
        else:  # L does not depend on θ at all
            grads = [None] * len(params)

    def matvec(v: list[torch.Tensor]) -> list[torch.Tensor]:
        with torch.enable_grad():
            terms = [(g * x).sum() for g, x in zip(grads, v) if g is not None and g.requires_grad]
            if not terms:  # L is at most linear in θ: ∇²L = 0
                return [torch.zeros_like(p) for p in params]
            hv = torch.autograd.grad(sum(terms), params, retain_graph=True, allow_unused=True)
        return [torch.zeros_like(p) if h is None else h.detach() for h, p in zip(hv, params)]

    return matvec


def hvp(loss_fn: Callable[[], torch.Tensor], params, v):
    """The Hessian-vector product ∇²L(θ)·v = ∇_θ(∇_θL(θ)·v), by double backward.

    ``loss_fn()`` returns the scalar L at the current ``params`` (tensors that require grad,
    or a module); ``v`` is shaped like the parameters (a list) or flat. The result has the
    form of ``v``.
    """
    loss_fn = _check_loss_fn(loss_fn)
    params = _as_params(params)
    vs, flat = _as_direction(v, params)
    hv = _hessian_matvec(loss_fn, params)(vs)
    return torch.cat([h.reshape(-1) for h in hv]) if flat else hv


# ---------------------------------------------------------------------------------------------
# power iteration


@dataclass
class TopEigen:
    """Result of :func:`top_eigenvalue`: floats, or (K,) arrays with ``members=K``.

    ``eigenvector`` is a list shaped like the parameters (unit norm per member), ready to warm
    start the next call; ``residual`` is ‖∇²L·v − λv‖ for it."""

    eigenvalue: float | np.ndarray
    iterations: int | np.ndarray
    converged: bool | np.ndarray
    residual: float | np.ndarray
    eigenvector: list[torch.Tensor]


def _member_dot(members):
    """Inner products per member: a scalar, or a (K,) vector summing all axes but the first."""
    def dot(a, b):
        if members is None:
            return sum((x * y).sum() for x, y in zip(a, b))
        return sum((x * y).reshape(members, -1).sum(1) for x, y in zip(a, b))
    return dot


def _per_member(c: torch.Tensor, t: torch.Tensor) -> torch.Tensor:
    """Broadcast a scalar or (K,) coefficient against a tensor whose first axis is K."""
    return c if c.dim() == 0 else c.reshape(-1, *[1] * (t.dim() - 1))


def _power_iteration(matvec, v, dot, iters, tol, shift):
    """Power iteration on (∇²L − shift·I) from unit vector(s) v; per-member stopping when the
    residual ‖Av − λv‖ ≤ tol·|λ|. Returns λ of ∇²L (shift added back), v, residual, count, done."""
    done = torch.zeros_like(shift, dtype=torch.bool)
    lam = torch.zeros_like(shift)
    res = torch.full_like(shift, math.inf)
    count = torch.zeros_like(shift, dtype=torch.long)
    for _ in range(iters):
        av = [h - _per_member(shift, h) * x for h, x in zip(matvec(v), v)]
        rq = dot(v, av)
        resid = [a - _per_member(rq, a) * x for a, x in zip(av, v)]
        r = torch.sqrt(dot(resid, resid))
        norm = torch.sqrt(dot(av, av))
        active = ~done
        lam = torch.where(active, rq, lam)
        res = torch.where(active, r, res)
        count = count + active.long()
        now_done = active & (r <= tol * rq.abs())
        advance = active & ~now_done & (norm > 0)
        safe = torch.where(norm > 0, norm, torch.ones_like(norm))
        v = [torch.where(_per_member(advance, x), a / _per_member(safe, a), x) for a, x in zip(av, v)]
        done = done | now_done | (norm == 0)
        if bool(done.all()):
            break
    return lam + shift, v, res, count, done


def top_eigenvalue(
    loss_fn: Callable[[], torch.Tensor],
    params,
    *,
    iters: int = 100,
    tol: float = 1e-4,
    seed: int = 0,
    v0=None,
    members: int | None = None,
) -> TopEigen:
    """The sharpness λ_max(∇²L) at the current θ, by power iteration with :func:`hvp`.

    v_0 is drawn from N(0, I) with ``torch.Generator().manual_seed(seed)`` (the same draw for
    every member; or ``v0``, a warm start), then v ← ∇²L·v/‖∇²L·v‖ with λ = vᵀ∇²L v, until
    ‖∇²L v − λv‖ ≤ tol·|λ| or ``iters`` products. Power iteration finds the eigenvalue of largest |λ|. If it is negative
    (a saddle's curvature dominates), a second run on the shifted matrix ∇²L − λ_neg·I, whose
    eigenvalues λ_i − λ_neg are all ≥ 0, finds λ_max − λ_neg and λ_neg is added back — so the
    result is always the top *algebraic* eigenvalue. ``iterations`` counts the products of both
    runs; ``converged`` is False when ``iters`` ran out first (e.g. two eigenvalues of equal |λ|).

    ``members=K``: K independent models stacked on the first axis (see the module docstring);
    every field is then a (K,) array, each member stopping on its own.
    """
    loss_fn = _check_loss_fn(loss_fn)
    params = _as_params(params)
    iters = _checks.positive_int(iters, "iters")
    tol = _checks.lr(tol, "tolerance")  # a finite number ≥ 0
    seed = _checks.seed(seed)
    if members is not None:
        members = _checks.positive_int(members, "members")
        if any(p.dim() == 0 or p.shape[0] != members for p in params):
            raise ValueError(f"Invalid members: {members} (every parameter's first axis must be {members})")
    dot = _member_dot(members)
    generator = torch.Generator().manual_seed(seed)
    # one draw per model: with members, every member starts from the same vector
    shapes = [p.shape if members is None else p.shape[1:] for p in params]
    start = [torch.randn(s, generator=generator, dtype=p.dtype).expand(p.shape) for s, p in zip(shapes, params)]
    v = start if v0 is None else _as_direction(v0, params)[0]

    def unit(vs):
        norm = torch.sqrt(dot(vs, vs))
        if bool((norm == 0).any()):
            raise ValueError("Invalid start vector: zero norm")
        return [x / _per_member(norm, x) for x in vs]

    matvec = _hessian_matvec(loss_fn, params, members)
    zero = torch.zeros(() if members is None else (members,), dtype=params[0].dtype)
    lam, v, res, count, done = _power_iteration(matvec, unit(v), dot, iters, tol, zero)
    negative = lam < 0
    if bool(negative.any()):
        # restart from the seeded vector, minus its component along the negative eigenvector
        shift = torch.where(negative, lam, zero)
        along = dot(start, v)
        w = unit([s - _per_member(along, s) * x for s, x in zip(start, v)])
        w = [torch.where(_per_member(negative, x), y, x) for x, y in zip(v, w)]
        lam2, v2, res2, count2, done2 = _power_iteration(matvec, w, dot, iters, tol, shift)
        lam = torch.where(negative, lam2, lam)
        res = torch.where(negative, res2, res)
        count = count + torch.where(negative, count2, torch.zeros_like(count2))
        done = torch.where(negative, done2, done)
        v = [torch.where(_per_member(negative, x), y, x) for x, y in zip(v, v2)]
    if members is None:
        return TopEigen(float(lam), int(count), bool(done), float(res), v)
    return TopEigen(lam.double().numpy(), count.numpy(), done.numpy(), res.double().numpy(), v)


# ---------------------------------------------------------------------------------------------
# sharpness along full-batch gradient descent, K learning rates at once

LOSSES = ("mse", "cross_entropy")


@dataclass
class SharpnessRun:
    """Full-batch GD of one MLP per η (same θ_0), with its sharpness every ``every`` steps.

    Arrays have one row per η. ``loss[k, t]`` is L(θ_t) for t = 0…steps; ``sharpness[k, j]``
    is λ_max(∇²L(θ_t)) at t = ``sharpness_steps[j]`` (warm-started power iteration, at most
    ``power_iters`` products, ``power_counts`` used); ``final_sharpness`` is recomputed at
    θ_steps with up to ``final_iters`` products (tol 10⁻⁶); ``final_params`` holds θ_steps, stacked (W_1…W_L, b_1…b_L).
    Entries after ``diverged_at[k]`` (−1: never) are NaN."""

    etas: np.ndarray
    steps: int
    every: int
    loss: np.ndarray
    sharpness_steps: np.ndarray
    sharpness: np.ndarray
    power_counts: np.ndarray
    final_sharpness: np.ndarray
    diverged_at: np.ndarray
    final_params: list[torch.Tensor]


def _stacked_mlp(sizes, members, seed, dtype):
    """K identical copies of an MLP, W_l (K, d_out, d_in) and b_l (K, d_out, 1), drawn like
    torch.nn.Linear's default, U(−1/√d_in, 1/√d_in), in float64 from
    ``torch.Generator().manual_seed(seed)`` in the order W_1, b_1, W_2, b_2, …"""
    generator = torch.Generator().manual_seed(seed)
    weights, biases = [], []
    for d_in, d_out in zip(sizes[:-1], sizes[1:]):
        bound = 1 / math.sqrt(d_in)
        W = (2 * torch.rand(d_out, d_in, generator=generator, dtype=torch.float64) - 1) * bound
        b = (2 * torch.rand(d_out, 1, generator=generator, dtype=torch.float64) - 1) * bound
        weights.append(W.to(dtype).expand(members, -1, -1).clone().requires_grad_())
        biases.append(b.to(dtype).expand(members, -1, -1).clone().requires_grad_())
    return weights + biases


def _stacked_loss(params, X, y, activation, loss):
    """Per-member losses (K,) of the batched engine's forward pass on all of (X, y) (feature-
    major, a_l of shape (K, d_l, n)): MSE L = (1/2n)·Σ_i ‖f(x_i) − e_{y_i}‖² or mean cross-entropy."""
    depth = len(params) // 2
    logits = forward(params[:depth], params[depth:], X.T, activation=activation)
    return member_losses(logits, y, loss)


def track_sharpness(
    etas,
    X: torch.Tensor,
    y: torch.Tensor,
    *,
    sizes: Sequence[int],
    steps: int,
    every: int = 10,
    activation: str = "tanh",
    loss: str = "mse",
    power_iters: int = 20,
    tol: float = 1e-3,
    final_iters: int = 300,
    seed: int = 0,
    dtype: torch.dtype = torch.float32,
    progress: bool | str = False,
) -> SharpnessRun:
    """Run θ_{t+1} = θ_t − η_k·∇L(θ_t) on all of (X, y) for every η_k in ``etas`` as one
    batched computation, recording L(θ_t) every step and λ_max(∇²L(θ_t)) every ``every`` steps
    (and at the last), each estimate warm-started from the previous eigenvector (the first
    from ``seed``, with 10× the iterations). A member diverges at t when L(θ_t) is not finite
    or exceeds 10⁴·L(θ_0); it then stops (η_k ← 0) and its later entries are NaN.
    """
    from lrcourse._runtime import progress_bar, show_progress

    eta_values = _checks.etas(np.ravel(np.asarray(etas, dtype=object)))
    sizes = _checks.sizes(sizes)
    steps = _checks.positive_int(steps, "steps")
    every = _checks.positive_int(every, "every")
    power_iters = _checks.positive_int(power_iters, "power_iters")
    final_iters = _checks.positive_int(final_iters, "final_iters")
    tol = _checks.lr(tol, "tolerance")  # a finite number ≥ 0
    seed = _checks.seed(seed)
    if activation not in ACTIVATIONS:
        raise ValueError(f"Invalid activation: {activation!r} (choose one of {', '.join(ACTIVATIONS)})")
    if loss not in LOSSES:
        raise ValueError(f"Invalid loss: {loss!r} (choose one of {', '.join(LOSSES)})")
    dtype = _checks.float_dtype(dtype)
    if not isinstance(X, torch.Tensor) or X.dim() != 2 or X.shape[1] != sizes[0]:
        raise ValueError(f"Invalid X: need an (n, {sizes[0]}) tensor")
    if not isinstance(y, torch.Tensor) or y.shape != (X.shape[0],) or y.dtype != torch.int64:
        raise ValueError("Invalid y: need an (n,) int64 tensor of class labels")
    if len(y) and (int(y.min()) < 0 or int(y.max()) >= sizes[-1]):
        raise ValueError(f"Invalid y: labels must lie in [0, {sizes[-1]})")

    K = len(eta_values)
    X = X.to(dtype)
    params = _stacked_mlp(sizes, K, seed, dtype)
    eta = torch.tensor(eta_values, dtype=dtype)

    def losses():
        return _stacked_loss(params, X, y, activation, loss)

    marks = sorted(set(range(0, steps + 1, every)) | {steps})
    loss_curve = np.full((K, steps + 1), np.nan)
    sharp = np.full((K, len(marks)), np.nan)
    counts = np.zeros((K, len(marks)), dtype=np.int64)
    diverged_at = np.full(K, -1)
    alive = torch.ones(K, dtype=torch.bool)
    vector, j = None, 0
    for t in progress_bar(steps + 1, show_progress(progress), "GD + sharpness"):
        if t == marks[j]:
            est = top_eigenvalue(losses, params, members=K, v0=vector, seed=seed, tol=tol,
                                 iters=power_iters if vector is not None else 10 * power_iters)
            vector = est.eigenvector
            sharp[:, j], counts[:, j] = est.eigenvalue, est.iterations
            j += 1
        with torch.enable_grad():
            L = losses()
            grads = torch.autograd.grad(L.sum(), params)
        values = L.detach().double().numpy()
        loss_curve[:, t] = values
        bad = alive.numpy() & (~np.isfinite(values) | (values > 1e4 * loss_curve[:, 0]))
        if bad.any():
            diverged_at[bad] = t
            alive &= ~torch.from_numpy(bad)
            with torch.no_grad():  # a diverged member keeps finite numbers and stops moving
                for p in params:
                    p[torch.from_numpy(bad)] = 0.0
            vector = [torch.where(_per_member(alive, v), v, torch.ones_like(v)) for v in vector]
        if t == steps:
            break
        with torch.no_grad():
            step = torch.where(alive, eta, torch.zeros_like(eta))
            for p, g in zip(params, grads):
                p -= _per_member(step, p) * g
    final = top_eigenvalue(losses, params, members=K, v0=vector, iters=final_iters, tol=1e-6).eigenvalue
    for k in np.flatnonzero(diverged_at >= 0):
        d = diverged_at[k]
        loss_curve[k, d + 1 :] = np.nan
        sharp[k, np.asarray(marks) >= d] = np.nan
        final[k] = np.nan
    return SharpnessRun(eta_values, steps, every, loss_curve, np.asarray(marks), sharp, counts,
                        np.asarray(final, dtype=np.float64), diverged_at, [p.detach() for p in params])
