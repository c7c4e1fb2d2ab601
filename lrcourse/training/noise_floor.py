"""Why decay works: SGD with a constant η settles at a noise floor; a decaying η goes below it.

The model: L(θ) = ½ λ θ² in one dimension (or per eigendirection), and a stochastic gradient
g_t = λθ_t + ξ_t with E ξ = 0, Var ξ = σ²/B (a batch of B samples of per-example variance σ²).
SGD θ_{t+1} = θ_t − η g_t is then the linear recursion θ_{t+1} = (1 − ηλ) θ_t − η ξ_t, whose
variance v_t obeys v_{t+1} = (1 − ηλ)² v_t + η² σ²/B. For 0 < ηλ < 2 it converges to

    v_∞ = η σ² / (B λ (2 − ηλ)),    excess loss  E[L] − L* = ½ λ v_∞ = η σ² / (2B (2 − ηλ)),

which grows with η and with η/B. No constant η reaches the minimum; a schedule with
Σ η_t = ∞ and Σ η_t² < ∞ (Robbins & Monro, 1951), e.g. η_t ∝ 1/t, does. ``expected_excess``
iterates the exact variance recursion for any schedule; ``simulate`` draws the noise (seeded)
for many independent runs at once, to check the formula the way an experiment would.
"""
from __future__ import annotations

import numpy as np

from lrcourse import _checks

__all__ = ["stationary_excess_loss", "expected_excess", "simulate", "step_decay_schedule",
           "inverse_time_schedule", "constant_schedule"]


def stationary_excess_loss(eta, lam: float, sigma2: float, batch_size: int = 1):
    """η σ² / (2B (2 − ηλ)) for 0 < ηλ < 2 (∞ otherwise), broadcast over η."""
    eta = np.asarray(eta, dtype=float)
    lam = _checks.positive_float(lam, "lambda")
    sigma2 = _checks.positive_float(sigma2, "sigma2")
    batch_size = _checks.positive_int(batch_size, "batch_size")
    with np.errstate(divide="ignore"):
        out = eta * sigma2 / (2 * batch_size * (2 - eta * lam))
    return np.where((eta * lam > 0) & (eta * lam < 2), out, np.inf)


def _schedule(etas, steps):
    etas = np.broadcast_to(np.asarray(etas, dtype=float), (steps,)) if np.ndim(etas) == 0 \
        else np.asarray(etas, dtype=float)
    if etas.shape != (steps,) or np.any(etas < 0) or not np.all(np.isfinite(etas)):
        raise ValueError(f"Invalid schedule: need {steps} finite non-negative learning rates")
    return etas


def expected_excess(etas, lam: float, sigma2: float, theta0: float, steps: int,
                    batch_size: int = 1) -> np.ndarray:
    """E[L(θ_t)] − L* for t = 0 … steps under the schedule η_t (a scalar: constant), exactly:
    the mean m_t = Π(1 − η_s λ) θ_0 and the variance recursion above, E L = ½ λ (m² + v)."""
    steps = _checks.positive_int(steps, "steps")
    etas = _schedule(etas, steps)
    noise = _checks.positive_float(sigma2, "sigma2") / _checks.positive_int(batch_size, "batch_size")
    lam = _checks.positive_float(lam, "lambda")
    m, v = float(theta0), 0.0
    out = np.empty(steps + 1)
    out[0] = 0.5 * lam * m * m
    with np.errstate(over="ignore", invalid="ignore"):
        for t, eta in enumerate(etas, start=1):
            m, v = (1 - eta * lam) * m, (1 - eta * lam) ** 2 * v + eta * eta * noise
            out[t] = 0.5 * lam * (m * m + v)
    return out


def simulate(etas, lam: float, sigma2: float, theta0: float, steps: int, *, runs: int = 2000,
             batch_size: int = 1, seed: int = 0) -> np.ndarray:
    """The mean over ``runs`` independent SGD runs of L(θ_t) − L*, t = 0 … steps, with Gaussian
    gradient noise of variance σ²/B drawn from ``numpy.random.default_rng(seed)``."""
    steps = _checks.positive_int(steps, "steps")
    runs = _checks.positive_int(runs, "runs")
    etas = _schedule(etas, steps)
    lam = _checks.positive_float(lam, "lambda")
    scale = np.sqrt(_checks.positive_float(sigma2, "sigma2") / _checks.positive_int(batch_size, "batch_size"))
    rng = np.random.default_rng(_checks.seed(seed))
    theta = np.full(runs, float(theta0))
    out = np.empty(steps + 1)
    out[0] = 0.5 * lam * float(theta0) ** 2
    with np.errstate(over="ignore", invalid="ignore"):
        for t, eta in enumerate(etas, start=1):
            theta = theta - eta * (lam * theta + scale * rng.standard_normal(runs))
            out[t] = 0.5 * lam * np.mean(theta * theta)
    return out


def constant_schedule(eta: float, steps: int) -> np.ndarray:
    return np.full(_checks.positive_int(steps, "steps"), _checks.lr(eta))


def step_decay_schedule(eta0: float, steps: int, every: int, factor: float = 0.1) -> np.ndarray:
    """η_t = η_0 · factor^⌊t/every⌋."""
    t = np.arange(_checks.positive_int(steps, "steps"))
    return _checks.lr(eta0) * _checks.fraction(factor, "factor") ** (t // _checks.positive_int(every, "every"))


def inverse_time_schedule(eta0: float, steps: int, t0: float = 1.0) -> np.ndarray:
    """η_t = η_0 · t0 / (t0 + t): Σ η = ∞, Σ η² < ∞ (Robbins–Monro)."""
    t = np.arange(_checks.positive_int(steps, "steps"))
    t0 = _checks.positive_float(t0, "t0")
    return _checks.lr(eta0) * t0 / (t0 + t)
