"""The learning-rate range test (Smith 2017; fastai's ``lr_find``) for any torch model.

Train for N steps while η grows exponentially from ``start_lr`` to ``end_lr``,

    η_i = start · (end / start)^(i / (N − 1)),       i = 0 … N − 1,

record the loss L_i of batch i (computed at θ_i, *before* the step that uses η_i),
smooth it with a debiased exponential moving average,

    avg_i = β · avg_{i−1} + (1 − β) · L_i,   avg_{−1} = 0,   L̃_i = avg_i / (1 − β^(i+1)),

and stop as soon as L̃_i > ``diverge_factor`` × min_{k≤i} L̃_k or L̃_i is NaN/inf.  (With
i counted from 0 the debiasing exponent is i + 1: the first smoothed value is L_0 itself.)
The model and the optimizer are put back exactly as they were (deep copies of their
``state_dict``s, plus the gradients and the train/eval mode).

Three suggestions are read off the smoothed curve L̃ after trimming it as fastai does
(drop the first N // 10 and the last 5 recorded points, and everything from the first
NaN on):

- ``valley``     (fastai's default since 2.4): find the longest strictly decreasing
  subsequence of L̃ (ℓ points, ending at b) — the longest "valley", taken as the ℓ grid
  points up to b — and return the η halfway along it, where the loss is still falling
  steeply, away from both the flat start and the blow-up.
- ``steep``      the point of steepest descent: argmin of dL̃/d(log η) (central
  differences, ``np.gradient``; torch-lr-finder's rule).
- ``minimum/10`` the η at which L̃ is smallest, divided by 10 (fastai's old ``lr_min``:
  the minimum is already at the edge of instability, so back off by one decade).

The rule ``L̃ > 4 · best`` assumes L ≥ 0 (a negative loss makes "4 × best" meaningless).
"""
from __future__ import annotations

import copy
import math
from dataclasses import dataclass, field
from typing import Callable, Iterable

import numpy as np
import torch

from lrcourse import _checks

RULES = {
    "valley": "middle of the longest descending stretch",
    "steep": "steepest descent: min dL̃/d log η",
    "minimum/10": "η at the minimum of L̃, ÷ 10",
}


@dataclass(frozen=True)
class Suggestion:
    """One suggested η: the rule's name, η, the smoothed loss there, the grid index it came from."""

    name: str
    lr: float
    loss: float
    index: int
    rule: str


@dataclass
class RangeTestResult:
    """What a range test recorded: one entry per step taken (the stopping step included).

    ``lrs[i]`` is η_i, ``losses[i]`` the raw L_i, ``smoothed[i]`` the debiased EMA L̃_i;
    ``stop_index`` is the step at which the test stopped early (None if the ramp finished)
    and ``stop_reason`` one of ``"diverged"`` (L̃ > factor × best), ``"nan"`` or ``"completed"``.
    ``suggestions`` maps ``"valley"``, ``"steep"``, ``"minimum/10"`` to a :class:`Suggestion`
    (or None when too few points survive the trimming).
    """

    lrs: np.ndarray
    losses: np.ndarray
    smoothed: np.ndarray
    stop_index: int | None
    stop_reason: str
    start_lr: float
    end_lr: float
    num_iter: int
    smooth: float
    diverge_factor: float
    skip_start: int
    skip_end: int
    suggestions: dict[str, Suggestion | None] = field(default_factory=dict)

    @property
    def stop_lr(self) -> float | None:
        """η at the step where the test stopped early, or None if it ran the whole ramp."""
        return None if self.stop_index is None else float(self.lrs[self.stop_index])


def exponential_ramp(start_lr: float, end_lr: float, num_iter: int) -> np.ndarray:
    """η_i = start · (end/start)^(i/(N−1)) for i = 0 … N−1 (float64)."""
    _check_ramp(start_lr, end_lr, num_iter)
    i = np.arange(num_iter, dtype=np.float64)
    return start_lr * (end_lr / start_lr) ** (i / (num_iter - 1))


def debiased_ema(losses, smooth: float = 0.98) -> np.ndarray:
    """L̃_i = avg_i / (1 − β^(i+1)) with avg_i = β·avg_{i−1} + (1−β)·L_i, avg_{−1} = 0."""
    _check_smooth(smooth)
    out = np.empty(len(losses), dtype=np.float64)
    avg = 0.0
    for i, loss in enumerate(losses):
        avg = smooth * avg + (1.0 - smooth) * float(loss)
        out[i] = avg / (1.0 - smooth ** (i + 1))
    return out


