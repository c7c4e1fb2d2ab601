"""Momentum tuned: the best (η, β) for heavy-ball on a quadratic, its rate, and its damping.

On L(θ) = ½ Σᵢ λᵢ θᵢ² (eigenvalues λ_min … λ_max, condition number κ = λ_max/λ_min), heavy
ball — torch's SGD with momentum, v ← βv + ∇L(θ), θ ← θ − ηv — moves each eigendirection by

    (θ_{t+1}, θ_t) = M(λ) (θ_t, θ_{t−1}),    M(λ) = [[1 + β − ηλ, −β], [1, 0]],

so the error shrinks like ρ(η, β)^t with ρ the largest |eigenvalue| of M(λ) over the spectrum.
Gradient descent is β = 0: ρ = max |1 − ηλ|, best at η = 2/(λ_min + λ_max) where ρ = (κ−1)/(κ+1).
Heavy ball's best pair (Polyak 1964) is

    η* = 4 / (√λ_max + √λ_min)²,   β* = ((√κ − 1)/(√κ + 1))²,   ρ* = (√κ − 1)/(√κ + 1),

the square root of κ where gradient descent has κ itself. Per direction, the two roots of
z² − (1 + β − ηλ) z + β are complex (under-damped: the error oscillates with |z| = √β) when
(1 + β − ηλ)² < 4β, real and equal at equality (critically damped), real and distinct
otherwise (over-damped). Everything here is closed form or a 2×2 eigenvalue: numpy only.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from lrcourse import _checks

__all__ = ["TunedRate", "optimal_gd", "optimal_heavy_ball", "gd_rate", "heavy_ball_rate",
           "rate_map", "damping", "heavy_ball_run", "steps_to_tolerance"]


@dataclass(frozen=True)
class TunedRate:
    """The best step size (and momentum) on a quadratic and the contraction ρ per step."""

    eta: float
    beta: float
    rate: float

    def steps(self, tol: float) -> int:
        """Steps for the error to shrink by ``tol`` at this rate: ⌈log tol / log ρ⌉."""
        return math.ceil(math.log(tol) / math.log(self.rate)) if 0 < self.rate < 1 else math.inf


def _spectrum(lam_min, lam_max):
    lo = _checks.positive_float(lam_min, "lambda_min")
    hi = _checks.positive_float(lam_max, "lambda_max")
    if lo > hi:
        raise ValueError(f"Invalid spectrum: lambda_min = {lo} > lambda_max = {hi}")
    return lo, hi


def optimal_gd(lam_min: float, lam_max: float) -> TunedRate:
    """η = 2/(λ_min + λ_max), ρ = (κ − 1)/(κ + 1): the best fixed-step gradient descent."""
    lo, hi = _spectrum(lam_min, lam_max)
    kappa = hi / lo
    return TunedRate(2 / (lo + hi), 0.0, (kappa - 1) / (kappa + 1))


def optimal_heavy_ball(lam_min: float, lam_max: float) -> TunedRate:
    """η* = 4/(√λ_max + √λ_min)², β* = ((√κ−1)/(√κ+1))², ρ* = (√κ−1)/(√κ+1)."""
    lo, hi = _spectrum(lam_min, lam_max)
    root = math.sqrt(hi / lo)
    rate = (root - 1) / (root + 1)
    return TunedRate(4 / (math.sqrt(hi) + math.sqrt(lo)) ** 2, rate**2, rate)


def gd_rate(eta, eigenvalues) -> np.ndarray:
    """ρ = max over λ of |1 − ηλ| (broadcast over an array of η)."""
    eta = np.asarray(eta, dtype=float)[..., None]
    lam = np.asarray(eigenvalues, dtype=float)
    return np.abs(1 - eta * lam).max(-1)


def _root_magnitude(eta, beta, lam):
    """The larger |root| of z² − (1 + β − ηλ) z + β, elementwise."""
    b = 1 + beta - eta * lam
    disc = b * b - 4 * beta
    real = np.sqrt(np.maximum(disc, 0.0))
    over = np.maximum(np.abs(b + real), np.abs(b - real)) / 2
    under = np.sqrt(np.maximum(beta, 0.0))  # complex pair: |z|² = β
    return np.where(disc >= 0, over, under * np.ones_like(b))


def heavy_ball_rate(eta, beta, eigenvalues) -> np.ndarray:
    """ρ(η, β) = max over λ of the spectral radius of M(λ) (broadcast over η and β)."""
    eta, beta = np.broadcast_arrays(np.asarray(eta, dtype=float), np.asarray(beta, dtype=float))
    lam = np.asarray(eigenvalues, dtype=float)
    return _root_magnitude(eta[..., None], beta[..., None], lam).max(-1)


def rate_map(etas, betas, eigenvalues) -> np.ndarray:
    """ρ on the grid: shape (len(betas), len(etas)), rows β, columns η (for a heat map)."""
    E, B = np.meshgrid(np.asarray(etas, float), np.asarray(betas, float))
    return heavy_ball_rate(E, B, eigenvalues)


def damping(eta: float, beta: float, lam: float, tol: float = 1e-12) -> str:
    """'under-damped', 'critically damped' or 'over-damped' for the direction with curvature λ."""
    disc = (1 + beta - eta * lam) ** 2 - 4 * beta
    if abs(disc) <= tol:
        return "critically damped"
    return "under-damped" if disc < 0 else "over-damped"


def heavy_ball_run(eigenvalues, eta: float, beta: float, theta0, steps: int) -> np.ndarray:
    """L(θ_t) for t = 0 … steps of heavy ball on L = ½ Σ λᵢ θᵢ² from θ_0 (with θ_{−1} = θ_0).
    Non-finite values stay (a diverged run is a result)."""
    lam = np.asarray(eigenvalues, dtype=float)
    steps = _checks.nonnegative_int(steps, "steps")
    theta = np.array(theta0, dtype=float).reshape(lam.shape)
    prev = theta.copy()
    losses = np.empty(steps + 1)
    with np.errstate(over="ignore", invalid="ignore"):
        losses[0] = 0.5 * np.sum(lam * theta**2)
        for t in range(1, steps + 1):
            theta, prev = theta - eta * lam * theta + beta * (theta - prev), theta
            losses[t] = 0.5 * np.sum(lam * theta**2)
    return losses


def steps_to_tolerance(losses, tol: float) -> int | None:
    """The first t with L(θ_t) ≤ tol·L(θ_0), or None if the run never gets there."""
    losses = np.asarray(losses, dtype=float)
    hit = np.flatnonzero(losses <= tol * losses[0])
    return int(hit[0]) if hit.size else None
