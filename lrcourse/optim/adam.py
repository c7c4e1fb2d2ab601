"""Adam and AdamW: momentum on the gradient, RMSprop on its scale, both bias-corrected."""

import torch

from lrcourse.optim.base import PlainOptimizer, check_lr

__all__ = ["Adam", "AdamW", "adam_update"]


def adam_update(theta, grad, exp_avg, exp_avg_sq, step, lr=1e-3, beta1=0.9, beta2=0.999,
                eps=1e-8, weight_decay=0.0, max_exp_avg_sq=None, decoupled_weight_decay=False,
                maximize=False):
    r"""One Adam step on θ and its moments m, v, in place; `step` is t ≥ 1.

        g ← ∇L (−∇L if maximize);  L2 decay: g ← g + wd·θ;  decoupled (AdamW): θ ← (1 − η·wd)·θ
        m ← β₁·m + (1 − β₁)·g        (computed as m + (1 − β₁)·(g − m))
        v ← β₂·v + (1 − β₂)·g²
        amsgrad (`max_exp_avg_sq` given): v_max ← max(v_max, v), used in place of v
        m̂ = m / (1 − β₁ᵗ),  v̂ = v / (1 − β₂ᵗ)
        θ ← θ − η·m̂ / (√v̂ + ε)
    """
    if maximize:
        grad = -grad
    if weight_decay != 0:
        if decoupled_weight_decay:
            theta.mul_(1 - lr * weight_decay)
        else:
            grad = grad.add(theta, alpha=weight_decay)
    exp_avg.lerp_(grad, 1 - beta1)
    exp_avg_sq.mul_(beta2).addcmul_(grad, grad, value=1 - beta2)
    bias_correction1 = 1 - beta1**step
    bias_correction2 = 1 - beta2**step
    v = exp_avg_sq
    if max_exp_avg_sq is not None:
        torch.maximum(max_exp_avg_sq, exp_avg_sq, out=max_exp_avg_sq)
        v = max_exp_avg_sq
    denom = (v.sqrt() / bias_correction2**0.5).add_(eps)  # √v̂ + ε
    theta.addcdiv_(exp_avg, denom, value=-lr / bias_correction1)  # θ − η·m̂/(√v̂ + ε)


class Adam(PlainOptimizer):
    r"""Adam (Kingma & Ba, 2015) with torch's signature: θ ← θ − η·m̂/(√v̂ + ε).

    Options: L2 `weight_decay` added to g, or decoupled (`decoupled_weight_decay=True`, which
    is AdamW), `amsgrad`, `maximize`. State: `step`, `exp_avg` (m), `exp_avg_sq` (v),
    `max_exp_avg_sq` (amsgrad), as in torch.optim.Adam. See `adam_update` for the formula.
    """

    def __init__(self, params, lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=0,
                 amsgrad=False, *, foreach=None, maximize=False, capturable=False,
                 differentiable=False, fused=None, decoupled_weight_decay=False):
        check_lr(lr)
        if not 0.0 <= eps:
            raise ValueError(f"Invalid epsilon value: {eps}")
        if not 0.0 <= betas[0] < 1.0:
            raise ValueError(f"Invalid beta parameter at index 0: {betas[0]}")
        if not 0.0 <= betas[1] < 1.0:
            raise ValueError(f"Invalid beta parameter at index 1: {betas[1]}")
        if not 0.0 <= weight_decay:
            raise ValueError(f"Invalid weight_decay value: {weight_decay}")
        if not (all(isinstance(b, float) for b in betas)
                or all(isinstance(b, torch.Tensor) for b in betas)):
            raise ValueError("betas must be either both floats or both Tensors")
        for i, b in enumerate(betas):
            if isinstance(b, torch.Tensor) and b.numel() != 1:
                raise ValueError(f"Tensor betas[{i}] must be 1-element")
        defaults = dict(lr=lr, betas=tuple(betas), eps=eps, weight_decay=weight_decay,
                        amsgrad=amsgrad, maximize=maximize,
                        decoupled_weight_decay=decoupled_weight_decay)
        super().__init__(params, defaults, foreach=foreach, capturable=capturable,
                         differentiable=differentiable, fused=fused)

    @torch.no_grad()
    def step(self, closure=None):
        """Take one step on every parameter with a gradient; return the closure's loss."""
        loss = self._loss(closure)
        for group in self.param_groups:
            lr, amsgrad = float(group["lr"]), group["amsgrad"]
            beta1, beta2 = (float(b) for b in group["betas"])
            for p in group["params"]:
                if p.grad is None:
                    continue
                state = self.state[p]
                if not state:
                    state["step"] = 0
                    state["exp_avg"] = torch.zeros_like(p)
                    state["exp_avg_sq"] = torch.zeros_like(p)
                    if amsgrad:
                        state["max_exp_avg_sq"] = torch.zeros_like(p)
                state["step"] += 1
                adam_update(p, p.grad, state["exp_avg"], state["exp_avg_sq"], state["step"],
                            lr, beta1, beta2, group["eps"], group["weight_decay"],
                            state["max_exp_avg_sq"] if amsgrad else None,
                            group["decoupled_weight_decay"], group["maximize"])
        return loss


class AdamW(Adam):
    r"""AdamW (Loshchilov & Hutter, 2019): Adam with decoupled weight decay, torch's signature.

        θ ← (1 − η·wd)·θ,  then the Adam step θ ← θ − η·m̂/(√v̂ + ε) with g = ∇L (no wd·θ in g).
    """

    def __init__(self, params, lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=1e-2,
                 amsgrad=False, *, maximize=False, foreach=None, capturable=False,
                 differentiable=False, fused=None):
        super().__init__(params, lr, betas, eps, weight_decay, amsgrad, foreach=foreach,
                         maximize=maximize, capturable=capturable,
                         differentiable=differentiable, fused=fused,
                         decoupled_weight_decay=True)

    def __setstate__(self, state):
        super().__setstate__(state)
        for group in self.param_groups:  # as torch: loaded state stays AdamW
            group["decoupled_weight_decay"] = True
