"""Tables for readers: few columns, `—` where there is no value, integers without decimals,
padded cells, no numpy reprs. ``reader_table(frame)`` returns a pandas Styler for display."""
from __future__ import annotations

import hashlib
import math
import numbers

import numpy as np

__all__ = ["reader_table", "cell", "sci", "mean_sd"]

CSS = [
    {"selector": "th, td", "props": "padding: 0.25em 0.7em; text-align: right;"},
    {"selector": "th.row_heading, th.blank", "props": "text-align: left;"},
    {"selector": "", "props": "border-collapse: collapse; font-size: 0.92em;"},
]


def cell(value, digits: int = 3, missing: str = "—") -> str:
    """One value as a reader should see it: ints as ints, floats to ``digits`` significant
    figures, NaN/None as ``missing``, numpy scalars as plain numbers."""
    if value is None:
        return missing
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, numbers.Integral):
        return str(int(value))
    if isinstance(value, numbers.Real):
        x = float(value)
        if math.isnan(x):
            return missing
        if math.isinf(x):
            return "∞" if x > 0 else "−∞"
        if x == int(x) and abs(x) < 1e6:
            return str(int(x))
        return f"{x:.{digits}g}".replace("-", "−")
    return str(value)


def sci(x, digits: int = 2) -> str:
    """A small or large number for prose: 2.6 × 10⁻³ (:func:`cell` between 0.01 and 1000)."""
    if x == 0 or 1e-2 <= abs(x) < 1e3:
        return cell(x, digits)
    e = int(math.floor(math.log10(abs(x))))
    sup = str(e).translate(str.maketrans("-0123456789", "⁻⁰¹²³⁴⁵⁶⁷⁸⁹"))
    return f"{x / 10 ** e:.{digits - 1}f} × 10{sup}"


def mean_sd(values, digits: int = 3) -> str:
    """Mean ± sample sd (ddof = 1) of ``values`` (over seeds) as one table cell: "0.913 ± 0.004"."""
    x = np.asarray(values, dtype=float)
    return f"{x.mean():.{digits}f} ± {x.std(ddof=1):.{digits}f}"


def reader_table(frame, digits: int = 3, missing: str = "—", formats: dict | None = None):
    """A Styler of ``frame`` with every cell shown by :func:`cell` (or ``formats[column]``, a
    function of the value) and padded cells; the index is hidden unless it is named."""
    formats = formats or {}
    styler = frame.style.format(lambda v: cell(v, digits, missing))
    for column, fn in formats.items():
        styler = styler.format(fn, subset=[column])
    if frame.index.name is None and all(isinstance(i, numbers.Integral) for i in frame.index):
        styler = styler.hide(axis="index")
    uuid = hashlib.sha1(frame.to_csv().encode()).hexdigest()[:8]  # same table, same ids: two builds equal
    return styler.set_table_styles(CSS).set_uuid(uuid)