def lr_range_test(
    model: torch.nn.Module,
    optimizer_or_factory,
    batches: Iterable,
    loss_fn: Callable,
    *,
    start_lr: float = 1e-7,
    end_lr: float = 10.0,
    num_iter: int = 100,
    smooth: float = 0.98,
    diverge_factor: float = 4.0,
    seed: int | None = None,
) -> RangeTestResult:
    """Run the LR range test and return a :class:`RangeTestResult` (model and optimizer restored).

    ``optimizer_or_factory`` is a ``torch.optim.Optimizer`` over ``model``'s parameters (its
    state is saved and restored) or a callable ``params -> Optimizer`` (a fresh one is built
    and thrown away).  ``batches`` is any re-iterable of ``(x, y)`` pairs — a DataLoader, a
    list; it is cycled if it runs out before ``num_iter`` steps.  Every step sets
    ``lr = η_i`` in every parameter group, computes ``L_i = loss_fn(model(x), y)``, records
    it, checks for divergence, and only then does ``backward()`` and ``step()``.
    ``seed`` seeds torch's global RNG for the duration (batch shuffling, dropout) inside
    ``torch.random.fork_rng``, so the caller's RNG state is left untouched.
    ``diverge_factor=math.inf`` disables the early stop (NaN/inf still stops).
    """
    _check_ramp(start_lr, end_lr, num_iter)
    _check_smooth(smooth)
    if not diverge_factor > 1.0:
        raise ValueError(f"Invalid diverge_factor: {diverge_factor} (must be > 1)")
    if isinstance(optimizer_or_factory, torch.optim.Optimizer):
        optimizer, own_optimizer = optimizer_or_factory, False
    elif callable(optimizer_or_factory):
        optimizer, own_optimizer = optimizer_or_factory(model.parameters()), True
        if not isinstance(optimizer, torch.optim.Optimizer):
            raise TypeError(f"the optimizer factory returned {type(optimizer).__name__}, not an Optimizer")
    else:
        raise TypeError("optimizer_or_factory must be a torch.optim.Optimizer or a callable params -> Optimizer")

    lrs = exponential_ramp(start_lr, end_lr, num_iter)
    saved_model = copy.deepcopy(model.state_dict())
    saved_opt = None if own_optimizer else copy.deepcopy(optimizer.state_dict())
    saved_grads = [None if p.grad is None else p.grad.detach().clone() for p in model.parameters()]
    was_training = model.training
    try:
        if seed is None:
            losses, smoothed, stop, reason = _ramp(model, optimizer, batches, loss_fn, lrs, smooth, diverge_factor)
        else:
            with torch.random.fork_rng(devices=[]):
                torch.manual_seed(seed)
                losses, smoothed, stop, reason = _ramp(model, optimizer, batches, loss_fn, lrs, smooth, diverge_factor)
    finally:
        model.load_state_dict(saved_model)
        if saved_opt is not None:
            optimizer.load_state_dict(saved_opt)
        for p, g in zip(model.parameters(), saved_grads):
            p.grad = g
        model.train(was_training)

    n = len(losses)
    skip_start, skip_end = num_iter // 10, 5
    result = RangeTestResult(
        lrs=lrs[:n].copy(), losses=np.asarray(losses, dtype=np.float64), smoothed=np.asarray(smoothed),
        stop_index=stop, stop_reason=reason, start_lr=float(start_lr), end_lr=float(end_lr),
        num_iter=int(num_iter), smooth=float(smooth), diverge_factor=float(diverge_factor),
        skip_start=skip_start, skip_end=skip_end,
    )
    result.suggestions = suggest_lrs(result.lrs, result.smoothed, skip_start=skip_start, skip_end=skip_end)
    return result


