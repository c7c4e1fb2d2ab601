"""Reading and writing η in an optimizer's param groups (shared by the schedules)."""
from __future__ import annotations

import torch
from torch.optim import Optimizer


def _lrs(scheduler):
    """The groups' current η (a copy for tensor learning rates)."""
    return [g["lr"].clone() if torch.is_tensor(g["lr"]) else g["lr"]
            for g in scheduler.optimizer.param_groups]


def _set(group, key, value):
    if torch.is_tensor(group[key]):
        group[key].fill_(float(value))
    else:
        group[key] = value


def _check_optimizer(optimizer):
    if not isinstance(optimizer, Optimizer):
        raise TypeError(f"{type(optimizer).__name__} is not an Optimizer")


def _per_group(name, value, optimizer):
    """One value per param group: a list is checked for length, a scalar repeated."""
    n = len(optimizer.param_groups)
    if isinstance(value, (list, tuple)):
        if len(value) != n:
            raise ValueError(f"{name} must have the same length as optimizer.param_groups. "
                             f"{name} has {len(value)} values, param_groups has {n}.")
        return list(value)
    return [value] * n
