"""Learning-rate schedules as plain functions: η at step t, with no optimizer.

Every schedule of :mod:`lrcourse.schedules` has its closed form here, vectorised over a
numpy array of steps t (a scalar t gives a float). η_0 is the base learning rate; t counts
``scheduler.step()`` calls, t = 0 being the rate set at construction. ``lr_schedule`` is
the one entry point: ``lr_schedule("CosineAnnealingLR", 100, 0.1, T_max=100)``.
Also here: the seed articles' simple forms (step_decay, exponential_decay,
piecewise_constant) and ReduceLROnPlateau as a loop over a metric sequence, in torch's
rules and in Keras' rules (keras_reduce_lr_on_plateau).
"""
from __future__ import annotations

import math
import numbers

import numpy as np

from lrcourse import _checks
from lrcourse.schedules import plateau

__all__ = [
    "step_lr", "multi_step_lr", "exponential_lr", "polynomial_lr", "linear_lr",
    "linear_warmup", "cosine_annealing", "cosine_annealing_warm_restarts", "cyclic_lr",
    "cyclic_momentum", "one_cycle", "one_cycle_momentum", "sequential_lr",
    "reduce_lr_on_plateau", "keras_reduce_lr_on_plateau", "step_decay",
    "exponential_decay", "piecewise_constant", "lr_schedule",
]


# ---------------------------------------------------------------- argument checks
def _check_int(name, value, minimum=1):
    return _checks.expected_int(value, name, minimum)


def _check_positive(name, value):
    return _checks.expected_positive(value, name)


def _check_lr(lr):
    return _checks.lr(lr)


def _check_momentum(momentum):
    return _checks.momentum(momentum)


def _check_milestones(name, milestones):
    milestones = list(milestones)
    for m in milestones:
        _check_int(f"{name} entry", m, minimum=0)
    milestones = [int(m) for m in milestones]
    if any(b < a for a, b in zip(milestones, milestones[1:])):
        raise ValueError(f"{name} must be non-decreasing, but got {milestones}")
    return milestones


def _steps(t):
    """t as a float array of at least one dimension: scalars and arrays take one code path."""
    return np.atleast_1d(np.asarray(t, dtype=float))


def _out(values, t):
    """Shaped like t: a float for a scalar t, an array for an array t."""
    values = np.asarray(values, dtype=float).reshape(np.shape(t))
    return float(values) if values.ndim == 0 else values


# ---------------------------------------------------------------- decays
def step_lr(t, base_lr, step_size, gamma=0.1):
    """Step decay (StepLR): η_t = η_0 · γ^⌊t/step_size⌋."""
    _check_int("step_size", step_size)
    _check_positive("gamma", gamma)
    return _out(base_lr * gamma ** np.floor_divide(_steps(t), step_size), t)


def multi_step_lr(t, base_lr, milestones, gamma=0.1):
    """Decay at milestones (MultiStepLR): η_t = η_0 · γ^(number of milestones ≤ t)."""
    milestones = _check_milestones("milestones", milestones)
    _check_positive("gamma", gamma)
    passed = np.searchsorted(np.asarray(milestones, dtype=float), _steps(t), side="right")
    return _out(base_lr * gamma ** passed, t)


def exponential_lr(t, base_lr, gamma):
    """Exponential decay (ExponentialLR): η_t = η_0 · γ^t."""
    _check_positive("gamma", gamma)
    return _out(base_lr * gamma ** _steps(t), t)


def polynomial_lr(t, base_lr, total_iters=5, power=1.0):
    """Polynomial decay (PolynomialLR): η_t = η_0 · (1 − min(t, T)/T)^p, T = total_iters."""
    _check_int("total_iters", total_iters)
    if not isinstance(power, numbers.Real) or not (0 <= power < math.inf):
        raise ValueError(f"Expected non-negative power, but got {power}")
    return _out(base_lr * (1.0 - np.minimum(_steps(t), total_iters) / total_iters) ** power, t)


def linear_lr(t, base_lr, start_factor=1.0 / 3, end_factor=1.0, total_iters=5):
    """Linear ramp of the factor (LinearLR), the usual warm-up:
    η_t = η_0 · (s + (e − s) · min(t, T)/T), s = start_factor, e = end_factor, T = total_iters.
    """
    _check_linear(start_factor, end_factor, total_iters)
    fraction = np.minimum(_steps(t), total_iters) / total_iters
    return _out(base_lr * (start_factor + (end_factor - start_factor) * fraction), t)


