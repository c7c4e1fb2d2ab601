"""Stochastic gradient descent with (heavy-ball or Nesterov) momentum."""

import torch

from lrcourse.optim.base import PlainOptimizer, check_lr

__all__ = ["SGD", "sgd_update"]


def sgd_update(theta, grad, buf, lr, momentum=0.0, dampening=0.0, weight_decay=0.0,
               nesterov=False, maximize=False):
    r"""One SGD step on θ, in place; returns the momentum buffer v (None when μ = 0).

        g ← ∇L + wd·θ                  (−∇L + wd·θ if maximize)
        v ← g at the first step, then v ← μ·v + (1 − dampening)·g
        d ← g + μ·v if nesterov else v  (d = g when μ = 0)
        θ ← θ − η·d

    This is torch's convention. The textbook writes momentum as a velocity that already
    carries η, v ← μv − η∇L, θ ← θ + v; with a constant η and no dampening the two give the same θ
    (the textbook's v is −η times torch's).
    Call on plain tensors, or under `torch.no_grad()` for leaves that require grad.
    """
    if maximize:
        grad = -grad
    if weight_decay != 0:
        grad = grad.add(theta, alpha=weight_decay)
    if momentum != 0:
        if buf is None:
            buf = grad.detach().clone()
        else:
            buf.mul_(momentum).add_(grad, alpha=1 - dampening)
        grad = grad.add(buf, alpha=momentum) if nesterov else buf
    theta.add_(grad, alpha=-lr)
    return buf


class SGD(PlainOptimizer):
    r"""SGD with momentum μ, dampening, Nesterov and L2 weight decay; torch's signature.

    Per parameter: v ← μ·v + (1 − dampening)·g,  θ ← θ − η·v  (see `sgd_update`).
    State: `momentum_buffer` (only when μ ≠ 0), as in torch.optim.SGD.
    """

    def __init__(self, params, lr=1e-3, momentum=0, dampening=0, weight_decay=0,
                 nesterov=False, *, maximize=False, foreach=None, differentiable=False,
                 fused=None):
        check_lr(lr)
        if momentum < 0.0:
            raise ValueError(f"Invalid momentum value: {momentum}")
        if weight_decay < 0.0:
            raise ValueError(f"Invalid weight_decay value: {weight_decay}")
        if nesterov and (momentum <= 0 or dampening != 0):
            raise ValueError("Nesterov momentum requires a momentum and zero dampening")
        defaults = dict(lr=lr, momentum=momentum, dampening=dampening,
                        weight_decay=weight_decay, nesterov=nesterov, maximize=maximize)
        super().__init__(params, defaults, foreach=foreach, differentiable=differentiable,
                         fused=fused)

    @torch.no_grad()
    def step(self, closure=None):
        """Take one step on every parameter with a gradient; return the closure's loss."""
        loss = self._loss(closure)
        for group in self.param_groups:
            lr, momentum = float(group["lr"]), group["momentum"]
            for p in group["params"]:
                if p.grad is None:
                    continue
                buf = self.state[p].get("momentum_buffer") if momentum != 0 else None
                buf = sgd_update(p, p.grad, buf, lr, momentum, group["dampening"],
                                 group["weight_decay"], group["nesterov"], group["maximize"])
                if buf is not None:
                    self.state[p]["momentum_buffer"] = buf
        return loss
