r"""D-Adaptation (Defazio & Mishchenko, 2023): the step size d as a lower bound on the distance.

For gradient descent from θ₀ with steps λ_t·g_t, s = Σ λ_t·g_t is where the run went
(θ_t = θ₀ − s) and, for a convex loss, the distance D = ‖θ₀ − θ*‖ is at least

    d̂ = Σ_t λ_t·⟨g_t, s_{t−1}⟩ / ‖s‖   (times 2 for SGD; ‖·‖₁ and a weighting for Adam).

D-Adaptation starts from a tiny d₀, takes steps proportional to d, and raises d to d̂ when
the bound says the distance is larger: d ← max(d, min(d̂, d·growth_rate)). The estimate is
one number for the whole model; it lives in every param group, and the shared settings are
read from the first group, as the package does (`DAdaptSGD` also takes `momentum` and
`weight_decay` from the first group for all groups).

**DAdaptSGD** (dη = d·η/‖g₀‖, ‖g₀‖ the first gradient's norm, weight decay not included):

    g ← g + wd·θ;   r ← r + dη·⟨g, s⟩;   s ← s + dη·g;   d̂ = 2·r/‖s‖₂
    z = θ₀ − s;     θ ← μ·θ + (1 − μ)·z              (μ: momentum; μ = 0 is θ = θ₀ − s)

**DAdaptAdam** (dη = d·η·(bias correction, if on), layer_scale ρ per group, β = √β₂):

    r ← β·r + (1 − β)·Σ ρ·dη·⟨g, s/(√v + ε)⟩     (v before this step's update)
    m ← β₁·m + ρ·dη·(1 − β₁)·g;   v ← β₂·v + (1 − β₂)·g²;   s ← β·s + dη·(1 − β)·g
    d̂ = r / ((1 − β)·Σ ρ·‖s‖₁)
    θ ← θ − wd·dη·θ (decouple; else g ← g + wd·θ first);   θ ← θ − m/(√v + ε)

(m already carries the step size dη.) Equal to `dadaptation` 3.2's `DAdaptAdam` and `DAdaptSGD`:
signature, defaults, validation messages, param-group keys, state and rules — groups may
differ in lr only by being 0 (a RuntimeError at `step`); an lr-0 group still steps with the
shared estimate; a step with no gradient signal returns before moving θ. Unlike the package,
`p.grad` is left untouched, nothing is printed, and `fsdp_in_use=True` is refused.
"""
import logging
import math

import torch
from torch.optim import Optimizer

from lrcourse.optim.base import DIFFERENT_LR, check_d_adaptation, shared_lr

__all__ = ["DAdaptAdam", "DAdaptSGD"]

USE_LAYER_SCALE = (". To scale the learning rate differently for each layer, set the "
                   "'layer_scale' value instead.")


class DAdaptAdam(Optimizer):
    r"""Adam with D-Adaptation's step size (see the module docstring for the formula).

    lr: multiplier on the estimated step (default 1). d0: the starting guess of d.
    layer_scale (a param-group key, default 1): that group's share of the step.
    log_every: log d every k steps through `logging` (0: never).
    """

    def __init__(self, params, lr=1.0, betas=(0.9, 0.999), eps=1e-8, weight_decay=0,
                 log_every=0, decouple=False, use_bias_correction=False, d0=1e-6,
                 growth_rate=float("inf"), fsdp_in_use=False):
        check_d_adaptation("DAdaptAdam", "dadaptation", lr=lr, d0=d0, eps=eps, betas=betas[:2],
                           fsdp_in_use=fsdp_in_use)
        defaults = dict(lr=lr, betas=betas, eps=eps, weight_decay=weight_decay, d=d0, k=0,
                        layer_scale=1.0, numerator_weighted=0.0, log_every=log_every,
                        growth_rate=growth_rate, use_bias_correction=use_bias_correction,
                        decouple=decouple, fsdp_in_use=fsdp_in_use)
        self.d0 = d0
        super().__init__(params, defaults)

    @torch.no_grad()
    def step(self, closure=None):
        """One D-Adapted Adam step on every parameter with a gradient; the closure's loss."""
        loss = None
        if closure is not None:
            with torch.enable_grad():
                loss = closure()
        first = self.param_groups[0]
        beta1, beta2 = first["betas"]
        k, d, decouple = first["k"], first["d"], first["decouple"]
        lr = shared_lr(self.param_groups, DIFFERENT_LR + USE_LAYER_SCALE)
        bias_correction = ((1 - beta2 ** (k + 1)) ** 0.5 / (1 - beta1 ** (k + 1))
                           if first["use_bias_correction"] else 1)
        dlr = d * lr * bias_correction
        beta = beta2 ** 0.5

        # 1. feed the estimate (r with the old v), then the moments and s
        progress = 0.0
        s_norm = 0.0
        for group in self.param_groups:
            decay, eps, rho = group["weight_decay"], group["eps"], group["layer_scale"]
            for p in group["params"]:
                if p.grad is None:
                    continue
                g = p.grad.add(p, alpha=decay) if decay != 0 and not decouple else p.grad
                state = self.state[p]
                if "step" not in state:
                    state["step"] = 0
                    state["s"] = torch.zeros_like(p)
                    state["exp_avg"] = torch.zeros_like(p)
                    state["exp_avg_sq"] = torch.zeros_like(p)
                if group["lr"] > 0.0:
                    s, v = state["s"], state["exp_avg_sq"]
                    denom = v.sqrt().add_(eps)
                    progress += rho * dlr * torch.dot(g.flatten(), s.div(denom).flatten()).item()
                    state["exp_avg"].mul_(beta1).add_(g, alpha=rho * dlr * (1 - beta1))
                    v.mul_(beta2).addcmul_(g, g, value=1 - beta2)
                    s.mul_(beta).add_(g, alpha=dlr * (1 - beta))
                    s_norm += rho * s.abs().sum().item()
        numerator = beta * first["numerator_weighted"] + (1 - beta) * progress
        if s_norm == 0:
            return loss

        # 2. the new estimate
        d_hat = numerator / ((1 - beta) * s_norm)
        d = max(d, min(d_hat, d * first["growth_rate"]))
        log_every = first["log_every"]
        if log_every > 0 and self.param_groups[-1]["k"] % log_every == 0:
            logging.info(f"lr: {lr} dlr: {dlr} d_hat: {d_hat}, d: {d}. sk_l1={s_norm:1.1e} "
                         f"numerator_weighted={numerator:1.1e}")

        # 3. the step: m already holds dη
        for group in self.param_groups:
            group["numerator_weighted"], group["d"] = numerator, d
            decay, eps = group["weight_decay"], group["eps"]
            for p in group["params"]:
                if p.grad is None:
                    continue
                state = self.state[p]
                state["step"] += 1
                denom = state["exp_avg_sq"].sqrt().add_(eps)
                if decay != 0 and decouple:
                    p.add_(p, alpha=-decay * dlr)
                p.addcdiv_(state["exp_avg"], denom, value=-1)
            group["k"] += 1
        return loss


