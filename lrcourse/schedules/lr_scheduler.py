"""Learning-rate schedulers: torch.optim.lr_scheduler.LRScheduler subclasses giving η_t.

t = ``last_epoch`` counts ``scheduler.step()`` calls; the constructor sets η_0 (its
"initial step"), so call ``optimizer.step()`` then ``scheduler.step()`` in each step.
Names, signatures, defaults, state_dict contents and behaviour follow torch 2.13: the decays
are chainable like torch's (each step rescales the group's *current* η, so two schedulers on
one optimizer compose), and ``step(epoch)`` (deprecated in torch) uses the closed form.
The closed forms are plain functions in :mod:`lrcourse.schedules.functions`.
"""
from __future__ import annotations

import math
import types
import warnings
from bisect import bisect_right
from collections import Counter

import torch
from torch.optim.lr_scheduler import LRScheduler

from lrcourse.schedules import functions as F
from lrcourse.schedules.param_groups import _check_optimizer, _lrs, _per_group, _set
from lrcourse.schedules.plateau import ReduceLROnPlateau

__all__ = [
    "StepLR", "MultiStepLR", "ExponentialLR", "PolynomialLR", "LinearLR", "CosineAnnealingLR",
    "CosineAnnealingWarmRestarts", "CyclicLR", "OneCycleLR", "SequentialLR", "ReduceLROnPlateau",
]


def _warn_outside_step(scheduler):
    if not scheduler._get_lr_called_within_step:
        warnings.warn("To get the last learning rate computed by the scheduler, "
                      "please use `get_last_lr()`.", UserWarning, stacklevel=3)


def _uses_betas(optimizer):
    """True for Adam-like optimizers (β₁ is cycled), False for SGD-like ones (momentum)."""
    if "momentum" not in optimizer.defaults and "betas" not in optimizer.defaults:
        raise ValueError("optimizer must support momentum or beta1 with `cycle_momentum` option enabled")
    return "betas" in optimizer.defaults


def _set_momentum(group, beta, use_beta1):
    if use_beta1:
        group["betas"] = (beta, *group["betas"][1:])
    else:
        group["momentum"] = beta


class StepLR(LRScheduler):
    """Step decay: η_t = η_0 · γ^⌊t/step_size⌋ (each step_size steps, η ← γ·η)."""

    def __init__(self, optimizer, step_size, gamma=0.1, last_epoch=-1):
        F._check_int("step_size", step_size)
        F._check_positive("gamma", gamma)
        self.step_size = step_size
        self.gamma = gamma
        super().__init__(optimizer, last_epoch)

    def get_lr(self):
        _warn_outside_step(self)
        t = self.last_epoch
        if t > 0 and t % self.step_size == 0:
            return [lr * self.gamma for lr in _lrs(self)]
        return _lrs(self)

    def _get_closed_form_lr(self):
        return [F.step_lr(self.last_epoch, base, self.step_size, self.gamma) for base in self.base_lrs]


class MultiStepLR(LRScheduler):
    """Decay at milestones: η_t = η_0 · γ^(number of milestones ≤ t); a repeated milestone
    counts twice."""

    def __init__(self, optimizer, milestones, gamma=0.1, last_epoch=-1):
        self.milestones = Counter(F._check_milestones("milestones", milestones))
        F._check_positive("gamma", gamma)
        self.gamma = gamma
        super().__init__(optimizer, last_epoch)

    def get_lr(self):
        _warn_outside_step(self)
        times = self.milestones.get(self.last_epoch, 0)
        if times:
            return [lr * self.gamma ** times for lr in _lrs(self)]
        return _lrs(self)

    def _get_closed_form_lr(self):
        milestones = sorted(self.milestones.elements())
        return [F.multi_step_lr(self.last_epoch, base, milestones, self.gamma) for base in self.base_lrs]


class ExponentialLR(LRScheduler):
    """Exponential decay: η_t = η_0 · γ^t (γ > 1 grows η, as in an LR range test)."""

    def __init__(self, optimizer, gamma, last_epoch=-1):
        F._check_positive("gamma", gamma)
        self.gamma = gamma
        super().__init__(optimizer, last_epoch)

    def get_lr(self):
        _warn_outside_step(self)
        if self._is_initial:  # the constructor's step keeps η (also when resuming)
            return _lrs(self)
        return [lr * self.gamma for lr in _lrs(self)]

    def _get_closed_form_lr(self):
        return [F.exponential_lr(self.last_epoch, base, self.gamma) for base in self.base_lrs]


