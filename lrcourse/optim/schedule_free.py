r"""Schedule-free SGD and AdamW (Defazio et al., 2024): an average instead of a schedule.

Three sequences share one gradient. z takes plain (or Adam-normalised) steps, x is a running
average of the z's, and the gradient is taken at y, a point between them:

    y_t = (1 − β)·z_t + β·x_t                    (β: `momentum`, or AdamW's β₁)
    z_{t+1} = z_t − η_t·d_t                       d_t: the direction at y_t
    x_{t+1} = (1 − c_{t+1})·x_t + c_{t+1}·z_{t+1}

With c_{t+1} = 1/(t+1) x is the plain average of z_1 … z_{t+1}; with a warm-up the weights
are w_t = t^r · (max_{s≤t} η_s)^p and c_{t+1} = w_{t+1} / Σ_{s≤t+1} w_s, so the small early
steps count less. No decay of η is needed: the averaging plays the role of the schedule.

The parameters hold y while training and x while evaluating; `z` is the only extra state.
x is never stored: substituting the three lines above gives the update of y directly,

    y ← (1 − c)·y + c·z + η·(β·(1 − c) − 1)·d,     then   z ← z − η·d,

and `eval()` / `train()` move the parameters between the two points
(x = y/β + (1 − 1/β)·z and back, y = β·x + (1 − β)·z). Call `train()` before training and
`eval()` before evaluating or saving, as with the official package.

These equal `schedulefree` 1.4.1's `SGDScheduleFree` and `AdamWScheduleFree` (signature,
defaults, param_group keys, state, `state_dict`), written as the formula. Unlike the
package, `p.grad` is left untouched (the package adds weight decay and divides by the
Adam denominator in place), and `foreach` is accepted and stored but the update is always
written with torch's multi-tensor ops (one call per line of the formula for a whole group;
the package's `foreach=False` loop gives the same numbers).
"""
import torch
from torch.optim import Optimizer

__all__ = ["SGDScheduleFree", "AdamWScheduleFree", "schedule_free_update"]

NOT_IN_TRAIN_MODE = ("Optimizer was not in train mode when step is called. "
                     "Please insert .train() and .eval() calls on the "
                     "optimizer. See documentation for details.")


def schedule_free_update(ys, zs, directions, lr, beta, c):
    r"""One schedule-free step on the parameters y and their z's, in place.

        y ← (1 − c)·y + c·z + η·(β·(1 − c) − 1)·d
        z ← z − η·d

    Each argument is a list (the tensors of one param group); each line of the formula is one
    call of torch's multi-tensor (``_foreach``) ops for the whole list.
    """
    torch._foreach_lerp_(ys, zs, c)
    torch._foreach_add_(ys, directions, alpha=lr * (beta * (1 - c) - 1))
    torch._foreach_sub_(zs, directions, alpha=lr)


class _ScheduleFree(Optimizer):
    """What the two share: the averaging weight c, warm-up, and the y ↔ x switches."""

    def _beta(self, group):
        raise NotImplementedError

    @torch.no_grad()
    def eval(self):
        """Move the parameters from y to the average x = y/β + (1 − 1/β)·z."""
        for group in self.param_groups:
            if group["train_mode"]:
                beta = self._beta(group)
                for p in group["params"]:
                    if "z" in self.state[p]:
                        p.lerp_(self.state[p]["z"].to(p.device), 1 - 1 / beta)
                group["train_mode"] = False

    @torch.no_grad()
    def train(self):
        """Move the parameters from x to the gradient point y = β·x + (1 − β)·z."""
        for group in self.param_groups:
            if not group["train_mode"]:
                beta = self._beta(group)
                for p in group["params"]:
                    if "z" in self.state[p]:
                        p.lerp_(self.state[p]["z"].to(p.device), 1 - beta)
                group["train_mode"] = True

    @staticmethod
    def _schedule(group):
        r"""η_t (linear warm-up over `warmup_steps`) and the averaging weight c_{t+1}.

            η_t = η·min(1, (k + 1)/warmup_steps),   w = (k + 1)^r · (max η_t so far)^p,
            c = w / Σ w   (0 while every weight is 0)
        """
        k = group["k"]
        warm = (k + 1) / group["warmup_steps"] if k < group["warmup_steps"] else 1.0
        lr = group["lr"] * warm
        group["scheduled_lr"] = lr
        group["lr_max"] = lr_max = max(lr, group["lr_max"])
        weight = (k + 1) ** group["r"] * lr_max ** group["weight_lr_power"]
        group["weight_sum"] = group["weight_sum"] + weight
        c = weight / group["weight_sum"] if group["weight_sum"] != 0 else 0
        return lr, c

    def _with_grad(self, group, *zeros):
        """The group's parameters with a gradient; z (= θ) and `zeros` created on first use."""
        ys = [p for p in group["params"] if p.grad is not None]
        for p in ys:
            state = self.state[p]
            if "z" not in state:
                state["z"] = p.detach().clone()
                for name in zeros:
                    state[name] = torch.zeros_like(p)
        return ys

    def _loss(self, closure):
        if not self.param_groups[0]["train_mode"]:
            raise RuntimeError(NOT_IN_TRAIN_MODE)
        if closure is None:
            return None
        with torch.enable_grad():
            return closure()


