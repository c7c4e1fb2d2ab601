"""RMSprop: divide the step by a running root-mean-square of recent gradients."""

import torch

from lrcourse.optim.base import PlainOptimizer, check_lr

__all__ = ["RMSprop", "rmsprop_update"]


def rmsprop_update(theta, grad, square_avg, lr, alpha=0.99, eps=1e-8, weight_decay=0.0,
                   momentum=0.0, buf=None, grad_avg=None, maximize=False):
    r"""One RMSprop step on θ and its running averages, in place.

    β is torch's `alpha`; `grad_avg` ḡ is given when centered, `buf` b when μ > 0.

        g ← ∇L + wd·θ                  (−∇L + wd·θ if maximize)
        v ← β·v + (1 − β)·g²
        centered:  ḡ ← ḡ + (1 − β)·(g − ḡ),  s = √(v − ḡ²)   else s = √v
        μ > 0:     b ← μ·b + g/(s + ε),  θ ← θ − η·b
        μ = 0:     θ ← θ − η·g/(s + ε)
    """
    if maximize:
        grad = -grad
    if weight_decay != 0:
        grad = grad.add(theta, alpha=weight_decay)
    square_avg.mul_(alpha).addcmul_(grad, grad, value=1 - alpha)
    if grad_avg is not None:
        grad_avg.lerp_(grad, 1 - alpha)
        avg = square_avg.addcmul(grad_avg, grad_avg, value=-1).sqrt_()
    else:
        avg = square_avg.sqrt()
    avg.add_(eps)
    if momentum > 0:
        buf.mul_(momentum).addcdiv_(grad, avg)
        theta.add_(buf, alpha=-lr)
    else:
        theta.addcdiv_(grad, avg, value=-lr)


class RMSprop(PlainOptimizer):
    r"""RMSprop (Hinton, 2012) with torch's signature: v ← β·v + (1 − β)·g², θ ← θ − η·g/(√v + ε).

    Options: `centered` (divide by the running standard deviation instead), `momentum` μ,
    L2 `weight_decay`. State: `step`, `square_avg`, `momentum_buffer` (μ > 0), `grad_avg`
    (centered), as in torch.optim.RMSprop.
    """

    def __init__(self, params, lr=1e-2, alpha=0.99, eps=1e-8, weight_decay=0, momentum=0,
                 centered=False, capturable=False, foreach=None, maximize=False,
                 differentiable=False):
        check_lr(lr)
        if not 0.0 <= eps:
            raise ValueError(f"Invalid epsilon value: {eps}")
        if not 0.0 <= momentum:
            raise ValueError(f"Invalid momentum value: {momentum}")
        if not 0.0 <= weight_decay:
            raise ValueError(f"Invalid weight_decay value: {weight_decay}")
        if not 0.0 <= alpha:
            raise ValueError(f"Invalid alpha value: {alpha}")
        defaults = dict(lr=lr, momentum=momentum, alpha=alpha, eps=eps, centered=centered,
                        weight_decay=weight_decay, maximize=maximize)
        super().__init__(params, defaults, capturable=capturable, foreach=foreach,
                         differentiable=differentiable)

    @torch.no_grad()
    def step(self, closure=None):
        """Take one step on every parameter with a gradient; return the closure's loss."""
        loss = self._loss(closure)
        for group in self.param_groups:
            lr, momentum, centered = float(group["lr"]), group["momentum"], group["centered"]
            for p in group["params"]:
                if p.grad is None:
                    continue
                state = self.state[p]
                if not state:
                    state["step"] = 0
                    state["square_avg"] = torch.zeros_like(p)
                    if momentum > 0:
                        state["momentum_buffer"] = torch.zeros_like(p)
                    if centered:
                        state["grad_avg"] = torch.zeros_like(p)
                state["step"] += 1
                rmsprop_update(p, p.grad, state["square_avg"], lr, group["alpha"], group["eps"],
                               group["weight_decay"], momentum, state.get("momentum_buffer"),
                               state["grad_avg"] if centered else None, group["maximize"])
        return loss