class PolynomialLR(LRScheduler):
    """Polynomial decay to 0: η_t = η_0 · (1 − min(t, T)/T)^p, T = total_iters, p = power."""

    def __init__(self, optimizer, total_iters=5, power=1.0, last_epoch=-1):
        F.polynomial_lr(0, 1.0, total_iters, power)  # validates
        self.total_iters = total_iters
        self.power = power
        super().__init__(optimizer, last_epoch)

    def get_lr(self):
        _warn_outside_step(self)
        t, T = self.last_epoch, self.total_iters
        if self._is_initial or t > T:
            return _lrs(self)
        ratio = ((1.0 - t / T) / (1.0 - (t - 1) / T)) ** self.power  # (1−t/T)^p / (1−(t−1)/T)^p
        return [lr * ratio for lr in _lrs(self)]

    def _get_closed_form_lr(self):
        return [F.polynomial_lr(self.last_epoch, base, self.total_iters, self.power) for base in self.base_lrs]


class LinearLR(LRScheduler):
    """Linear warm-up (or decay) of a factor: η_t = η_0 · f(t),
    f(t) = s + (e − s) · min(t, T)/T, s = start_factor, e = end_factor, T = total_iters."""

    def __init__(self, optimizer, start_factor=1.0 / 3, end_factor=1.0, total_iters=5, last_epoch=-1):
        F._check_linear(start_factor, end_factor, total_iters)
        self.start_factor = start_factor
        self.end_factor = end_factor
        self.total_iters = total_iters
        super().__init__(optimizer, last_epoch)

    def _factor(self, t):
        return self.start_factor + (self.end_factor - self.start_factor) * t / self.total_iters

    def get_lr(self):
        _warn_outside_step(self)
        t = self.last_epoch
        if t == 0:
            ratio = self.start_factor
        elif self._is_initial or t > self.total_iters:
            ratio = 1.0
        else:
            ratio = self._factor(t) / self._factor(t - 1)
        return [lr * ratio for lr in _lrs(self)]

    def _get_closed_form_lr(self):
        return [F.linear_lr(self.last_epoch, base, self.start_factor, self.end_factor, self.total_iters)
                for base in self.base_lrs]


class CosineAnnealingLR(LRScheduler):
    """Cosine annealing: η_t = η_min + (η_0 − η_min) · (1 + cos(π t/T_max))/2.

    Stepped as torch does it, η_t = η_min + (η_(t−1) − η_min)·g(t)/g(t−1) with
    g(t) = 1 + cos(π t/T_max); past T_max the cosine climbs back up.
    """

    def __init__(self, optimizer, T_max, eta_min=0.0, last_epoch=-1):
        F._check_int("T_max", T_max)
        F._check_lr(eta_min)
        self.T_max = T_max
        self.eta_min = eta_min
        super().__init__(optimizer, last_epoch)

    def get_lr(self):
        _warn_outside_step(self)
        t, T, eta_min = self.last_epoch, self.T_max, self.eta_min
        if self._is_initial:
            return _lrs(self)
        if (t - 1 - T) % (2 * T) == 0:  # leaving a trough, where g(t−1) = 0: add the closed-form rise
            rise = (1 - math.cos(math.pi / T)) / 2
            return [lr + (base - eta_min) * rise for lr, base in zip(_lrs(self), self.base_lrs)]
        ratio = (1 + math.cos(math.pi * t / T)) / (1 + math.cos(math.pi * (t - 1) / T))
        return [eta_min + (lr - eta_min) * ratio for lr in _lrs(self)]

    def _get_closed_form_lr(self):
        return [F.cosine_annealing(self.last_epoch, base, self.T_max, self.eta_min) for base in self.base_lrs]