linear_warmup = linear_lr  # the same function, under the name the book uses for warm-up


def _check_linear(start_factor, end_factor, total_iters):
    if not (0 < start_factor <= 1.0):
        raise ValueError("Starting multiplicative factor expected to be greater than 0 "
                         "and less or equal to 1.")
    if not (0 <= end_factor <= 1.0):
        raise ValueError("Ending multiplicative factor expected to be between 0 and 1.")
    _check_int("total_iters", total_iters)


def cosine_annealing(t, base_lr, T_max, eta_min=0.0):
    """Cosine annealing (CosineAnnealingLR): η_t = η_min + (η_0 − η_min)·(1 + cos(π t/T_max))/2.

    Past T_max it climbs back up (the cosine is periodic), exactly as torch's does.
    """
    _check_int("T_max", T_max)
    _check_lr(eta_min)
    return _out(eta_min + (base_lr - eta_min) * (1 + np.cos(np.pi * _steps(t) / T_max)) / 2, t)


def _warm_restart_position(t, T_0, T_mult):
    """(T_cur, T_i) at step t: steps since the last restart, length of the current cycle.

    Cycles last T_0, T_0·T_mult, T_0·T_mult², …; whole cycles are subtracted one by one, so
    the answer is exact at every restart (torch's step(epoch) takes a float log instead).
    """
    T_cur = _steps(t).copy()
    T_i = np.full(T_cur.shape, float(T_0))
    if T_mult == 1:
        return (T_cur % T_0).reshape(np.shape(t)), T_i.reshape(np.shape(t))
    past = T_cur >= T_i
    while past.any():
        T_cur = np.where(past, T_cur - T_i, T_cur)
        T_i = np.where(past, T_i * T_mult, T_i)
        past = T_cur >= T_i
    return T_cur.reshape(np.shape(t)), T_i.reshape(np.shape(t))


def _check_warm_restarts(T_0, T_mult, eta_min):
    _checks.expected_int(T_0, "T_0")
    if isinstance(T_mult, bool) or not isinstance(T_mult, int) or T_mult < 1:
        raise ValueError(f"Expected integer T_mult >= 1, but got {T_mult}")
    if not isinstance(eta_min, (float, int)):
        raise ValueError(f"Expected float or int eta_min, but got {eta_min} of type {type(eta_min)}")
    _check_lr(eta_min)


def cosine_annealing_warm_restarts(t, base_lr, T_0, T_mult=1, eta_min=0.0):
    """SGDR (CosineAnnealingWarmRestarts): η_t = η_min + (η_0 − η_min)·(1 + cos(π T_cur/T_i))/2,
    T_cur = steps since the last restart, T_i = T_0·T_mult^i the length of cycle i.
    """
    _check_warm_restarts(T_0, T_mult, eta_min)
    T_cur, T_i = _warm_restart_position(t, T_0, T_mult)
    return _out(eta_min + (base_lr - eta_min) * (1 + np.cos(np.pi * T_cur / T_i)) / 2, t)


# ---------------------------------------------------------------- cyclical and 1cycle
def _cycle_position(t, total_size, step_ratio):
    """(cycle, h): cycle number (from 1) and the triangle's height h ∈ [0, 1] at step t."""
    shape, t = np.shape(t), _steps(t)
    cycle = np.floor(1 + t / total_size)
    x = 1.0 + t / total_size - cycle  # position inside the cycle, in [0, 1)
    with np.errstate(divide="ignore", invalid="ignore"):
        height = np.where(x <= step_ratio, x / step_ratio, (x - 1) / (step_ratio - 1))
    return cycle.reshape(shape), height.reshape(shape)


def _cyclic_shape(step_size_up, step_size_down):
    _check_int("step_size_up", step_size_up)
    if step_size_down is not None:
        _check_int("step_size_down", step_size_down, minimum=0)
    up = float(step_size_up)
    down = float(step_size_down) if step_size_down is not None else up
    total_size = up + down
    return total_size, up / total_size


def cyclic_scale(x, mode, gamma=1.0, scale_fn=None):
    """The amplitude's scale s(x): 1 (triangular), 1/2^(x−1) (triangular2), γ^x (exp_range)."""
    if scale_fn is not None:
        return np.vectorize(scale_fn, otypes=[float])(x)
    if mode == "triangular":
        return np.ones_like(x)
    if mode == "triangular2":
        return 1 / (2.0 ** (x - 1))
    return gamma ** x


