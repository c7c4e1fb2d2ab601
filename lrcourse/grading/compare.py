"""Compare an answer with the expected one: plain JSON data only, in the grader's own process.

Both sides arrive as parsed JSON (None, bool, int, float, str, lists, dicts), so nothing a
submission defines can take part: numbers and nested lists of numbers are compared with
``|a − e| ≤ atol + rtol·|e|`` (NaN matches NaN, shapes must agree); strings, booleans and None
exactly; dicts key by key.
"""
from __future__ import annotations

import numpy as np

MAX_DEPTH = 40


def _is_number(x) -> bool:
    return type(x) in (int, float)


def _numeric(x, depth=0) -> bool:
    """A number, or a (nested) non-empty list whose leaves are all numbers."""
    if depth > MAX_DEPTH:
        return False
    if _is_number(x):
        return True
    return type(x) is list and len(x) > 0 and all(_numeric(v, depth + 1) for v in x)


def _as_array(x) -> np.ndarray | None:
    """A rectangular float array of ``x`` (numbers only), or None if it is ragged."""
    try:
        return np.asarray(x, dtype=float)
    except (ValueError, OverflowError):
        return None


def _show(x, limit=80) -> str:
    text = repr(x)
    return text if len(text) <= limit else text[:limit] + "…"


def mismatch(expected, answer, rtol: float, atol: float, depth: int = 0) -> str | None:
    """None if ``answer`` matches ``expected``, else a short reason."""
    if depth > MAX_DEPTH:
        return "nested too deeply"
    e = _as_array(expected) if _numeric(expected) else None
    if e is not None:
        if not _numeric(answer):
            return f"expected a number or array of numbers, got {_show(answer)}"
        a = _as_array(answer)
        if a is None:
            return f"expected an array of shape {e.shape}, got a ragged {_show(answer)}"
        if a.shape != e.shape:
            return f"expected shape {e.shape}, got shape {a.shape}"
        with np.errstate(invalid="ignore", over="ignore"):
            close = np.isclose(a, e, rtol=rtol, atol=atol, equal_nan=True)
        if not close.all():
            k = int(np.flatnonzero(~close.ravel())[0])
            if e.ndim == 0:
                return f"expected {float(e):.6g}, got {float(a):.6g}"
            return (f"{int((~close).sum())} of {e.size} entries differ; e.g. entry "
                    f"{np.unravel_index(k, e.shape)}: expected {e.ravel()[k]:.6g}, got {a.ravel()[k]:.6g}")
        return None
    if expected is None or type(expected) in (bool, str):
        if type(answer) is not type(expected) or answer != expected:
            return f"expected {_show(expected)}, got {_show(answer)}"
        return None
    if type(expected) is list:
        if type(answer) is not list or len(answer) != len(expected):
            return f"expected a list of {len(expected)}, got {_show(answer)}"
        for i, (e, a) in enumerate(zip(expected, answer)):
            why = mismatch(e, a, rtol, atol, depth + 1)
            if why:
                return f"item {i}: {why}"
        return None
    if type(expected) is dict:
        if type(answer) is not dict or set(answer) != set(expected):
            got = sorted(answer) if type(answer) is dict else _show(answer)
            return f"expected a dict with keys {sorted(expected)}, got {got}"
        for k in expected:
            why = mismatch(expected[k], answer[k], rtol, atol, depth + 1)
            if why:
                return f"[{k!r}]: {why}"
        return None
    return f"cannot compare with an expected value of type {type(expected).__name__}"