class SGDScheduleFree(_ScheduleFree):
    r"""Schedule-free SGD: d = ∇L(y) + wd·y, then the y, z step of `schedule_free_update`.

    β = `momentum` ∈ (0, 1). State: `z`. Group keys (as the package): `k` (steps taken),
    `train_mode`, `weight_sum`, `lr_max`, `scheduled_lr` besides the arguments.
    """

    def __init__(self, params, lr=1.0, momentum=0.9, weight_decay=0, warmup_steps=0, r=0.0,
                 weight_lr_power=2, foreach=hasattr(torch, "_foreach_mul_")):
        if lr < 0.0:
            raise ValueError(f"Invalid learning rate: {lr}")
        if weight_decay < 0.0:
            raise ValueError(f"Invalid weight_decay value: {weight_decay}")
        if momentum <= 0 or momentum >= 1:
            raise ValueError(f"Momentum must be between 0 and 1 exclusive: {momentum}")
        defaults = dict(lr=lr, momentum=momentum, r=r, k=0, warmup_steps=warmup_steps,
                        train_mode=False, weight_sum=0.0, lr_max=-1.0, scheduled_lr=0.0,
                        weight_lr_power=weight_lr_power, weight_decay=weight_decay,
                        foreach=foreach)
        super().__init__(params, defaults)

    def _beta(self, group):
        return group["momentum"]

    @torch.no_grad()
    def step(self, closure=None):
        """One step on every parameter with a gradient (in train mode); the closure's loss."""
        loss = self._loss(closure)
        for group in self.param_groups:
            lr, c = self._schedule(group)
            ys = self._with_grad(group)
            if ys:
                grads = [p.grad for p in ys]
                d = (torch._foreach_add(grads, ys, alpha=group["weight_decay"])
                     if group["weight_decay"] != 0 else grads)  # g + wd·y
                schedule_free_update(ys, [self.state[p]["z"] for p in ys], d, lr,
                                     group["momentum"], c)
            group["k"] += 1
        return loss


class AdamWScheduleFree(_ScheduleFree):
    r"""Schedule-free AdamW: d = ∇L(y)/(√v̂ + ε) + wd·y, then the y, z step.

    v ← β₂·v + (1 − β₂)·g²,  v̂ = v/(1 − β₂^(k+1)),  β = β₁ in the averaging.
    State: `z`, `exp_avg_sq` (v). Like the package, no argument is validated.
    """

    def __init__(self, params, lr=0.0025, betas=(0.9, 0.999), eps=1e-8, weight_decay=0,
                 warmup_steps=0, r=0.0, weight_lr_power=2.0,
                 foreach=hasattr(torch, "_foreach_mul_")):
        defaults = dict(lr=lr, betas=betas, eps=eps, r=r, k=0, warmup_steps=warmup_steps,
                        train_mode=False, weight_sum=0.0, lr_max=-1.0, scheduled_lr=0.0,
                        weight_lr_power=weight_lr_power, weight_decay=weight_decay,
                        foreach=foreach)
        super().__init__(params, defaults)

    def _beta(self, group):
        return group["betas"][0]

    @torch.no_grad()
    def step(self, closure=None):
        """One step on every parameter with a gradient (in train mode); the closure's loss."""
        loss = self._loss(closure)
        for group in self.param_groups:
            beta1, beta2 = group["betas"]
            bias_correction2 = 1 - beta2 ** (group["k"] + 1)
            lr, c = self._schedule(group)
            ys = self._with_grad(group, "exp_avg_sq")
            if ys:
                grads = [p.grad for p in ys]
                v = [self.state[p]["exp_avg_sq"] for p in ys]
                torch._foreach_mul_(v, beta2)                                # v ← β₂·v
                torch._foreach_addcmul_(v, grads, grads, value=1 - beta2)    #   + (1 − β₂)·g²
                denom = torch._foreach_div(v, bias_correction2)              # v̂
                torch._foreach_sqrt_(denom)
                torch._foreach_add_(denom, group["eps"])                     # √v̂ + ε
                d = torch._foreach_div(grads, denom)                         # g/(√v̂ + ε)
                if group["weight_decay"] != 0:
                    torch._foreach_add_(d, ys, alpha=group["weight_decay"])  #   + wd·y
                schedule_free_update(ys, [self.state[p]["z"] for p in ys], d, lr, beta1, c)
            group["k"] += 1
        return loss
