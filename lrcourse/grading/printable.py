"""Make a string that came from a submission safe to print, write to CSV or put in JSON.

A submission controls its error messages, its printed output and (through the file name or a
zip entry) its name. Left alone, a newline forges a row of the score table, an ESC sequence
drives the instructor's terminal, a lone surrogate (``'\\ud800'``) makes ``print`` or a UTF-8
file write raise, and a name with non-UTF-8 bytes (``os.fsdecode`` turns them into surrogates)
does the same. :func:`printable` replaces each such character by a visible escape:

* control characters (C0, DEL, C1), including newline, tab and ESC: ``\\n``, ``\\t``, ``\\x1b``;
* surrogates: ``\\xNN`` for the bytes ``os.fsdecode`` escaped (U+DC80–U+DCFF), else ``\\udNNN``;
* invisible reordering and line/paragraph separators (U+2028/9, the bidi overrides and
  isolates, the BOM), which can make a table show something other than what it holds.

Everything else, letters of any script included, is kept. The result is always encodable as
UTF-8 and holds no line break (unless asked to keep some). Standard library only.
"""
from __future__ import annotations

import unicodedata

_NAMED = {"\n": "\\n", "\r": "\\r", "\t": "\\t"}
_INVISIBLE = set("\u2028\u2029\u200e\u200f\u061c\ufeff") | {chr(c) for c in range(0x202A, 0x202F)} \
    | {chr(c) for c in range(0x2066, 0x206A)}


def _escape(ch: str) -> str:
    code = ord(ch)
    if ch in _NAMED:
        return _NAMED[ch]
    if 0xDC80 <= code <= 0xDCFF:  # a byte that os.fsdecode / surrogateescape could not decode
        return f"\\x{code - 0xDC00:02x}"
    if code <= 0xFF:
        return f"\\x{code:02x}"
    return f"\\u{code:04x}"


def _unsafe(ch: str) -> bool:
    return ch in _INVISIBLE or unicodedata.category(ch) in ("Cc", "Cs")


def printable(text, limit: int | None = None, keep: str = "") -> str:
    """``text`` (any object: ``str()`` of it) with control characters, surrogates and invisible
    reordering characters escaped; cut to ``limit`` characters (before escaping) with ``…``.
    Characters in ``keep`` (e.g. ``"\\n\\t"`` for a notebook's printed output) stay as they are."""
    if text is None:
        return ""
    if isinstance(text, bytes):
        text = text.decode("utf-8", errors="surrogateescape")
    elif not isinstance(text, str):
        try:
            text = str(text)
        except Exception:  # noqa: BLE001 — never let the report fail on a hostile object
            text = "<unprintable>"
    cut = limit is not None and len(text) > limit
    if cut:
        text = text[:limit]
    if text.isprintable() and text.isascii():
        out = text
    else:
        out = "".join(_escape(ch) if _unsafe(ch) and ch not in keep else ch for ch in text)
    return out + "…" if cut else out


def printable_data(value):
    """A copy of JSON-ready ``value`` (dicts, lists, strings, numbers) with every string, keys
    included, made printable."""
    if isinstance(value, str):
        return printable(value)
    if isinstance(value, dict):
        return {printable(k): printable_data(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [printable_data(v) for v in value]
    return value
