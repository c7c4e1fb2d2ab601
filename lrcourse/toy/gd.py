"""Gradient-descent trajectories on a toy surface, with divergence detection.

The update is θ_{t+1} = θ_t − η·∇L(θ_t) (optionally with heavy-ball momentum in torch's
convention: v_{t+1} = β·v_t + ∇L(θ_t), θ_{t+1} = θ_t − η·v_{t+1}). Many learning rates run
as one numpy computation: ``run_many`` steps all of them together, which is what makes a
slider's precomputed frames cheap. A run that diverges is a result, not an error: the
trajectory stops there and ``diverged_at`` records the step.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from lrcourse import _checks
from lrcourse.toy.surfaces import Surface


@dataclass
class Trajectory:
    """θ_0 … θ_T for one η. After divergence the path holds NaN (so plots simply stop)."""

    eta: float
    path: np.ndarray  # (steps + 1, d)
    losses: np.ndarray  # (steps + 1,)
    diverged_at: int | None  # first step t at which θ_t was non-finite or left the bound

    @property
    def diverged(self) -> bool:
        return self.diverged_at is not None

    @property
    def final(self) -> np.ndarray:
        return self.path[-1]

    def steps_to(self, tol: float, min_value: float = 0.0) -> int | None:
        """First t with L(θ_t) − L* ≤ tol, or None if never reached."""
        gap = self.losses - min_value
        hit = np.flatnonzero(np.isfinite(gap) & (gap <= tol))
        return int(hit[0]) if hit.size else None


def check_lr(eta) -> float:
    """Validate a learning rate with torch's wording; return it as a float."""
    return _checks.lr(eta)


def _check_steps(steps) -> int:
    return _checks.positive_int(steps, "number of steps")


def _default_bound(surface: Surface) -> float:
    """Leaving a box 10⁴ times the plotting window's half-width around its centre = diverged."""
    window = np.atleast_2d(np.asarray(surface.window, dtype=float))
    half = float(np.max(window[:, 1] - window[:, 0])) / 2
    return 1e4 * max(half, 1.0)


def run_many(
    surface: Surface,
    etas,
    steps: int = 200,
    start=None,
    *,
    momentum: float = 0.0,
    nesterov: bool = False,
    bound: float | None = None,
) -> list[Trajectory]:
    """Gradient descent for every η in ``etas`` at once (vectorised over η).

    Returns one :class:`Trajectory` per η, in order. ``bound``: a run whose |θ|∞ exceeds it
    (or turns NaN/inf) is marked diverged at that step and frozen.
    """
    etas = [check_lr(e) for e in np.atleast_1d(np.asarray(etas, dtype=object))]
    steps = _check_steps(steps)
    if not (0.0 <= momentum < 1.0):
        raise ValueError(f"Invalid momentum value: {momentum}")
    if nesterov and momentum <= 0:
        raise ValueError("Nesterov momentum requires a momentum")
    bound = _default_bound(surface) if bound is None else float(bound)
    theta0 = np.asarray(surface.start if start is None else start, dtype=float).reshape(-1)
    if theta0.shape != (surface.dim,):
        raise ValueError(f"start must have {surface.dim} coordinate(s), got shape {theta0.shape}")

    K = len(etas)
    eta = np.asarray(etas)[:, None]
    path = np.full((steps + 1, K, surface.dim), np.nan)
    path[0] = theta0
    theta = np.repeat(theta0[None, :], K, axis=0)
    velocity = np.zeros_like(theta)
    alive = np.ones(K, dtype=bool)
    diverged_at = np.full(K, -1)
    with np.errstate(over="ignore", invalid="ignore"):
        for t in range(1, steps + 1):
            g = surface.grad(theta)
            if momentum:
                velocity = momentum * velocity + g
                g = g + momentum * velocity if nesterov else velocity
            theta = np.where(alive[:, None], theta - eta * g, theta)
            bad = alive & ~(np.all(np.isfinite(theta), axis=1) & (np.max(np.abs(theta), axis=1) <= bound))
            if bad.any():
                diverged_at[bad] = t
                alive &= ~bad
            path[t, alive] = theta[alive]
            if not alive.any():
                break
        losses = surface.value(path)  # (steps + 1, K), NaN after divergence
    return [
        Trajectory(
            eta=etas[k],
            path=path[:, k],
            losses=losses[:, k],
            diverged_at=int(diverged_at[k]) if diverged_at[k] >= 0 else None,
        )
        for k in range(K)
    ]


def run(surface: Surface, eta: float, steps: int = 200, start=None, **kwargs) -> Trajectory:
    """Gradient descent θ_{t+1} = θ_t − η∇L(θ_t) for ``steps`` steps from ``start``."""
    return run_many(surface, [eta], steps, start, **kwargs)[0]


def divergence_threshold(
    surface: Surface, steps: int = 200, start=None, lo: float = 1e-6, hi: float = 1e3,
    rtol: float = 1e-9, points: int = 64,
) -> float:
    """The smallest η at which GD from ``start`` diverges within ``steps`` (to relative ``rtol``).

    Each round runs ``points`` log-spaced η in the bracket as one vectorised computation and
    narrows the bracket to the first diverging η and its predecessor. For a quadratic with
    top Hessian eigenvalue λ_max the answer approaches 2/λ_max (θ ← (1 − ηλ)θ grows iff
    |1 − ηλ| > 1); how close depends on ``steps`` and the divergence bound.
    """
    if run(surface, lo, steps, start).diverged or not run(surface, hi, steps, start).diverged:
        raise ValueError(f"No divergence threshold in [{lo}, {hi}] for {surface.name}")
    while hi / lo - 1 > rtol:
        grid = np.geomspace(lo, hi, points)
        diverged = [tr.diverged for tr in run_many(surface, grid[1:-1], steps, start)] + [True]
        k = diverged.index(True) + 1  # first diverging grid point (grid[-1] = hi diverges)
        lo, hi = grid[k - 1], grid[k]
    return float(hi)
