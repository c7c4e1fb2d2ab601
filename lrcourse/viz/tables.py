"""Tables for readers: few columns, `—` where there is no value, integers without decimals,
padded cells, no numpy reprs. ``reader_table(frame)`` returns a pandas Styler for display."""
from __future__ import annotations

import hashlib
import math
import numbers

__all__ = ["reader_table", "cell"]

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
