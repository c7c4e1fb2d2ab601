"""Every argument check of lrcourse, one contract each, in torch's wording.

A check takes the value and the name the caller knows it by, and either returns the value in
its canonical form or raises ``ValueError("Invalid <name>: <value> (<what it must be>)")``.
Nothing here imports from lrcourse, so every part of the package can use it.
"""
from __future__ import annotations

import math
import numbers

import numpy as np

__all__ = ["lr", "positive_int", "int_at_least", "nonnegative_int", "fraction", "positive_float", "seed",
           "seeds", "sizes", "etas", "float_dtype", "expected_int", "expected_positive", "momentum"]


def _is_int(value) -> bool:
    return isinstance(value, (int, np.integer)) and not isinstance(value, bool)


def lr(value, name: str = "learning rate") -> float:
    """η ≥ 0 and finite, as a float (torch: "Invalid learning rate: -1.0")."""
    if isinstance(value, (str, bytes)):
        raise ValueError(f"Invalid {name}: {value!r}")
    try:
        out = float(value)
    except (TypeError, ValueError):
        raise ValueError(f"Invalid {name}: {value!r}") from None
    if not math.isfinite(out) or out < 0:
        raise ValueError(f"Invalid {name}: {value}")
    return out


def positive_int(value, name: str) -> int:
    """An integer ≥ 1 (booleans refused)."""
    if not _is_int(value) or value < 1:
        raise ValueError(f"Invalid {name}: {value!r} (must be a positive integer)")
    return int(value)


def int_at_least(value, name: str, low: int) -> int:
    """An integer ≥ ``low`` (booleans refused)."""
    if not _is_int(value) or value < low:
        raise ValueError(f"Invalid {name}: {value!r} (must be an integer ≥ {low})")
    return int(value)


def nonnegative_int(value, name: str) -> int:
    """An integer ≥ 0 (booleans refused)."""
    if not _is_int(value) or value < 0:
        raise ValueError(f"Invalid {name}: {value!r} (must be a non-negative integer)")
    return int(value)


def seed(value, name: str = "seed") -> int:
    """A non-negative integer seed."""
    if not _is_int(value) or value < 0:
        raise ValueError(f"Invalid {name}: {value!r} (must be a non-negative integer)")
    return int(value)


def seeds(values, name: str = "seeds") -> tuple[int, ...]:
    """A non-empty sequence of distinct non-negative integer seeds."""
    try:
        out = tuple(values)
    except TypeError:
        raise ValueError(f"Invalid {name}: {values!r} (need a sequence of seeds)") from None
    if not out:
        raise ValueError(f"Invalid {name}: {values!r} (need at least one seed)")
    out = tuple(seed(s, name) for s in out)
    if len(set(out)) != len(out):
        raise ValueError(f"Invalid {name}: {values!r} (seeds must be distinct)")
    return out


def fraction(value, name: str, *, open_low: bool = True, open_high: bool = True) -> float:
    """A real number in (0, 1) (ends included where ``open_low``/``open_high`` is False)."""
    if not isinstance(value, numbers.Real) or isinstance(value, bool) or not math.isfinite(value):
        raise ValueError(f"Invalid {name}: {value!r} (must be a number between 0 and 1)")
    low_ok = value > 0 if open_low else value >= 0
    high_ok = value < 1 if open_high else value <= 1
    if not (low_ok and high_ok):
        lo, hi = "(" if open_low else "[", ")" if open_high else "]"
        raise ValueError(f"Invalid {name}: {value!r} (must be in {lo}0, 1{hi})")
    return float(value)


def positive_float(value, name: str) -> float:
    """A finite real number > 0."""
    if not isinstance(value, numbers.Real) or isinstance(value, bool) or not math.isfinite(value) \
            or value <= 0:
        raise ValueError(f"Invalid {name}: {value!r} (must be a positive number)")
    return float(value)


def sizes(values, name: str = "sizes") -> tuple[int, ...]:
    """Layer widths: ≥ 2 positive integers."""
    try:
        out = tuple(values)
    except TypeError:
        raise ValueError(f"Invalid {name}: {values!r} (need a sequence of layer widths)") from None
    if len(out) < 2 or not all(_is_int(s) and s >= 1 for s in out):
        raise ValueError(f"Invalid {name}: {values!r} (need ≥ 2 positive integer layer widths)")
    return tuple(int(s) for s in out)


def etas(values, name: str = "learning rates") -> np.ndarray:
    """A non-empty 1-D sequence of learning rates, each checked by :func:`lr`, as float64."""
    items = np.asarray(values, dtype=object).ravel() if np.ndim(values) <= 1 else None
    if items is None or items.size == 0:
        raise ValueError(f"Invalid {name}: {values!r} (need a non-empty 1-D sequence)")
    return np.array([lr(v) for v in items], dtype=np.float64)


def float_dtype(value, name: str = "dtype"):
    """A floating torch dtype (torch is imported only when this check runs)."""
    import torch

    if not isinstance(value, torch.dtype) or not value.is_floating_point:
        raise ValueError(f"Invalid {name}: {value!r} (must be a floating torch dtype)")
    return value


# torch.optim.lr_scheduler's wording, for the schedules ("Expected positive integer T_max, but got 0")

def expected_int(value, name: str, minimum: int = 1) -> int:
    """An integer ≥ ``minimum`` (booleans refused), in torch's scheduler wording."""
    if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < minimum:
        kind = "positive" if minimum == 1 else f">= {minimum}"
        raise ValueError(f"Expected {kind} integer {name}, but got {value}")
    return int(value)


def expected_positive(value, name: str) -> float:
    """A real number in (0, ∞), in torch's scheduler wording."""
    if not isinstance(value, numbers.Real) or not (0 < value < math.inf):
        raise ValueError(f"Expected positive finite {name}, but got {value}")
    return float(value)


def momentum(value, name: str = "momentum") -> float:
    """A momentum coefficient β in [0, 1] (torch: "Invalid momentum value: 1.5")."""
    if not isinstance(value, numbers.Real) or not (0.0 <= value <= 1.0):
        raise ValueError(f"Invalid {name} value: {value}")
    return float(value)
