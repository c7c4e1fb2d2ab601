"""What every lrcourse optimizer shares: torch's Optimizer machinery, and no fast paths.

Each optimizer in this package is a `torch.optim.Optimizer` subclass whose `step` is a plain
loop over the parameters calling a small update function that states the formula. The
bookkeeping (param_groups, `state`, `state_dict`, `load_state_dict`, `zero_grad`, hooks) is
torch's own, so schedulers, checkpoints and training loops written for `torch.optim` work
unchanged.
"""

import torch
from torch.optim import Optimizer

__all__ = ["PlainOptimizer", "check_lr", "check_d_adaptation", "shared_lr", "DIFFERENT_LR"]

DIFFERENT_LR = ("Setting different lr values in different parameter groups is only supported "
                "for values of 0")


def check_lr(lr):
    """Validate a learning rate η with torch's wording (a 1-element tensor is allowed)."""
    if isinstance(lr, torch.Tensor) and lr.numel() != 1:
        raise ValueError("Tensor lr must be 1-element")
    if not 0.0 <= lr:
        raise ValueError(f"Invalid learning rate: {lr}")


def check_d_adaptation(name: str, package: str, *, lr, d0, eps=None, betas=None, fsdp_in_use=False):
    """Validate the arguments D-Adaptation and Prodigy share, with their packages' wording:
    d0 > 0, lr > 0, then (Adam-type) eps > 0 and 0 ≤ β < 1; sharded training is refused."""
    if not 0.0 < d0:
        raise ValueError(f"Invalid d0 value: {d0}")
    if not 0.0 < lr:
        raise ValueError(f"Invalid learning rate: {lr}")
    if eps is not None and not 0.0 < eps:
        raise ValueError(f"Invalid epsilon value: {eps}")
    for i, beta in enumerate(betas or ()):
        if not 0.0 <= beta < 1.0:
            raise ValueError(f"Invalid beta parameter at index {i}: {beta}")
    if fsdp_in_use:
        raise ValueError(f"lrcourse.optim.{name} does not support fsdp_in_use=True "
                         f"(use {package}.{name} for sharded training)")


def shared_lr(param_groups, message: str = DIFFERENT_LR):
    """The one lr of D-Adaptation and Prodigy: the largest group lr; any other must be 0
    (those groups take no step), else a RuntimeError with the packages' ``message``."""
    lr = max(group["lr"] for group in param_groups)
    if any(group["lr"] not in (lr, 0.0) for group in param_groups):
        raise RuntimeError(message)
    return lr


class PlainOptimizer(Optimizer):
    """A `torch.optim.Optimizer` whose update is a plain per-parameter loop.

    torch's implementation switches (`foreach`, `fused`, `capturable`, `differentiable`) are
    accepted so that signatures and `param_groups` match torch's, but only falsy values:
    a truthy one raises `ValueError`. `state["step"]` is kept as a Python int (torch keeps
    a float tensor); a state_dict of either kind loads into either optimizer. Parameters
    must be real and dense (torch.optim also handles complex parameters and, for some
    optimizers, sparse gradients).
    """

    def __init__(self, params, defaults, **switches):
        name = type(self).__name__
        for switch, value in switches.items():
            if value:
                raise ValueError(
                    f"lrcourse.optim.{name} does not support {switch}={value!r}: it is the "
                    f"plain for-loop update only (use torch.optim.{name} for {switch})"
                )
        super().__init__(params, {**defaults, **switches})

    def add_param_group(self, param_group):
        """torch's add_param_group, refusing complex θ (the formulas here use g², not |g|²)."""
        super().add_param_group(param_group)
        if any(torch.is_complex(p) for p in self.param_groups[-1]["params"]):
            self.param_groups.pop()
            raise ValueError(f"lrcourse.optim.{type(self).__name__} supports real parameters "
                             "only (torch.optim handles complex ones)")

    def __setstate__(self, state):
        super().__setstate__(state)
        for param_state in self.state.values():
            step = param_state.get("step")
            if torch.is_tensor(step):
                param_state["step"] = int(step.item())

    def _loss(self, closure):
        """Re-evaluate the loss with autograd on, as torch's optimizers do."""
        if closure is None:
            return None
        with torch.enable_grad():
            return closure()