class CosineAnnealingWarmRestarts(LRScheduler):
    """SGDR: η_t = η_min + (η_0 − η_min) · (1 + cos(π T_cur/T_i))/2, T_cur = steps since the
    last restart, T_i = T_0 · T_mult^i the length of cycle i. step(epoch) takes fractional
    epochs (epoch + batch/batches), as in torch."""

    def __init__(self, optimizer, T_0, T_mult=1, eta_min=0.0, last_epoch=-1):
        F._check_warm_restarts(T_0, T_mult, eta_min)
        self.T_0 = T_0
        self.T_i = T_0
        self.T_mult = T_mult
        self.eta_min = eta_min
        self.T_cur = last_epoch
        super().__init__(optimizer, last_epoch)

    def get_lr(self):
        _warn_outside_step(self)
        return [self.eta_min + (base - self.eta_min) * (1 + math.cos(math.pi * self.T_cur / self.T_i)) / 2
                for base in self.base_lrs]

    def step(self, epoch=None):
        if epoch is None and self.last_epoch < 0:
            epoch = 0
        if epoch is None:  # one step on
            epoch = self.last_epoch + 1
            self.T_cur = self.T_cur + 1
            if self.T_cur >= self.T_i:  # restart, with a cycle T_mult times longer
                self.T_cur = self.T_cur % self.T_i
                self.T_i = self.T_i * self.T_mult
        else:
            if epoch < 0:
                raise ValueError(f"Expected non-negative epoch, but got {epoch}")
            T_cur, T_i = F._warm_restart_position(epoch, self.T_0, self.T_mult)
            self.T_cur, self.T_i = float(T_cur), int(T_i)
        self.last_epoch = math.floor(epoch)
        self._get_lr_called_within_step = True
        try:
            values = self.get_lr()
        finally:
            self._get_lr_called_within_step = False
        for group, lr in zip(self.optimizer.param_groups, values):
            _set(group, "lr", lr)
        self._last_lr = _lrs(self)


class CyclicLR(LRScheduler):
    """Cyclical learning rate (Smith 2017): η_t = η_base + (η_max − η_base) · h(t) · s,
    h a triangle (0→1 in step_size_up steps, 1→0 in step_size_down), s = 1 (triangular),
    1/2^(cycle−1) (triangular2), γ^t (exp_range) or scale_fn(cycle or t).

    With cycle_momentum, momentum (or Adam's β₁) moves against η:
    β_t = β_max − (β_max − β_base) · h(t) · s.
    """

    def __init__(self, optimizer, base_lr, max_lr, step_size_up=2000, step_size_down=None,
                 mode="triangular", gamma=1.0, scale_fn=None, scale_mode="cycle",
                 cycle_momentum=True, base_momentum=0.8, max_momentum=0.9, last_epoch=-1):
        _check_optimizer(optimizer)
        self.optimizer = optimizer
        base_lrs = _per_group("base_lr", base_lr, optimizer)
        self.max_lrs = _per_group("max_lr", max_lr, optimizer)
        for lr in base_lrs + self.max_lrs:
            F._check_lr(lr)
        self.total_size, self.step_ratio = F._cyclic_shape(step_size_up, step_size_down)
        self.scale_mode = F._check_cyclic_mode(mode, gamma, scale_fn, scale_mode)
        self.mode = mode
        self.gamma = gamma
        self._scale_fn_custom = scale_fn
        self.cycle_momentum = cycle_momentum
        if cycle_momentum:
            self.use_beta1 = _uses_betas(optimizer)
            self.base_momentums = _per_group("base_momentum", base_momentum, optimizer)
            self.max_momentums = _per_group("max_momentum", max_momentum, optimizer)
            for m in self.base_momentums + self.max_momentums:
                F._check_momentum(m)
        if last_epoch == -1:  # a cycle starts at η = base_lr, β = max_momentum
            for group, lr in zip(optimizer.param_groups, base_lrs):
                _set(group, "lr", lr)
            if cycle_momentum:
                for group, low, high in zip(optimizer.param_groups, self.base_momentums, self.max_momentums):
                    _set_momentum(group, high, self.use_beta1)
                    group["max_momentum"], group["base_momentum"] = high, low
        super().__init__(optimizer, last_epoch)
        self.base_lrs = base_lrs

    def scale_fn(self, x):
        """The amplitude's scale s(x)."""
        if self._scale_fn_custom is not None:
            return self._scale_fn_custom(x)
        return float(F.cyclic_scale(x, self.mode, self.gamma))

    def get_lr(self):
        _warn_outside_step(self)
        t = self.last_epoch
        cycle, height = F._cycle_position(t, self.total_size, self.step_ratio)
        cycle, height = int(cycle), float(height)
        scale = self.scale_fn(cycle if self.scale_mode == "cycle" else t)
        lrs = [low + (high - low) * height * scale for low, high in zip(self.base_lrs, self.max_lrs)]
        if self.cycle_momentum:
            for group, low, high in zip(self.optimizer.param_groups, self.base_momentums, self.max_momentums):
                _set_momentum(group, high - (high - low) * height * scale, self.use_beta1)
        return lrs

    def state_dict(self):
        """As torch: a custom scale_fn is kept only if it is a callable object (its __dict__)."""
        state = super().state_dict()
        fn = state.pop("_scale_fn_custom")
        keep = fn is not None and not isinstance(fn, types.FunctionType)
        state["_scale_fn_custom"] = fn.__dict__.copy() if keep else None
        return state

    def load_state_dict(self, state_dict):
        state_dict = dict(state_dict)
        fn_state = state_dict.pop("_scale_fn_custom", None)
        state_dict.pop("_scale_fn_ref", None)
        super().load_state_dict(state_dict)
        if fn_state is not None:
            self._scale_fn_custom.__dict__.update(fn_state)


