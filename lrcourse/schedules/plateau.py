"""Reduce η when a metric stops improving: torch's rule as a scheduler and as a function,
and Keras' rule beside it (they differ in how patience and cooldown are counted).
"""
from __future__ import annotations

import math
import warnings

import numpy as np
from torch.optim.lr_scheduler import EPOCH_DEPRECATION_WARNING, LRScheduler

from lrcourse import _checks
from lrcourse.schedules.param_groups import _check_optimizer, _lrs, _set

__all__ = ["ReduceLROnPlateau", "reduce_lr_on_plateau", "keras_reduce_lr_on_plateau"]


def _is_better(current, best, mode, threshold, threshold_mode):
    if mode == "min" and threshold_mode == "rel":
        return current < best * (1.0 - threshold)
    if mode == "min":
        return current < best - threshold
    if threshold_mode == "rel":
        return current > best * (threshold + 1.0)
    return current > best + threshold


def plateau_transition(current, best, bad_epochs, cooldown_left, *, mode, threshold,
                       threshold_mode, patience, cooldown):
    """torch's rule for one epoch's metric: returns (best, bad_epochs, cooldown_left, reduce).

    An improvement resets the count of bad epochs; epochs in cooldown are not counted; after
    more than ``patience`` bad epochs, ``reduce`` is True and cooldown starts. The function
    :func:`reduce_lr_on_plateau` and the scheduler :class:`ReduceLROnPlateau` both step this.
    """
    if _is_better(current, best, mode, threshold, threshold_mode):
        best, bad_epochs = current, 0
    else:
        bad_epochs += 1
    if cooldown_left > 0:
        cooldown_left -= 1
        bad_epochs = 0
    if bad_epochs > patience:
        return best, 0, cooldown, True
    return best, bad_epochs, cooldown_left, False


def _check_plateau(mode, factor, patience, threshold, threshold_mode, cooldown, eps):
    if factor >= 1.0:
        raise ValueError("Factor should be < 1.0.")
    _checks.expected_positive(factor, "factor")
    if mode not in ("min", "max"):
        raise ValueError(f"mode {mode} is unknown!")
    if threshold_mode not in ("rel", "abs"):
        raise ValueError(f"threshold mode {threshold_mode} is unknown!")
    _checks.expected_int(patience, "patience", 0)
    _checks.expected_int(cooldown, "cooldown", 0)
    if not (0 <= threshold < math.inf):
        raise ValueError(f"Expected non-negative threshold, but got {threshold}")
    if not (0 <= eps < math.inf):
        raise ValueError(f"Expected non-negative eps, but got {eps}")


def reduce_lr_on_plateau(metrics, base_lr, mode="min", factor=0.1, patience=10, threshold=1e-4,
                         threshold_mode="rel", cooldown=0, min_lr=0.0, eps=1e-8):
    """torch's ReduceLROnPlateau over a metric sequence; entry k is η after metric k
    (the rate for the next epoch).

    A metric is an improvement if it beats the best by the threshold (rel: best·(1 ∓ threshold),
    abs: best ∓ threshold). After more than `patience` epochs in a row without one,
    η ← max(η·factor, min_lr) (skipped if that lowers η by eps or less), then `cooldown`
    epochs are not counted.
    """
    _check_plateau(mode, factor, patience, threshold, threshold_mode, cooldown, eps)
    _checks.lr(min_lr)
    lr, best = base_lr, (math.inf if mode == "min" else -math.inf)
    bad_epochs, cooldown_left, out = 0, 0, []
    for current in metrics:
        best, bad_epochs, cooldown_left, reduce = plateau_transition(
            float(current), best, bad_epochs, cooldown_left, mode=mode, threshold=threshold,
            threshold_mode=threshold_mode, patience=patience, cooldown=cooldown)
        if reduce:
            new_lr = max(lr * factor, min_lr)
            if lr - new_lr > eps:
                lr = new_lr
        out.append(lr)
    return np.array(out, dtype=float)