def _check_cyclic_mode(mode, gamma, scale_fn, scale_mode):
    if mode not in ("triangular", "triangular2", "exp_range") and scale_fn is None:
        raise ValueError("mode is invalid and scale_fn is None")
    if scale_mode not in ("cycle", "iterations"):
        raise ValueError(f"scale_mode must be 'cycle' or 'iterations', but got {scale_mode}")
    _check_positive("gamma", gamma)
    if scale_fn is None:  # the built-in modes fix what s is evaluated on
        scale_mode = "iterations" if mode == "exp_range" else "cycle"
    return scale_mode


def cyclic_lr(t, base_lr, max_lr, step_size_up=2000, step_size_down=None, mode="triangular",
              gamma=1.0, scale_fn=None, scale_mode="cycle"):
    """Cyclical learning rate (CyclicLR): η_t = η_base + (η_max − η_base) · h(t) · s.

    h climbs 0→1 over step_size_up steps and back 1→0 over step_size_down; s is 1
    (triangular), 1/2^(cycle−1) (triangular2), γ^t (exp_range) or scale_fn(cycle or t).
    """
    total_size, step_ratio = _cyclic_shape(step_size_up, step_size_down)
    scale_mode = _check_cyclic_mode(mode, gamma, scale_fn, scale_mode)
    cycle, height = _cycle_position(t, total_size, step_ratio)
    scale = cyclic_scale(cycle if scale_mode == "cycle" else _steps(t), mode, gamma, scale_fn)
    return _out(base_lr + (max_lr - base_lr) * height * scale, t)


def cyclic_momentum(t, base_momentum=0.8, max_momentum=0.9, step_size_up=2000,
                    step_size_down=None, mode="triangular", gamma=1.0, scale_fn=None,
                    scale_mode="cycle"):
    """CyclicLR's momentum, cycled against η: β_t = β_max − (β_max − β_base) · h(t) · s."""
    return cyclic_lr(t, max_momentum, base_momentum, step_size_up, step_size_down, mode,
                     gamma, scale_fn, scale_mode)


def _one_cycle_phase_ends(total_steps, pct_start, three_phase):
    """Last step of each phase, as torch computes them (floats, may be fractional)."""
    if three_phase:
        return [float(pct_start * total_steps) - 1, float(2 * pct_start * total_steps) - 2,
                total_steps - 1]
    return [float(pct_start * total_steps) - 1, total_steps - 1]


def _anneal(start, end, pct, strategy):
    """From start (pct = 0) to end (pct = 1): half a cosine, or a straight line."""
    if strategy == "cos":
        return end + (start - end) / 2.0 * (np.cos(np.pi * pct) + 1)
    return (end - start) * pct + start


def _one_cycle_interp(t, phase_ends, points, strategy):
    """Anneal from points[i] to points[i+1] during phase i (phase i ends at phase_ends[i])."""
    shape, t = np.shape(t), _steps(t)
    phase = np.full(t.shape, len(phase_ends) - 1)
    decided = np.zeros(t.shape, dtype=bool)
    for i, end in enumerate(phase_ends[:-1]):  # the first phase whose end is ≥ t
        now = ~decided & (t <= end)
        phase[now] = i
        decided |= now
    starts = np.array([0.0] + list(phase_ends[:-1]))
    ends = np.array(phase_ends, dtype=float)
    pct = (t - starts[phase]) / (ends[phase] - starts[phase])
    points = np.asarray(points, dtype=float)
    return _anneal(points[phase], points[phase + 1], pct, strategy).reshape(shape)


def _check_one_cycle(total_steps, pct_start, anneal_strategy, div_factor, final_div_factor):
    _checks.expected_int(total_steps, "total_steps")
    if not isinstance(pct_start, float) or not (0 <= pct_start <= 1):
        raise ValueError(f"Expected float between 0 and 1 pct_start, but got {pct_start}")
    if anneal_strategy not in ("cos", "linear"):
        raise ValueError(f"anneal_strategy must be one of 'cos' or 'linear', instead got {anneal_strategy}")
    _check_positive("div_factor", div_factor)
    _check_positive("final_div_factor", final_div_factor)
    if float(pct_start * total_steps) == 1:  # torch divides 0 by 0 here
        raise ValueError(f"pct_start * total_steps = 1 makes a warm-up phase of zero steps "
                         f"(pct_start={pct_start}, total_steps={total_steps})")