class OneCycleLR(LRScheduler):
    """1cycle (Smith & Topin 2017): η anneals η_0 = max_lr/div_factor → max_lr over the first
    pct_start of total_steps, then → η_min = η_0/final_div_factor (cos or linear);
    three_phase: up, back down to η_0, then to η_min. With cycle_momentum, momentum (or
    Adam's β₁) goes max_momentum → base_momentum → max_momentum against η.
    Phase i anneals from its start to its end value: a(p) = end + (start − end)(1 + cos πp)/2.
    """

    def __init__(self, optimizer, max_lr, total_steps=None, epochs=None, steps_per_epoch=None,
                 pct_start=0.3, anneal_strategy="cos", cycle_momentum=True, base_momentum=0.85,
                 max_momentum=0.95, div_factor=25.0, final_div_factor=1e4, three_phase=False,
                 last_epoch=-1):
        _check_optimizer(optimizer)
        self.optimizer = optimizer
        if total_steps is None:
            if epochs is None or steps_per_epoch is None:
                raise ValueError("You must define either total_steps OR (epochs AND steps_per_epoch)")
            if not isinstance(epochs, int) or epochs <= 0:
                raise ValueError(f"Expected positive integer epochs, but got {epochs}")
            if not isinstance(steps_per_epoch, int) or steps_per_epoch <= 0:
                raise ValueError(f"Expected positive integer steps_per_epoch, but got {steps_per_epoch}")
            total_steps = epochs * steps_per_epoch
        F._check_one_cycle(total_steps, pct_start, anneal_strategy, div_factor, final_div_factor)
        self.total_steps = total_steps
        self.three_phase = three_phase
        self._phase_ends = F._one_cycle_phase_ends(total_steps, pct_start, three_phase)
        self._anneal_func_type = anneal_strategy
        max_lrs = _per_group("max_lr", max_lr, optimizer)
        for lr in max_lrs:
            F._check_lr(lr)
        self.cycle_momentum = cycle_momentum
        if cycle_momentum:
            self.use_beta1 = _uses_betas(optimizer)
            highs = _per_group("max_momentum", max_momentum, optimizer)
            lows = _per_group("base_momentum", base_momentum, optimizer)
            for m in highs + lows:
                F._check_momentum(m)
        if last_epoch == -1:  # the cycle's η and β live in the param groups, as in torch
            for group, top in zip(optimizer.param_groups, max_lrs):
                group["initial_lr"] = top / div_factor
                group["max_lr"] = top
                group["min_lr"] = group["initial_lr"] / final_div_factor
            if cycle_momentum:
                for group, high, low in zip(optimizer.param_groups, highs, lows):
                    _set_momentum(group, high, self.use_beta1)
                    group["max_momentum"], group["base_momentum"] = high, low
        super().__init__(optimizer, last_epoch)

    def get_lr(self):
        _warn_outside_step(self)
        t = self.last_epoch
        if t > self.total_steps:
            raise ValueError(f"Tried to step {t} times. The specified number of total steps is {self.total_steps}")
        if self.three_phase:
            lr_keys = ("initial_lr", "max_lr", "initial_lr", "min_lr")
            beta_keys = ("max_momentum", "base_momentum", "max_momentum", "max_momentum")
        else:
            lr_keys = ("initial_lr", "max_lr", "min_lr")
            beta_keys = ("max_momentum", "base_momentum", "max_momentum")
        lrs = []
        for group in self.optimizer.param_groups:
            points = [group[k] for k in lr_keys]
            lrs.append(float(F._one_cycle_interp(t, self._phase_ends, points, self._anneal_func_type)))
            if self.cycle_momentum:
                points = [group[k] for k in beta_keys]
                beta = float(F._one_cycle_interp(t, self._phase_ends, points, self._anneal_func_type))
                _set_momentum(group, beta, self.use_beta1)
        return lrs


