"""Adadelta: a step whose units come from a running average of past steps."""

import torch

from lrcourse.optim.base import PlainOptimizer, check_lr

__all__ = ["Adadelta", "adadelta_update"]


def adadelta_update(theta, grad, square_avg, acc_delta, lr=1.0, rho=0.9, eps=1e-6,
                    weight_decay=0.0, maximize=False):
    r"""One Adadelta step on θ and its two running averages, in place.

    β is torch's `rho` (Zeiler's ρ); v averages squared gradients, u squared steps.

        g ← ∇L + wd·θ                  (−∇L + wd·θ if maximize)
        v ← β·v + (1 − β)·g²
        Δ = √(u + ε) / √(v + ε) · g
        u ← β·u + (1 − β)·Δ²
        θ ← θ − η·Δ                    (Zeiler's paper has no η, i.e. η = 1)
    """
    if maximize:
        grad = -grad
    if weight_decay != 0:
        grad = grad.add(theta, alpha=weight_decay)
    square_avg.mul_(rho).addcmul_(grad, grad, value=1 - rho)
    std = square_avg.add(eps).sqrt_()
    delta = acc_delta.add(eps).sqrt_().div_(std).mul_(grad)
    acc_delta.mul_(rho).addcmul_(delta, delta, value=1 - rho)
    theta.add_(delta, alpha=-lr)


class Adadelta(PlainOptimizer):
    r"""Adadelta (Zeiler, 2012) with torch's signature: θ ← θ − η·√(u + ε)/√(v + ε)·g.

    State: `step`, `square_avg` (v), `acc_delta` (u), as in torch.optim.Adadelta.
    """

    def __init__(self, params, lr=1.0, rho=0.9, eps=1e-6, weight_decay=0, foreach=None, *,
                 capturable=False, maximize=False, differentiable=False):
        check_lr(lr)
        if not 0.0 <= rho <= 1.0:
            raise ValueError(f"Invalid rho value: {rho}")
        if not 0.0 <= eps:
            raise ValueError(f"Invalid epsilon value: {eps}")
        if not 0.0 <= weight_decay:
            raise ValueError(f"Invalid weight_decay value: {weight_decay}")
        defaults = dict(lr=lr, rho=rho, eps=eps, weight_decay=weight_decay, maximize=maximize)
        super().__init__(params, defaults, capturable=capturable, foreach=foreach,
                         differentiable=differentiable)

    @torch.no_grad()
    def step(self, closure=None):
        """Take one step on every parameter with a gradient; return the closure's loss."""
        loss = self._loss(closure)
        for group in self.param_groups:
            lr = float(group["lr"])
            for p in group["params"]:
                if p.grad is None:
                    continue
                state = self.state[p]
                if not state:
                    state["step"] = 0
                    state["square_avg"] = torch.zeros_like(p)
                    state["acc_delta"] = torch.zeros_like(p)
                state["step"] += 1
                adadelta_update(p, p.grad, state["square_avg"], state["acc_delta"], lr,
                                group["rho"], group["eps"], group["weight_decay"],
                                group["maximize"])
        return loss