def one_cycle(t, max_lr, total_steps, pct_start=0.3, anneal_strategy="cos", div_factor=25.0,
              final_div_factor=1e4, three_phase=False):
    """1cycle (OneCycleLR): η climbs from η_max/div_factor to η_max over the first pct_start of
    the steps, then anneals to η_max/(div_factor·final_div_factor) (cos or linear).
    three_phase: up, back down to the start symmetrically, then down to the minimum.
    """
    _check_one_cycle(total_steps, pct_start, anneal_strategy, div_factor, final_div_factor)
    _check_lr(max_lr)
    initial_lr = max_lr / div_factor
    min_lr = initial_lr / final_div_factor
    points = [initial_lr, max_lr, initial_lr, min_lr] if three_phase else [initial_lr, max_lr, min_lr]
    ends = _one_cycle_phase_ends(total_steps, pct_start, three_phase)
    return _out(_one_cycle_interp(t, ends, points, anneal_strategy), t)


def one_cycle_momentum(t, total_steps, pct_start=0.3, anneal_strategy="cos", base_momentum=0.85,
                       max_momentum=0.95, three_phase=False):
    """OneCycleLR's momentum, against η: β_max → β_base while η rises, then back to β_max."""
    _check_one_cycle(total_steps, pct_start, anneal_strategy, 1.0, 1.0)
    if three_phase:
        points = [max_momentum, base_momentum, max_momentum, max_momentum]
    else:
        points = [max_momentum, base_momentum, max_momentum]
    ends = _one_cycle_phase_ends(total_steps, pct_start, three_phase)
    return _out(_one_cycle_interp(t, ends, points, anneal_strategy), t)


# ---------------------------------------------------------------- sequences
def sequential_lr(t, base_lr, schedulers, milestones):
    """Schedules one after another (SequentialLR): η_t = f_k(t − m_k) for m_k ≤ t < m_(k+1),
    m_0 = 0, each f_k restarting from its own t = 0 at its milestone.

    schedulers: (name or class, kwargs) pairs as for lr_schedule, or functions f(t, base_lr).
    """
    milestones = _check_milestones("milestones", milestones)
    if len(schedulers) < 1 or len(milestones) != len(schedulers) - 1:
        raise ValueError("Sequential Schedulers expects number of schedulers provided to be one "
                         f"more than the number of milestone points, but got number of schedulers "
                         f"{len(schedulers)} and the number of milestones to be equal to {len(milestones)}")
    t_arr = _steps(t)
    which = np.searchsorted(np.asarray(milestones, dtype=float), t_arr, side="right")
    starts = np.array([0] + milestones, dtype=float)
    eta = np.empty(t_arr.shape)
    for k, spec in enumerate(schedulers):
        here = which == k
        local_t = t_arr[here] - starts[k]
        if callable(spec):
            eta[here] = spec(local_t, base_lr)
        else:
            name, kwargs = spec
            eta[here] = _function_for(name)(local_t, base_lr, **kwargs)
    return _out(eta, t)


def step_decay(epoch, eta0, drop, epochs_drop, plus_one=False):
    """Step decay as the seed articles write it: η = η0 · drop^⌊epoch/epochs_drop⌋.

    This is StepLR(step_size=epochs_drop, gamma=drop), and what we use. Some blog posts
    write ⌊(1 + epoch)/epochs_drop⌋ (plus_one=True): with epochs counted from 0 that
    drops one epoch early, at epoch epochs_drop − 1.
    """
    _check_int("epochs_drop", epochs_drop)
    _check_positive("drop", drop)
    e = _steps(epoch) + (1 if plus_one else 0)
    return _out(eta0 * drop ** np.floor(e / epochs_drop), epoch)


def exponential_decay(t, eta0, k):
    """η_t = η0 · exp(−k t): ExponentialLR with γ = exp(−k)."""
    if not (0 <= k < math.inf):
        raise ValueError(f"Expected non-negative decay rate k, but got {k}")
    return _out(eta0 * np.exp(-k * _steps(t)), t)