def _undo_initial_step(scheduler):
    """Step back the schedulers' counters, as their constructors each made one step."""
    if hasattr(scheduler, "_schedulers"):
        for inner in scheduler._schedulers:
            _undo_initial_step(inner)
    elif hasattr(scheduler, "last_epoch"):
        scheduler.last_epoch -= 1


class SequentialLR(LRScheduler):
    """Schedulers one after another: η_t = f_k(t − m_k) for m_k ≤ t < m_(k+1) (m_0 = 0),
    each restarting at its milestone from its own t = 0, e.g. LinearLR warm-up then
    CosineAnnealingLR. The schedulers must share the optimizer."""

    def __init__(self, optimizer, schedulers, milestones, last_epoch=-1):
        name = type(self).__name__
        if len(schedulers) < 1:
            raise ValueError(f"{name} expects at least one scheduler, but got no scheduler.")
        for i, scheduler in enumerate(schedulers):
            if not hasattr(scheduler, "optimizer"):
                raise TypeError(f"{name} at index {i} should have `optimizer` as its attribute.")
            if isinstance(scheduler, (ReduceLROnPlateau, torch.optim.lr_scheduler.ReduceLROnPlateau)):
                raise ValueError(f"{name} does not support `ReduceLROnPlateau` scheduler as it requires "
                                 "additional kwargs to be specified when calling `step`, but got one at "
                                 f"index {i} in the given schedulers sequence.")
            if scheduler.optimizer is not optimizer:
                raise ValueError(f"{name} expects all schedulers to belong to the same optimizer, but got "
                                 f"scheduler {type(scheduler).__name__} at index {i} has "
                                 f"{scheduler.optimizer}, which is different from {type(optimizer).__name__}.")
        if len(milestones) != len(schedulers) - 1:
            raise ValueError("Sequential Schedulers expects number of schedulers provided to be one more "
                             f"than the number of milestone points, but got number of schedulers "
                             f"{len(schedulers)} and the number of milestones to be equal to {len(milestones)}")
        self._schedulers = list(schedulers)
        self._milestones = F._check_milestones("milestones", milestones)
        self.last_epoch = last_epoch + 1
        self.optimizer = optimizer
        for group in optimizer.param_groups:  # undo what the schedulers' constructors did to η
            _set(group, "lr", group["initial_lr"])
        _undo_initial_step(self)
        first = self._schedulers[bisect_right(self._milestones, 0)]
        first._initial_step()
        self._last_lr = first.get_last_lr()

    def step(self):
        self.last_epoch += 1
        k = bisect_right(self._milestones, self.last_epoch)
        scheduler = self._schedulers[k]
        if k > 0 and self._milestones[k - 1] == self.last_epoch:
            scheduler._update_lr(0)  # schedule k starts now, at its own t = 0 (closed form)
        else:
            scheduler.step()
        self._last_lr = scheduler.get_last_lr()

    def state_dict(self):
        state = {k: v for k, v in self.__dict__.items() if k not in ("optimizer", "_schedulers")}
        state["_schedulers"] = [s.state_dict() for s in self._schedulers]
        return state

    def load_state_dict(self, state_dict):
        state_dict = dict(state_dict)
        inner = state_dict.pop("_schedulers")
        self.__dict__.update(state_dict)
        for scheduler, state in zip(self._schedulers, inner):
            scheduler.load_state_dict(state)
