"""Adagrad: each coordinate's step shrinks with the sum of its squared gradients."""

import torch

from lrcourse.optim.base import PlainOptimizer, check_lr

__all__ = ["Adagrad", "adagrad_update"]


def adagrad_update(theta, grad, sum_sq, step, lr, lr_decay=0.0, weight_decay=0.0, eps=1e-10,
                   maximize=False):
    r"""One Adagrad step on θ and the running sum G, in place; `step` is t ≥ 1.

        g ← ∇L + wd·θ                  (−∇L + wd·θ if maximize)
        η_t = η / (1 + (t − 1)·lr_decay)
        G ← G + g²
        θ ← θ − η_t · g / (√G + ε)
    """
    if maximize:
        grad = -grad
    if weight_decay != 0:
        grad = grad.add(theta, alpha=weight_decay)
    lr_t = lr / (1 + (step - 1) * lr_decay)
    sum_sq.addcmul_(grad, grad, value=1)
    std = sum_sq.sqrt().add_(eps)
    theta.addcdiv_(grad, std, value=-lr_t)


class Adagrad(PlainOptimizer):
    r"""Adagrad (Duchi et al., 2011) with torch's signature: G ← G + g², θ ← θ − η_t·g/(√G + ε).

    State: `step`, `sum` (G, starting at `initial_accumulator_value`), created in the
    constructor as torch does. Unlike torch 2.13, which fills G from the constructor's
    `initial_accumulator_value` for every group, each group's own value is used.
    """

    def __init__(self, params, lr=1e-2, lr_decay=0, weight_decay=0, initial_accumulator_value=0,
                 eps=1e-10, foreach=None, *, maximize=False, differentiable=False, fused=None):
        check_lr(lr)
        if not 0.0 <= lr_decay:
            raise ValueError(f"Invalid lr_decay value: {lr_decay}")
        if not 0.0 <= weight_decay:
            raise ValueError(f"Invalid weight_decay value: {weight_decay}")
        if not 0.0 <= initial_accumulator_value:
            raise ValueError(
                f"Invalid initial_accumulator_value value: {initial_accumulator_value}")
        if not 0.0 <= eps:
            raise ValueError(f"Invalid epsilon value: {eps}")
        defaults = dict(lr=lr, lr_decay=lr_decay, eps=eps, weight_decay=weight_decay,
                        initial_accumulator_value=initial_accumulator_value, maximize=maximize)
        super().__init__(params, defaults, foreach=foreach, differentiable=differentiable,
                         fused=fused)
        for group in self.param_groups:
            for p in group["params"]:
                self._init_state(p, group)

    def _init_state(self, p, group):
        state = self.state[p]
        state["step"] = 0
        state["sum"] = torch.full_like(p, group["initial_accumulator_value"],
                                       memory_format=torch.preserve_format)
        return state

    @torch.no_grad()
    def step(self, closure=None):
        """Take one step on every parameter with a gradient; return the closure's loss."""
        loss = self._loss(closure)
        for group in self.param_groups:
            lr = float(group["lr"])
            for p in group["params"]:
                if p.grad is None:
                    continue
                state = self.state[p] or self._init_state(p, group)
                state["step"] += 1
                adagrad_update(p, p.grad, state["sum"], state["step"], lr, group["lr_decay"],
                               group["weight_decay"], group["eps"], group["maximize"])
        return loss
