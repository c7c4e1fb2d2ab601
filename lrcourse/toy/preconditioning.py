"""Preconditioning on a quadratic: Newton, a diagonal preconditioner, and what the adaptive
methods' per-parameter scaling amounts to.

On L(θ) = ½ θᵀHθ the gradient is Hθ. A preconditioned step θ ← θ − η P Hθ contracts like
gradient descent on P^{1/2} H P^{1/2}, so its best fixed η converges at the rate
(κ' − 1)/(κ' + 1) with κ' the condition number of P^{1/2} H P^{1/2}. Newton is P = H⁻¹
(κ' = 1, one step with η = 1). A *diagonal* P = diag(1/d) can only rescale the coordinates:
when H is diagonal, d = diag(H) gives κ' = 1; when the same H is rotated, its diagonal no longer
says which direction is steep (at 45° in 2-D both entries are (λ_min + λ_max)/2) and κ' = κ.

Adagrad, RMSprop and Adam divide each coordinate's step by d_i = √(running mean of g_i²) (+ε):
a diagonal preconditioner estimated from gradients. :func:`adaptive_run` runs them (torch's
update rules and defaults, numpy, float64) and returns the loss and each step's d, so a chapter
can compare d with the true diagonal of H. Everything is numpy.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from lrcourse import _checks

__all__ = ["rotated_hessian", "newton_step", "preconditioned_condition", "AdaptiveRun", "adaptive_run",
           "gd_run", "METHODS"]

METHODS = ("adagrad", "rmsprop", "adam")


def rotated_hessian(lam_min: float, lam_max: float, angle: float = 0.0) -> np.ndarray:
    """H = R(angle) diag(λ_min, λ_max) R(angle)ᵀ: axis-aligned at angle 0."""
    lo = _checks.positive_float(lam_min, "lambda_min")
    hi = _checks.positive_float(lam_max, "lambda_max")
    if lo > hi:
        raise ValueError(f"Invalid spectrum: lambda_min = {lo} > lambda_max = {hi}")
    c, s = math.cos(float(angle)), math.sin(float(angle))
    R = np.array([[c, -s], [s, c]])
    return R @ np.diag([lo, hi]) @ R.T


def _square(H) -> np.ndarray:
    H = np.asarray(H, dtype=float)
    if H.ndim != 2 or H.shape[0] != H.shape[1] or not np.allclose(H, H.T):
        raise ValueError(f"Invalid Hessian: need a symmetric square matrix, got shape {H.shape}")
    return H


def newton_step(H, theta) -> np.ndarray:
    """θ − H⁻¹∇L(θ) on L = ½θᵀHθ (∇L = Hθ): the minimum, θ = 0, in one step."""
    H = _square(H)
    theta = np.asarray(theta, dtype=float)
    return theta - np.linalg.solve(H, H @ theta)


def preconditioned_condition(H, d) -> float:
    """κ of D^{-1/2} H D^{-1/2} with D = diag(d) (d > 0): the condition number a diagonal
    preconditioner P = diag(1/d) leaves for gradient descent."""
    H = _square(H)
    d = np.asarray(d, dtype=float)
    if d.shape != (H.shape[0],) or np.any(d <= 0) or not np.all(np.isfinite(d)):
        raise ValueError(f"Invalid scaling: need {H.shape[0]} positive finite numbers, got {d!r}")
    s = 1 / np.sqrt(d)
    lam = np.linalg.eigvalsh(s[:, None] * H * s[None, :])
    return float(lam[-1] / lam[0])


@dataclass(frozen=True)
class AdaptiveRun:
    """L(θ_t) for t = 0 … T and the per-coordinate divisor d_t (shape (T, dim)) of each step."""

    losses: np.ndarray
    divisors: np.ndarray


def gd_run(H, theta0, eta: float, steps: int, preconditioner=None) -> np.ndarray:
    """L(θ_t) of θ ← θ − η P Hθ (P = diag(preconditioner) or the identity); inf once it blows up."""
    H = _square(H)
    steps = _checks.nonnegative_int(steps, "steps")
    p = np.ones(H.shape[0]) if preconditioner is None else np.asarray(preconditioner, dtype=float)
    theta = np.array(theta0, dtype=float)
    losses = np.full(steps + 1, np.inf)
    with np.errstate(over="ignore", invalid="ignore"):
        for t in range(steps + 1):
            losses[t] = 0.5 * theta @ H @ theta
            if not np.isfinite(losses[t]) or losses[t] > 1e12 * losses[0]:
                losses[t:] = np.inf
                break
            theta = theta - eta * p * (H @ theta)
    return losses


def adaptive_run(H, theta0, method: str, eta: float, steps: int, *, betas=(0.9, 0.999),
                 alpha: float = 0.99, eps: float | None = None) -> AdaptiveRun:
    """Adagrad (G ← G + g², d = √G + ε), RMSprop (v ← αv + (1−α)g², d = √v + ε) or Adam
    (m, v with bias correction, d = √v̂ + ε; step η m̂/d) on L = ½θᵀHθ, torch's defaults
    (ε = 1e-10 for Adagrad, 1e-8 otherwise). A run that blows up has inf losses from then on."""
    if method not in METHODS:
        raise ValueError(f"Invalid method: {method!r} (use one of {', '.join(METHODS)})")
    H = _square(H)
    eta = _checks.lr(eta)
    steps = _checks.nonnegative_int(steps, "steps")
    eps = (1e-10 if method == "adagrad" else 1e-8) if eps is None else float(eps)
    b1, b2 = betas
    theta = np.array(theta0, dtype=float)
    m = np.zeros_like(theta)
    v = np.zeros_like(theta)
    losses = np.full(steps + 1, np.inf)
    divisors = np.full((steps, theta.size), np.nan)
    losses[0] = 0.5 * theta @ H @ theta
    with np.errstate(over="ignore", invalid="ignore"):
        for t in range(1, steps + 1):
            g = H @ theta
            if method == "adagrad":
                v = v + g * g
                d = np.sqrt(v) + eps
                step = g / d
            elif method == "rmsprop":
                v = alpha * v + (1 - alpha) * g * g
                d = np.sqrt(v) + eps
                step = g / d
            else:
                m = b1 * m + (1 - b1) * g
                v = b2 * v + (1 - b2) * g * g
                d = np.sqrt(v / (1 - b2**t)) + eps
                step = (m / (1 - b1**t)) / d
            theta = theta - eta * step
            divisors[t - 1] = d
            losses[t] = 0.5 * theta @ H @ theta
            if not np.isfinite(losses[t]) or losses[t] > 1e12 * losses[0]:
                losses[t:] = np.inf
                break
    return AdaptiveRun(losses, divisors)