def piecewise_constant(t, boundaries, values):
    """η_t = values[i] for boundaries[i−1] ≤ t < boundaries[i]: e.g. the annealing example,
    0.1 until 40 % of T steps, 0.01 until 70 %, 0.001 after: boundaries [0.4T, 0.7T].
    """
    boundaries = [float(b) for b in boundaries]
    if len(values) != len(boundaries) + 1:
        raise ValueError(f"Expected {len(boundaries) + 1} values for {len(boundaries)} boundaries, "
                         f"but got {len(values)}")
    if any(b < a for a, b in zip(boundaries, boundaries[1:])):
        raise ValueError(f"boundaries must be non-decreasing, but got {boundaries}")
    which = np.searchsorted(np.asarray(boundaries), _steps(t), side="right")
    return _out(np.asarray(values, dtype=float)[which], t)


# ---------------------------------------------------------------- one entry point
_FUNCTIONS = {
    "StepLR": step_lr, "MultiStepLR": multi_step_lr, "ExponentialLR": exponential_lr,
    "PolynomialLR": polynomial_lr, "LinearLR": linear_lr, "CosineAnnealingLR": cosine_annealing,
    "CosineAnnealingWarmRestarts": cosine_annealing_warm_restarts, "CyclicLR": cyclic_lr,
    "SequentialLR": sequential_lr,
}


_T_FIRST = {  # the functions whose arguments are (t, base_lr, ...)
    "step_lr", "multi_step_lr", "exponential_lr", "polynomial_lr", "linear_lr", "linear_warmup",
    "cosine_annealing", "cosine_annealing_warm_restarts", "cyclic_lr", "sequential_lr",
    "step_decay", "exponential_decay",
}


def _function_for(name_or_class):
    name = name_or_class if isinstance(name_or_class, str) else name_or_class.__name__
    if name in _FUNCTIONS:
        return _FUNCTIONS[name]
    if name in _T_FIRST:
        return globals()[name]
    raise ValueError(f"Unknown schedule {name!r}; expected one of {sorted(_FUNCTIONS)}, "
                     "OneCycleLR, ReduceLROnPlateau or a function name of lrcourse.schedules.functions")


def lr_schedule(name_or_class, steps, base_lr=None, **kwargs):
    """η_t for t = 0 … steps−1 of a schedule given by class, class name or function name,
    with the class's keyword arguments: lr_schedule("StepLR", 100, 0.1, step_size=30).

    OneCycleLR takes max_lr (η_0 plays no role, as in torch) and total_steps or
    epochs·steps_per_epoch. ReduceLROnPlateau takes metrics=[…] of length steps; entry k is
    η after metric k. SequentialLR takes schedulers=[(name, kwargs), …] and milestones.
    """
    _check_int("steps", steps, minimum=0)
    name = name_or_class if isinstance(name_or_class, str) else name_or_class.__name__
    t = np.arange(steps)
    if name == "OneCycleLR":
        total_steps = kwargs.pop("total_steps", None)
        epochs, per_epoch = kwargs.pop("epochs", None), kwargs.pop("steps_per_epoch", None)
        if total_steps is None:
            if epochs is None or per_epoch is None:
                raise ValueError("You must define either total_steps OR (epochs AND steps_per_epoch)")
            _check_int("epochs", epochs)
            _check_int("steps_per_epoch", per_epoch)
            total_steps = epochs * per_epoch
        for key in ("cycle_momentum", "base_momentum", "max_momentum"):
            kwargs.pop(key, None)  # they shape β, not η
        return one_cycle(t, total_steps=total_steps, **kwargs)
    if base_lr is None:
        raise ValueError(f"{name} needs base_lr (the optimizer's learning rate η_0)")
    if name == "ReduceLROnPlateau":
        metrics = list(kwargs.pop("metrics"))
        if len(metrics) != steps:
            raise ValueError(f"Expected {steps} metrics, but got {len(metrics)}")
        return plateau.reduce_lr_on_plateau(metrics, base_lr, **kwargs)
    if name == "CyclicLR":
        for key in ("cycle_momentum", "base_momentum", "max_momentum"):
            kwargs.pop(key, None)
    return _function_for(name)(t, base_lr, **kwargs)


def __getattr__(name):
    """The plateau rules live in lrcourse.schedules.plateau; they are also reachable from here."""
    if name in ("reduce_lr_on_plateau", "keras_reduce_lr_on_plateau"):
        return getattr(plateau, name)
    raise AttributeError(f"module 'lrcourse.schedules.functions' has no attribute {name!r}")