class DAdaptSGD(Optimizer):
    r"""SGD with D-Adaptation's step size (see the module docstring for the formula).

    The iterate is θ = θ₀ − s (with momentum μ, an average of such points). State: `z`, `s`,
    `x0`; group keys add `g0_norm` (‖g₀‖) after the first step.
    """

    def __init__(self, params, lr=1.0, momentum=0.0, weight_decay=0, log_every=0, d0=1e-6,
                 growth_rate=float("inf"), fsdp_in_use=False):
        check_d_adaptation("DAdaptSGD", "dadaptation", lr=lr, d0=d0, fsdp_in_use=fsdp_in_use)
        defaults = dict(lr=lr, momentum=momentum, weight_decay=weight_decay, k=0,
                        log_every=log_every, numerator_weighted=0.0, d=d0,
                        growth_rate=growth_rate, fsdp_in_use=fsdp_in_use)
        super().__init__(params, defaults)

    @torch.no_grad()
    def step(self, closure=None):
        """One D-Adapted SGD step on every parameter with a gradient; the closure's loss."""
        loss = None
        if closure is not None:
            with torch.enable_grad():
                loss = closure()
        first = self.param_groups[0]
        lr = max(group["lr"] for group in self.param_groups)  # checked below, as the package
        decay, momentum, k, d = first["weight_decay"], first["momentum"], first["k"], first["d"]
        if k == 0:  # ‖g₀‖ over the groups that feed the estimate, without weight decay
            g0_sq = sum((p.grad * p.grad).sum().item() for group in self.param_groups
                        if group["lr"] > 0.0 for p in group["params"] if p.grad is not None)
            self.param_groups[-1]["g0_norm"] = math.sqrt(g0_sq)
            g0_norm = self.param_groups[-1]["g0_norm"]
        else:
            g0_norm = first["g0_norm"]
        dlr = d * lr / g0_norm
        shared_lr(self.param_groups)

        # 1. s: the sum of the steps taken; r: the progress they made
        numerator = first["numerator_weighted"]
        s_sq = 0.0
        for group in self.param_groups:
            for p in group["params"]:
                if p.grad is None:
                    continue
                state = self.state[p]
                if "z" not in state:
                    state["z"] = p.detach().clone()
                    state["s"] = torch.zeros_like(p)
                    state["x0"] = p.detach().clone()
                if group["lr"] > 0.0:
                    g = p.grad.add(p, alpha=decay) if decay != 0 else p.grad
                    s = state["s"]
                    numerator += dlr * torch.dot(g.flatten(), s.flatten()).item()
                    s.add_(g, alpha=dlr)
                    s_sq += (s * s).sum().item()

        # 2. the new estimate d̂ = 2r/‖s‖
        if lr > 0.0:
            d_hat = 2 * numerator / math.sqrt(s_sq)
            d = max(d, min(d_hat, d * first["growth_rate"]))
        if s_sq == 0:
            return loss
        log_every = first["log_every"]
        if log_every > 0 and k % log_every == 0:
            logging.info(f"(k={k}) dlr: {dlr} d: {d}. sk_norm={math.sqrt(s_sq)} "
                         f"numerator_weighted={numerator} g0_norm={g0_norm}")

        # 3. θ ← μ·θ + (1 − μ)·(θ₀ − s)
        for group in self.param_groups:
            group.update(numerator_weighted=numerator, d=d, g0_norm=g0_norm)
            for p in group["params"]:
                if p.grad is None:
                    continue
                state = self.state[p]
                torch.sub(state["x0"], state["s"], out=state["z"])
                p.mul_(momentum).add_(state["z"], alpha=1 - momentum)
            group["k"] += 1
        return loss