def _ramp(model, optimizer, batches, loss_fn, lrs, smooth, diverge_factor):
    """The training loop of the test: returns raw losses, smoothed losses, stop index, reason."""
    model.train()
    losses, smoothed = [], []
    avg, best = 0.0, math.inf
    for i, (lr, (x, y)) in enumerate(zip(lrs, _cycle(batches))):
        for group in optimizer.param_groups:
            group["lr"] = float(lr)
        optimizer.zero_grad()
        loss = loss_fn(model(x), y)
        value = float(loss.detach())
        avg = smooth * avg + (1.0 - smooth) * value
        s = avg / (1.0 - smooth ** (i + 1))
        losses.append(value)
        smoothed.append(s)
        if not (math.isfinite(value) and math.isfinite(s)):
            return losses, smoothed, i, "nan"
        best = min(best, s)
        if s > diverge_factor * best:
            return losses, smoothed, i, "diverged"
        loss.backward()
        optimizer.step()
    return losses, smoothed, None, "completed"


def _cycle(batches):
    """Yield the batches again and again; an iterable that yields nothing (e.g. a spent one-shot iterator) is an error."""
    while True:
        empty = True
        for batch in batches:
            empty = False
            yield batch
        if empty:
            raise ValueError("batches yields nothing (when iterated again, if the ramp outlasted it); "
                             "pass a re-iterable (a DataLoader or a list), not a one-shot iterator")


def suggest_lrs(lrs, smoothed, *, skip_start: int = 0, skip_end: int = 0) -> dict[str, Suggestion | None]:
    """The three suggestions on L̃ trimmed to ``[skip_start : len − skip_end]`` and cut at the first NaN/inf.

    Each entry is None when fewer than 3 points survive.  Indices refer to the untrimmed arrays.
    """
    lrs = np.asarray(lrs, dtype=np.float64)
    smoothed = np.asarray(smoothed, dtype=np.float64)
    if len(lrs) != len(smoothed):
        raise ValueError(f"lrs and smoothed differ in length: {len(lrs)} vs {len(smoothed)}")
    if skip_start < 0 or skip_end < 0:
        raise ValueError(f"Invalid skip_start/skip_end: {skip_start}, {skip_end} (must be ≥ 0)")
    stop = len(lrs) - skip_end
    x, y = lrs[skip_start:stop], smoothed[skip_start:stop]
    bad = np.flatnonzero(~np.isfinite(y))
    if bad.size:
        x, y = x[: bad[0]], y[: bad[0]]
    if len(y) < 3:
        return {name: None for name in RULES}
    log_x = np.log(x)
    out = {}

    v = skip_start + _valley_index(y)
    out["valley"] = Suggestion("valley", float(lrs[v]), float(smoothed[v]), int(v), RULES["valley"])

    g = np.gradient(y, log_x)
    s = skip_start + int(np.argmin(g))
    out["steep"] = Suggestion("steep", float(lrs[s]), float(smoothed[s]), int(s), RULES["steep"])

    m = int(np.argmin(y))
    lr10 = float(x[m]) / 10.0
    loss10 = float(np.interp(np.log(lr10), log_x, y))  # clamps to y[0] below the window
    out["minimum/10"] = Suggestion("minimum/10", lr10, loss10, skip_start + m, RULES["minimum/10"])
    return out


def _valley_index(y: np.ndarray) -> int:
    """fastai's valley rule: the middle of the longest valley of y.

    ``length[i]`` is the length ℓ of the longest strictly decreasing subsequence of y that
    ends at i; b is the first index where ℓ is largest.  As in fastai, the valley is taken to
    be the ℓ grid points ending at b, [a, b] with a = b − ℓ + 1 — a noisy flat start counts
    only for the points that join the chain, so the valley hugs the real descent — and the
    suggestion is its midpoint a + (b − a) // 2 (fastai: a third plus a sixth of the way).
    """
    n = len(y)
    length = np.ones(n, dtype=int)
    for i in range(1, n):
        higher = y[:i] > y[i]
        if higher.any():
            length[i] = 1 + length[:i][higher].max()
    b = int(np.argmax(length))
    a = max(0, b - int(length[b]) + 1)
    return a + (b - a) // 2


def _check_ramp(start_lr, end_lr, num_iter):
    if not start_lr > 0.0:
        raise ValueError(f"Invalid start_lr: {start_lr} (an exponential ramp needs start_lr > 0)")
    if not end_lr > start_lr:
        raise ValueError(f"Invalid learning rate range: start_lr={start_lr} must be < end_lr={end_lr}")
    _checks.int_at_least(num_iter, "num_iter", 2)


def _check_smooth(smooth):
    if not 0.0 <= smooth < 1.0:
        raise ValueError(f"Invalid smooth value: {smooth} (β must be in [0, 1))")
