r"""Prodigy (Mishchenko & Defazio, 2024): Adam whose step size d estimates the distance to θ*.

Adam needs η of the order of the distance D = ‖θ₀ − θ*‖ divided by the number of steps.
Prodigy starts from a tiny guess d₀ and grows d from what the run has seen: the gradients,
weighted by the step sizes they were taken with, correlate with θ₀ − θ_t, and

    D ≳ d̂ = d_coef · r / ‖s‖₁ ,   r = Σ_t λ_t·⟨g_t, θ₀ − θ_t⟩ ,   s = Σ_t λ_t·g_t

(sums discounted by β₃ = √β₂ by default, λ_t = (d_t/d₀)·d_t·η): d never shrinks.
Per step, with dη = d·η·(bias correction, if on) taken with the d *before* the step:

    m ← β₁·m + d·(1 − β₁)·g            v ← β₂·v + d²·(1 − β₂)·g²
    r ← β₃·r + (d/d₀)·dη·⟨g, θ₀ − θ⟩    s ← β₃·s + (d/d₀)·dη·g   (d/d₀·d with safeguard_warmup)
    d̂ = d_coef·r/‖s‖₁;   d ← max(d, d̂) while d = d₀;   d_max ← max(d_max, d̂);
    d ← min(d_max, d·growth_rate)
    θ ← θ − dη·wd·θ (decouple)   and   θ ← θ − dη·m/(√v + d·ε)     (d: the new estimate)

(`lr` multiplies the whole step; leave it at 1.) With `weight_decay` and `decouple=False`,
g ← g + wd·θ first. d, r and friends are one estimate for the whole model: they live in
every param group, and the shared settings (betas, beta3, d_coef, growth_rate, decouple,
use_bias_correction) are read from the first group, as the package does.

Equal to `prodigyopt` 1.1.2's `Prodigy`: signature, defaults, validation messages, param-group
keys, state (`step`, `s`, `p0`, `exp_avg`, `exp_avg_sq`) and its rules — including that groups
may differ in lr only by being 0 (a RuntimeError at `step`), that an lr-0 group still takes
its step with the shared dη (it only stops feeding the estimate), and that a step with no
gradient signal (‖s‖₁ = 0) returns before moving θ. Unlike the package, `p.grad` is left
untouched, nothing is printed, and sharded training (`fsdp_in_use=True`) is refused.
"""
import math

import torch
from torch.optim import Optimizer

from lrcourse.optim.base import check_d_adaptation, shared_lr

__all__ = ["Prodigy"]



