"""Step sizes the algorithm picks: Armijo backtracking, the Polyak step, and norm clipping.

Each is a `torch.optim.Optimizer` with torch's API. Like `torch.optim.LBFGS`, the two that
evaluate the loss take a ``closure`` in ``step(closure)`` that zeroes the gradients, computes
L(θ), calls ``backward()`` and returns L.

- :class:`SGDArmijo`: from η = lr, shrink η ← ρ·η until the sufficient-decrease (Armijo)
  condition holds,  L(θ − η∇L) ≤ L(θ) − c·η·‖∇L‖²,  then step. Every trial costs one loss
  evaluation; ``state["evaluations"]`` counts them and ``state["last_lr"]`` is the η taken.
- :class:`SGDPolyak`: η_t = (L(θ_t) − L*) / ‖∇L(θ_t)‖², capped at ``lr_max`` — the step that
  would reach L* if L were linear; needs L* (known on toy surfaces, estimated elsewhere).
- :class:`SGDClip`: θ ← θ − η·g·min(1, c/(‖g‖ + 10⁻⁶)) with ‖·‖ the norm over all parameters
  of the group (torch.nn.utils.clip_grad_norm_'s rule): no update is longer than η·c.
"""
from __future__ import annotations

import math

import torch
from torch.optim import Optimizer

__all__ = ["SGDArmijo", "SGDPolyak", "SGDClip"]


def _grads(group):
    return [p for p in group["params"] if p.grad is not None]


def _value(loss) -> float:
    """The closure's loss as a float (a tensor that requires grad is detached first)."""
    return float(loss.detach()) if torch.is_tensor(loss) else float(loss)


def _sq_norm(params) -> float:
    return float(sum(torch.sum(p.grad * p.grad) for p in params)) if params else 0.0


class SGDArmijo(Optimizer):
    """Gradient descent with backtracking line search (Armijo 1966)."""

    def __init__(self, params, lr=1.0, c=1e-4, shrink=0.5, max_trials=50):
        if not 0.0 < lr:
            raise ValueError(f"Invalid learning rate: {lr}")
        if not 0.0 < c < 1.0:
            raise ValueError(f"Invalid sufficient-decrease constant c: {c} (must be in (0, 1))")
        if not 0.0 < shrink < 1.0:
            raise ValueError(f"Invalid shrink factor: {shrink} (must be in (0, 1))")
        if isinstance(max_trials, bool) or not isinstance(max_trials, int) or max_trials < 1:
            raise ValueError(f"Invalid max_trials: {max_trials} (must be a positive integer)")
        super().__init__(params, dict(lr=lr, c=c, shrink=shrink, max_trials=max_trials))

    @torch.no_grad()
    def step(self, closure):
        if closure is None:
            raise RuntimeError("SGDArmijo requires a closure that returns the loss (as LBFGS does)")
        with torch.enable_grad():
            loss = _value(closure())
        state = self.state.setdefault("search", {"evaluations": 0, "last_lr": None})
        state["evaluations"] += 1
        for group in self.param_groups:
            params = _grads(group)
            start = [p.detach().clone() for p in params]
            grads = [p.grad.detach().clone() for p in params]
            g2 = sum(float(torch.sum(g * g)) for g in grads)
            eta = group["lr"]
            for _ in range(group["max_trials"]):
                for p, p0, g in zip(params, start, grads):
                    p.copy_(p0 - eta * g)
                with torch.enable_grad():
                    trial = _value(closure())  # recomputes gradients at the trial point, too
                state["evaluations"] += 1
                if math.isfinite(trial) and trial <= loss - group["c"] * eta * g2:
                    break
                eta *= group["shrink"]
            else:  # no step satisfied the condition: stay where we were
                for p, p0 in zip(params, start):
                    p.copy_(p0)
                eta = 0.0
            state["last_lr"] = eta
        return loss


class SGDPolyak(Optimizer):
    """Gradient descent with the Polyak step η_t = (L(θ_t) − L*)/‖∇L(θ_t)‖², capped at lr_max."""

    def __init__(self, params, f_star=0.0, lr_max=1.0, eps=1e-12):
        if not math.isfinite(f_star):
            raise ValueError(f"Invalid f_star: {f_star} (the minimum value L*, finite)")
        if not 0.0 < lr_max:
            raise ValueError(f"Invalid lr_max: {lr_max}")
        if not 0.0 <= eps:
            raise ValueError(f"Invalid epsilon value: {eps}")
        super().__init__(params, dict(f_star=f_star, lr_max=lr_max, eps=eps))

    @torch.no_grad()
    def step(self, closure):
        if closure is None:
            raise RuntimeError("SGDPolyak requires a closure that returns the loss")
        with torch.enable_grad():
            loss = _value(closure())
        for group in self.param_groups:
            params = _grads(group)
            gap = max(loss - group["f_star"], 0.0)
            eta = min(gap / (_sq_norm(params) + group["eps"]), group["lr_max"])
            for p in params:
                p.add_(p.grad, alpha=-eta)
            self.state.setdefault("polyak", {})["last_lr"] = eta
        return loss


class SGDClip(Optimizer):
    """Gradient descent on the clipped gradient g·min(1, max_norm/‖g‖) (norm over the group)."""

    def __init__(self, params, lr=1e-3, max_norm=1.0):
        if not 0.0 <= lr:
            raise ValueError(f"Invalid learning rate: {lr}")
        if not 0.0 < max_norm:
            raise ValueError(f"Invalid max_norm: {max_norm}")
        super().__init__(params, dict(lr=lr, max_norm=max_norm))

    @torch.no_grad()
    def step(self, closure=None):
        loss = None
        if closure is not None:
            with torch.enable_grad():
                loss = closure()
        for group in self.param_groups:
            params = _grads(group)
            norm = math.sqrt(_sq_norm(params))
            scale = min(1.0, group["max_norm"] / (norm + 1e-6))  # clip_grad_norm_'s 1e-6
            for p in params:
                p.add_(p.grad, alpha=-group["lr"] * scale)
        return loss
