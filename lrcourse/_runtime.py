"""How lrcourse runs, decided in one place: torch threads, progress bars, and which form a
slider takes (live in a kernel, static frames in the book build).

Nothing here imports from lrcourse; torch and tqdm are imported only when used.
"""
from __future__ import annotations

import contextlib
import os
import sys

__all__ = ["ENV_VAR", "slider_form", "num_threads", "show_progress", "progress_bar"]

ENV_VAR = "LRCOURSE_WIDGETS"


def slider_form() -> str:
    """'static' when executed by the book build (``LRCOURSE_WIDGETS=static``), else 'live'."""
    form = os.environ.get(ENV_VAR, "live").strip().lower()
    if form not in ("live", "static"):
        raise ValueError(f"{ENV_VAR} must be 'live' or 'static', not {form!r}")
    return form


@contextlib.contextmanager
def num_threads(n: int | None):
    """Run the block with ``torch.set_num_threads(n)`` (restored after); None leaves it alone.
    One thread is fastest for models of this size, and keeps float32 reductions in one order
    whatever the machine's load (so two builds give the same numbers)."""
    if n is None:
        yield
        return
    if isinstance(n, bool) or not isinstance(n, int) or n < 1:
        raise ValueError(f"Invalid number of threads: {n!r} (must be a positive integer)")
    import torch

    old = torch.get_num_threads()
    torch.set_num_threads(n)
    try:
        yield
    finally:
        torch.set_num_threads(old)


def show_progress(progress) -> bool:
    """True/False as given; "auto" → only when stderr is a terminal. In a notebook "auto" shows
    nothing (a book build would otherwise embed a dead widget per call): pass True there."""
    if progress is True or progress is False:
        return progress
    if progress != "auto":
        raise ValueError(f"Invalid progress: {progress!r} (True, False or 'auto')")
    stream = sys.stderr
    return bool(stream is not None and hasattr(stream, "isatty") and stream.isatty())


def progress_bar(epochs: int, show: bool, desc: str):
    from tqdm.auto import tqdm

    return tqdm(range(epochs), desc=desc, disable=not show, leave=False)
