"""An optimizer's step per unit of η, for many learning rates from one optimizer state.

For SGD (with momentum, dampening or Nesterov), Adagrad, RMSprop, Adadelta and Adam the
step is η times a direction that depends on the gradients alone:

    θ_{t+1} = θ_t − η·d_t,   d_t = D(∇L(θ_1), …, ∇L(θ_t))      (no weight decay)

and every coordinate's direction depends on that coordinate's gradients only. So K models
stacked along a leading axis can share **one** optimizer: give it the stacked gradients, let
it step a shadow tensor that was reset to 0 with lr = 1 (it lands exactly on −d_t), and
apply θ_k ← θ_k − η_k·d_k with each member's own η_k. Member k then follows what the same
optimizer with ``lr=η_k`` does to model k alone (to rounding).

Weight decay does depend on θ, so :class:`UnitStep` applies it itself, as torch does:
L2 (``weight_decay`` in SGD, Adagrad, RMSprop, Adadelta, Adam): g ← ∇L + wd·θ before the
optimizer sees it; decoupled (AdamW): θ ← (1 − η·wd)·θ before the step.
"""
from __future__ import annotations

from typing import Sequence

import torch

__all__ = ["UnitStep"]


class UnitStep:
    """One ``optimizer_cls(**hyper)`` for K stacked models; ``step`` moves them all.

    ``params``: the stacked parameter tensors, each of shape (K, …). ``hyper``: the
    optimizer's keyword arguments except ``lr`` (its defaults apply, e.g. AdamW's
    weight_decay = 1e-2). The optimizer keeps its usual state (``self.optimizer.state``).
    """

    def __init__(self, optimizer_cls, params: Sequence[torch.Tensor], **hyper):
        if "lr" in hyper:
            raise ValueError("UnitStep takes η in step(), not lr= (the optimizer runs with lr=1)")
        params = list(params)
        if not params or any(p.dim() < 1 for p in params):
            raise ValueError("params must be tensors with a leading member axis (K, ...)")
        self.K = int(params[0].shape[0])
        if any(p.shape[0] != self.K for p in params):
            raise ValueError("every parameter tensor needs the same number of members K")
        self.shadows = [torch.zeros_like(p) for p in params]
        self.optimizer = optimizer_cls(self.shadows, lr=1.0, **hyper)
        defaults = self.optimizer.defaults
        self.weight_decay = float(defaults.get("weight_decay", 0.0) or 0.0)
        self.decoupled = bool(defaults.get("decoupled_weight_decay", False))
        for group in self.optimizer.param_groups:
            if "weight_decay" in group:
                group["weight_decay"] = 0.0  # applied by UnitStep itself
            group["lr"] = 1.0

    @torch.no_grad()
    def directions(self, params: Sequence[torch.Tensor], grads: Sequence[torch.Tensor]) -> list[torch.Tensor]:
        """d_t for every tensor (advances the optimizer's state by one step)."""
        if len(grads) != len(self.shadows) or len(params) != len(self.shadows):
            raise ValueError(f"expected {len(self.shadows)} parameter and gradient tensors")
        for shadow, p, g in zip(self.shadows, params, grads):
            if not self.decoupled and self.weight_decay:
                g = g + self.weight_decay * p  # L2: g ← ∇L + wd·θ
            shadow.zero_()
            shadow.grad = g.detach().to(shadow.dtype)
        self.optimizer.step()  # shadow ← 0 − 1·d_t
        return [-s for s in self.shadows]

    @torch.no_grad()
    def step(self, params: Sequence[torch.Tensor], grads: Sequence[torch.Tensor], eta: torch.Tensor,
             alive: torch.Tensor | None = None) -> list[torch.Tensor]:
        """θ_k ← θ_k − η_k·d_k in place for every member k (``eta`` of shape (K,)).

        Members where ``alive`` (a (K,) bool tensor) is False keep their θ. Returns d_t.
        """
        eta = torch.as_tensor(eta, dtype=params[0].dtype).reshape(-1)
        if eta.shape != (self.K,):
            raise ValueError(f"eta must hold one learning rate per member: shape ({self.K},)")
        dirs = self.directions(params, grads)
        for p, d in zip(params, dirs):
            e = eta.view((self.K,) + (1,) * (p.dim() - 1))
            new = p * (1 - e * self.weight_decay) if self.decoupled and self.weight_decay else p
            new = new - e * d
            if alive is not None:
                new = torch.where(alive.view(e.shape), new, p)
            p.copy_(new)
        return dirs
