"""An optimizer race on a toy surface: every optimizer, every η, from the same start.

Each optimizer is a ``torch.optim.Optimizer`` class (``lrcourse.optim`` or ``torch.optim``)
with its hyper-parameters. For one optimizer, all K learning rates run together as a (K, 2)
tensor sharing one optimizer state (:class:`lrcourse.optim.unit_step.UnitStep`):

    g_t = ∇L(θ_t) (closed form, from the surface),   θ_{t+1} = θ_t − η·d_t(g_1 … g_t)

which is what ``optimizer_cls([θ], lr=η, **hyper)`` does to one θ, for every η at once. As in
:mod:`lrcourse.toy.gd`, a run whose θ turns non-finite or leaves a large box is marked diverged
at that step and frozen, and its path holds NaN from there (a plot simply stops).
"""
from __future__ import annotations

from typing import Mapping

import numpy as np
import torch

from lrcourse import _checks
from lrcourse.toy.gd import Trajectory, _check_steps, _default_bound
from lrcourse.toy.surfaces import Surface
from lrcourse.optim.unit_step import UnitStep

__all__ = ["trajectories", "race", "best_eta"]


def trajectories(surface: Surface, optimizer_cls, etas, steps: int = 300, start=None, *,
                 bound: float | None = None, **hyper) -> list[Trajectory]:
    """``optimizer_cls(lr=η, **hyper)`` on ``surface`` for every η in ``etas`` (one Trajectory each)."""
    etas = [_checks.lr(e) for e in np.atleast_1d(np.asarray(etas, dtype=object))]
    steps = _check_steps(steps)
    bound = _default_bound(surface) if bound is None else float(bound)
    theta0 = np.asarray(surface.start if start is None else start, dtype=float).reshape(-1)
    if theta0.shape != (surface.dim,):
        raise ValueError(f"start must have {surface.dim} coordinate(s), got shape {theta0.shape}")
    K = len(etas)
    theta = torch.tensor(np.repeat(theta0[None], K, axis=0), dtype=torch.float64)
    eta = torch.tensor(etas, dtype=torch.float64)
    stepper = UnitStep(optimizer_cls, [theta], **hyper)
    path = np.full((steps + 1, K, surface.dim), np.nan)
    path[0] = theta0
    alive = torch.ones(K, dtype=torch.bool)
    diverged_at = np.full(K, -1)
    with np.errstate(over="ignore", invalid="ignore"):
        for t in range(1, steps + 1):
            g = torch.from_numpy(np.nan_to_num(surface.grad(theta.numpy()), nan=0.0, posinf=0.0, neginf=0.0))
            stepper.step([theta], [g], eta, alive)
            now = theta.numpy()
            ok = np.all(np.isfinite(now), axis=1) & (np.max(np.abs(now), axis=1) <= bound)
            bad = alive.numpy() & ~ok
            if bad.any():
                diverged_at[bad] = t
                alive &= torch.from_numpy(ok)
            keep = alive.numpy()
            path[t, keep] = now[keep]
            if not keep.any():
                break
        losses = surface.value(path)
    return [
        Trajectory(eta=etas[k], path=path[:, k], losses=losses[:, k],
                   diverged_at=int(diverged_at[k]) if diverged_at[k] >= 0 else None)
        for k in range(K)
    ]


def race(surface: Surface, optimizers: Mapping[str, tuple], etas, steps: int = 300, start=None,
         *, bound: float | None = None) -> dict[str, list[Trajectory]]:
    """Every optimizer of ``optimizers`` ({name: (optimizer_cls, hyper dict)}) for every η.

    Returns {name: [Trajectory for each η]}, all from the same start.
    """
    if not optimizers:
        raise ValueError("optimizers must name at least one optimizer")
    out = {}
    for name, entry in optimizers.items():
        cls, hyper = (entry, {}) if isinstance(entry, type) else entry
        out[name] = trajectories(surface, cls, etas, steps, start, bound=bound, **dict(hyper))
    return out


def best_eta(runs: list[Trajectory], min_value: float = 0.0) -> tuple[float, float]:
    """(η, final L − L*) of the run that ends lowest; (nan, nan) if every run diverged."""
    finals = np.array([np.inf if r.diverged else r.losses[-1] - min_value for r in runs])
    if not np.isfinite(finals).any():
        return float("nan"), float("nan")
    k = int(np.argmin(finals))
    return float(runs[k].eta), float(finals[k])
