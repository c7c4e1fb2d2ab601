"""Step sizes the algorithm picks, on the toy surfaces (numpy, like :mod:`lrcourse.toy.gd`).

Each run returns a :class:`~lrcourse.toy.gd.Trajectory` (its ``eta`` is the first step size)
plus what it cost: the number of loss evaluations and gradient evaluations, and the η it took
at each step. Rules as in :mod:`lrcourse.optim.step_size`:

- Armijo backtracking: from η_0, halve until L(θ − η∇L) ≤ L(θ) − c·η·‖∇L‖².
- Polyak: η_t = (L(θ_t) − L*)/‖∇L(θ_t)‖² (capped at ``eta_max``).
- Clipping: θ ← θ − η·∇L·min(1, c/‖∇L‖), so no step is longer than η·c.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from lrcourse import _checks
from lrcourse.toy.gd import Trajectory
from lrcourse.toy.surfaces import Surface

__all__ = ["SearchRun", "armijo", "polyak", "clipped"]


@dataclass
class SearchRun:
    trajectory: Trajectory
    step_sizes: np.ndarray  # η_t taken at step t = 0 … T−1
    loss_evaluations: int
    grad_evaluations: int


def _start(surface: Surface, start):
    return np.array(surface.start if start is None else start, dtype=float)


def _finish(eta0, path, losses, etas, n_loss, n_grad, bound) -> SearchRun:
    path, losses = np.array(path), np.array(losses)
    bad = ~np.isfinite(losses) | (np.abs(path).max(-1) > bound)
    diverged = int(np.argmax(bad)) if bad.any() else None
    if diverged is not None:
        path[diverged:] = np.nan
        losses[diverged:] = np.nan
    return SearchRun(Trajectory(eta0, path, losses, diverged), np.array(etas), n_loss, n_grad)


def armijo(surface: Surface, eta0: float = 1.0, steps: int = 100, start=None, *, c: float = 1e-4,
           shrink: float = 0.5, max_trials: int = 50, bound: float = 1e6) -> SearchRun:
    eta0 = _checks.positive_float(eta0, "eta0")
    steps = _checks.positive_int(steps, "steps")
    c = _checks.fraction(c, "c")
    shrink = _checks.fraction(shrink, "shrink")
    theta = _start(surface, start)
    loss = float(surface.value(theta))
    path, losses, etas, n_loss, n_grad = [theta], [loss], [], 1, 0
    with np.errstate(over="ignore", invalid="ignore"):
        for _ in range(steps):
            g = surface.grad(theta)
            n_grad += 1
            g2 = float(g @ g)
            eta = eta0
            for _ in range(max_trials):
                trial = float(surface.value(theta - eta * g))
                n_loss += 1
                if np.isfinite(trial) and trial <= loss - c * eta * g2:
                    break
                eta *= shrink
            else:
                eta, trial = 0.0, loss
            theta, loss = theta - eta * g, trial
            path.append(theta)
            losses.append(loss)
            etas.append(eta)
    return _finish(eta0, path, losses, etas, n_loss, n_grad, bound)


def polyak(surface: Surface, steps: int = 100, start=None, *, f_star: float | None = None,
           eta_max: float = 10.0, bound: float = 1e6) -> SearchRun:
    steps = _checks.positive_int(steps, "steps")
    f_star = surface.min_value if f_star is None else float(f_star)
    theta = _start(surface, start)
    path, losses, etas = [theta], [float(surface.value(theta))], []
    with np.errstate(over="ignore", invalid="ignore"):
        for _ in range(steps):
            g = surface.grad(theta)
            eta = min(max(losses[-1] - f_star, 0.0) / (float(g @ g) + 1e-300), eta_max)
            theta = theta - eta * g
            path.append(theta)
            losses.append(float(surface.value(theta)))
            etas.append(eta)
    return _finish(etas[0] if etas else 0.0, path, losses, etas, steps + 1, steps, bound)


def clipped(surface: Surface, eta: float, max_norm: float, steps: int = 100, start=None, *,
            bound: float = 1e6) -> SearchRun:
    eta = _checks.lr(eta)
    max_norm = _checks.positive_float(max_norm, "max_norm")
    steps = _checks.positive_int(steps, "steps")
    theta = _start(surface, start)
    path, losses = [theta], [float(surface.value(theta))]
    with np.errstate(over="ignore", invalid="ignore"):
        for _ in range(steps):
            g = surface.grad(theta)
            norm = float(np.sqrt(g @ g))
            theta = theta - eta * g * (min(1.0, max_norm / norm) if norm > 0 else 1.0)
            path.append(theta)
            losses.append(float(surface.value(theta)))
    return _finish(eta, path, losses, [eta] * steps, steps + 1, steps, bound)