class Prodigy(Optimizer):
    r"""Adam with Prodigy's estimated step size d (see the module docstring for the formula).

    lr: multiplier on the estimated step (default 1). d0: the starting guess of d.
    d_coef: multiplies the estimate d̂ (the knob to tune). growth_rate: d grows at most by
    this factor per step. slice_p: estimate from every slice_p-th coordinate only.
    """

    def __init__(self, params, lr=1.0, betas=(0.9, 0.999), beta3=None, eps=1e-8,
                 weight_decay=0, decouple=True, use_bias_correction=False,
                 safeguard_warmup=False, d0=1e-6, d_coef=1.0, growth_rate=float("inf"),
                 fsdp_in_use=False, slice_p=1):
        check_d_adaptation("Prodigy", "prodigyopt", lr=lr, d0=d0, eps=eps, betas=betas[:2],
                           fsdp_in_use=fsdp_in_use)
        defaults = dict(lr=lr, betas=betas, beta3=beta3, eps=eps, weight_decay=weight_decay,
                        d=d0, d0=d0, d_max=d0, d_numerator=0.0, d_coef=d_coef, k=0,
                        growth_rate=growth_rate, use_bias_correction=use_bias_correction,
                        decouple=decouple, safeguard_warmup=safeguard_warmup,
                        fsdp_in_use=fsdp_in_use, slice_p=slice_p)
        self.d0 = d0
        super().__init__(params, defaults)

    @staticmethod
    def _init_state(state, p, group, beta1):
        state["step"] = 0
        coords = p.detach().flatten()[::group["slice_p"]]
        state["s"] = torch.zeros_like(coords)
        # θ₀, kept as a 0-d zero when θ₀ = 0 (as the package does, to save memory)
        state["p0"] = coords.clone() if p.any() else torch.tensor(0, dtype=p.dtype,
                                                                    device=p.device)
        if beta1 > 0:
            state["exp_avg"] = torch.zeros_like(p)
        state["exp_avg_sq"] = torch.zeros_like(p)

    @torch.no_grad()
    def step(self, closure=None):
        """One Prodigy step on every parameter with a gradient; return the closure's loss."""
        loss = None
        if closure is not None:
            with torch.enable_grad():
                loss = closure()
        first = self.param_groups[0]
        beta1, beta2 = first["betas"]
        beta3 = first["beta3"] if first["beta3"] is not None else math.sqrt(beta2)
        k, d, d_max = first["k"], first["d"], first["d_max"]
        lr = shared_lr(self.param_groups)
        bias_correction = ((1 - beta2 ** (k + 1)) ** 0.5 / (1 - beta1 ** (k + 1))
                           if first["use_bias_correction"] else 1)
        dlr = d * lr * bias_correction

        # 1. feed the estimate: the moments, s and r, with the d of the previous step
        progress = 0.0  # this step's term of r
        s_norm = 0.0
        grads = {}
        for group in self.param_groups:
            decay, d0, feeds = group["weight_decay"], group["d0"], group["lr"] > 0.0
            for p in group["params"]:
                if p.grad is None:
                    continue
                g = p.grad
                if decay != 0 and not first["decouple"]:
                    g = g.add(p, alpha=decay)
                grads[p] = g
                state = self.state[p]
                if "step" not in state:
                    self._init_state(state, p, group, beta1)
                if not feeds:
                    continue
                g_sliced = g.flatten()[::group["slice_p"]]
                theta = p.flatten()[::group["slice_p"]]
                progress += (d / d0) * dlr * torch.dot(g_sliced, state["p0"] - theta).item()
                if beta1 > 0:
                    state["exp_avg"].mul_(beta1).add_(g, alpha=d * (1 - beta1))
                state["exp_avg_sq"].mul_(beta2).addcmul_(g, g, value=d * d * (1 - beta2))
                weight = (d / d0) * (d if group["safeguard_warmup"] else dlr)
                state["s"].mul_(beta3).add_(g_sliced, alpha=weight)
                s_norm += state["s"].abs().sum().item()
        if s_norm == 0:
            return loss
        numerator = first["d_numerator"] * beta3 + progress

        # 2. the new estimate: d̂ = d_coef·r/‖s‖₁; d never shrinks, grows at most growth_rate×
        d_hat = first["d_coef"] * numerator / s_norm
        if d == self.param_groups[-1]["d0"]:
            d = max(d, d_hat)
        d_max = max(d_max, d_hat)
        d = min(d_max, d * first["growth_rate"])

        # 3. the Adam step with the shared dη, denominators with the new d
        for group in self.param_groups:
            group.update(d_numerator=numerator, d_denom=s_norm, d=d, d_max=d_max, d_hat=d_hat)
            decay, eps = group["weight_decay"], group["eps"]
            for p in group["params"]:
                if p.grad is None:
                    continue
                state = self.state[p]
                state["step"] += 1
                denom = state["exp_avg_sq"].sqrt().add_(d * eps)
                if decay != 0 and first["decouple"]:
                    p.add_(p, alpha=-decay * dlr)
                if beta1 > 0:
                    p.addcdiv_(state["exp_avg"], denom, value=-dlr)
                else:
                    p.addcdiv_(grads[p], denom, value=-dlr * d)
            group["k"] += 1
        return loss