def keras_reduce_lr_on_plateau(metrics, base_lr, factor=0.1, patience=10, min_delta=1e-4,
                               cooldown=0, min_lr=0.0, mode="min"):
    """Keras' ReduceLROnPlateau callback over a metric sequence (entry k: η after epoch k).

    Keras is not a dependency: this follows keras.callbacks.ReduceLROnPlateau's documented
    arguments and its on_epoch_end. Where it differs from torch's ReduceLROnPlateau:

    * patience: Keras counts `wait` and reduces when wait ≥ patience, i.e. after `patience`
      epochs without improvement; torch reduces when num_bad_epochs > patience, after
      patience + 1. With the same patience Keras reduces one epoch earlier; Keras patience
      p + 1 behaves as torch patience p (and Keras 0 as Keras 1: wait is raised before the test).
    * improvement: Keras' min_delta is absolute (current < best − min_delta in "min" mode),
      torch's threshold_mode="abs"; torch's default is relative, best·(1 − threshold).
    * cooldown: Keras decrements its cooldown counter before looking at the metric and
      already counts the epoch in which the counter reaches 0; torch decrements after and
      does not count that epoch. Keras cooldown c + 1 behaves as torch cooldown c.
    * min_lr and eps: Keras reduces only while η > min_lr, to max(η·factor, min_lr), and
      resets its counters only when it did reduce. torch computes max(η·factor, min_lr) each
      time patience runs out but applies it only if it lowers η by more than eps (1e-8),
      so with min_lr = 0 torch stops near eps/(1 − factor) while Keras keeps halving.
    * Keras keeps η as a float32 variable and has mode "auto" (from the metric's name);
      this reference stays in float64 and takes mode "min" or "max".

    So, while eps does not bind, torch(patience=p, cooldown=c, threshold=d,
    threshold_mode="abs") gives the same η sequence as Keras(patience=p+1, cooldown=c+1,
    min_delta=d); tests/test_schedules_plateau.py checks this on random streams.
    """
    if factor >= 1.0:
        raise ValueError(f"ReduceLROnPlateau does not support a factor >= 1.0. Received factor={factor}")
    if mode not in ("min", "max"):
        raise ValueError(f"mode {mode} is unknown!")
    lr, best = base_lr, (math.inf if mode == "min" else -math.inf)
    wait, cooldown_counter, out = 0, 0, []
    for current in metrics:
        current = float(current)
        if cooldown_counter > 0:
            cooldown_counter -= 1
            wait = 0
        improved = current < best - min_delta if mode == "min" else current > best + min_delta
        if improved:
            best, wait = current, 0
        elif cooldown_counter == 0:
            wait += 1
            if wait >= patience and lr > min_lr:
                lr = max(lr * factor, min_lr)
                cooldown_counter, wait = cooldown, 0
        out.append(lr)
    return np.array(out, dtype=float)


# ---------------------------------------------------------------- the seed articles' forms


class ReduceLROnPlateau(LRScheduler):
    """Reduce η when a metric stops improving: step(metric) once per epoch.

    A metric improves on the best so far if it beats it by the threshold (rel:
    best·(1 ∓ threshold), abs: best ∓ threshold; − for mode "min"). After more than
    `patience` epochs in a row without improvement, η ← max(η·factor, min_lr) per group
    (skipped if η would fall by eps or less); the next `cooldown` epochs are not counted.
    Keras' callback differs (patience, cooldown, min_lr): see
    keras_reduce_lr_on_plateau below.
    """

    def __init__(self, optimizer, mode="min", factor=0.1, patience=10, threshold=1e-4,
                 threshold_mode="rel", cooldown=0, min_lr=0, eps=1e-8):
        _check_plateau(mode, factor, patience, threshold, threshold_mode, cooldown, eps)
        _check_optimizer(optimizer)
        self.factor = factor
        self.optimizer = optimizer
        n = len(optimizer.param_groups)
        if isinstance(min_lr, (list, tuple)):
            if len(min_lr) != n:
                raise ValueError(f"expected {n} min_lrs, got {len(min_lr)}")
            self.default_min_lr = None
            self.min_lrs = list(min_lr)
        else:
            self.default_min_lr = min_lr
            self.min_lrs = [min_lr] * n
        for m in self.min_lrs:
            _checks.lr(m)
        self.patience = patience
        self.cooldown = cooldown
        self.eps = eps
        self.last_epoch = 0
        self._last_lr = _lrs(self)
        self.mode_worse = math.inf if mode == "min" else -math.inf
        self.mode = mode
        self.threshold = threshold
        self.threshold_mode = threshold_mode
        self._reset()

    def _reset(self):
        self.best = self.mode_worse
        self.cooldown_counter = 0
        self.num_bad_epochs = 0

    @property
    def in_cooldown(self):
        return self.cooldown_counter > 0

    def is_better(self, current, best):
        """Does `current` beat `best` by the threshold?"""
        return _is_better(current, best, self.mode, self.threshold, self.threshold_mode)

    def step(self, metrics, epoch=None):
        current = float(metrics)  # also a 0-dim tensor
        if epoch is None:
            epoch = self.last_epoch + 1
        else:
            warnings.warn(EPOCH_DEPRECATION_WARNING, UserWarning, stacklevel=2)
        self.last_epoch = epoch
        self.best, self.num_bad_epochs, self.cooldown_counter, reduce = plateau_transition(
            current, self.best, self.num_bad_epochs, self.cooldown_counter, mode=self.mode,
            threshold=self.threshold, threshold_mode=self.threshold_mode,
            patience=self.patience, cooldown=self.cooldown)
        if reduce:
            self._reduce_lr(epoch)
        self._last_lr = _lrs(self)

    def _reduce_lr(self, epoch):
        groups = self.optimizer.param_groups
        if len(groups) != len(self.min_lrs):  # a param group was added since construction
            if self.default_min_lr is None:
                raise RuntimeError(f"The number of param groups in the `optimizer` ({len(groups)}) differs "
                                   f"from when `ReduceLROnPlateau` was initialized ({len(self.min_lrs)}), "
                                   "usually due to a new param group being added to the optimizer. Please "
                                   "modify the `min_lrs` field to match the length of the `optimizer` param groups.")
            self.min_lrs = [self.default_min_lr] * len(groups)
        for group, min_lr in zip(groups, self.min_lrs):
            old_lr = float(group["lr"])
            new_lr = max(old_lr * self.factor, min_lr)
            if old_lr - new_lr > self.eps:
                _set(group, "lr", new_lr)
