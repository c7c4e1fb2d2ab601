"""Grade several submissions at once: ``lrcourse-grade … --jobs N``.

The master runs once, in this process (:func:`lrcourse.grading.scoring.reference`); then N
worker processes, forked from this one after that, each take the next submission and grade it
with :func:`lrcourse.grading.scoring.grade_submission` — so each submission still runs in its
own jail, under the same limits, exactly as with ``--jobs 1``; only the order in which they
finish changes. The grades come back in the order the submissions were given, so the table,
the CSV and the JSON are the same as with one job (the ``seconds`` field aside).

Workers are processes, not threads, so that stopping the grader stops them cleanly: each one
turns SIGINT, SIGTERM and SIGHUP into ``KeyboardInterrupt`` (the runner then kills its jail and
removes its stage folder) and asks the kernel for SIGTERM if the grader dies (even by
SIGKILL). On Ctrl-C or an error the grader terminates its workers the same way.

A job mostly waits on its jail; with two cores, two jobs roughly double the throughput (see
``benchmarks/grading.py``). More jobs than cores share the cores, and a submission near its
time limit may then run out of time where it would not alone: keep N at most the cores free.
"""
from __future__ import annotations

import argparse
import ctypes
import multiprocessing
import os
import signal
from pathlib import Path

from .scoring import Grade, grade_submission, reference
from .runner import Limits, sandbox_status

PR_SET_PDEATHSIG = 1
_state: dict = {}   # set in the grader before the workers fork: the reference and the limits


def jobs_type(text: str) -> int:
    """argparse type for ``--jobs``: a whole number ≥ 1."""
    try:
        n = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a whole number of jobs, got {text!r}") from None
    if n < 1:
        raise argparse.ArgumentTypeError(f"the number of jobs must be at least 1, got {n}")
    return n


def _on_signal(signum, frame):
    if _state.get("busy"):
        raise KeyboardInterrupt  # unwinds through the runner, which kills the jail and cleans up
    os._exit(128 + signum)


def _init_worker(parent: int) -> None:
    try:  # SIGTERM to this worker when the grader dies, however it dies
        ctypes.CDLL(None, use_errno=True).prctl(PR_SET_PDEATHSIG, int(signal.SIGTERM), 0, 0, 0)
    except (OSError, AttributeError):
        pass
    for s in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
        signal.signal(s, _on_signal)
    if os.getppid() != parent:  # the grader died before the request took effect
        os._exit(1)


def _grade_one(item):
    index, path = item
    _state["busy"] = True
    try:
        return index, grade_submission(_state["ref"], Path(path), _state["limits"])
    except KeyboardInterrupt:
        os._exit(130)  # the runner's clean-up ran while the exception unwound
    finally:
        _state["busy"] = False


def grade_parallel(ex, paths: list[Path], limits: Limits | None = None, jobs: int = 1,
                   progress=None, ref=None) -> list[Grade]:
    """Grade ``paths`` against ``ex`` with up to ``jobs`` submissions at once (one reference run,
    or ``ref`` if given).

    Returns the grades in the order of ``paths``; ``progress(grade)`` is called in this process
    as each one finishes (in the order they finish).
    """
    limits = limits or Limits()
    ref = ref if ref is not None else reference(ex, limits)
    paths = [Path(p) for p in paths]
    jobs = max(1, min(int(jobs), len(paths)))
    if jobs == 1:
        grades = []
        for path in paths:
            grades.append(grade_submission(ref, path, limits))
            if progress:
                progress(grades[-1])
        return grades
    if limits.sandbox is not False:
        sandbox_status()  # probe once here (cached) rather than once in every worker
    _state.update(ref=ref, limits=limits, busy=False)
    results: dict[int, Grade] = {}
    pool = multiprocessing.get_context("fork").Pool(jobs, initializer=_init_worker,
                                                    initargs=(os.getpid(),))
    try:
        for index, g in pool.imap_unordered(_grade_one, list(enumerate(paths)), chunksize=1):
            results[index] = g
            if progress:
                progress(g)
        pool.close()
    except BaseException:
        pool.terminate()  # SIGTERM: each worker's runner kills its jail and removes its folder
        raise
    finally:
        pool.join()
        _state.clear()
    return [results[i] for i in range(len(paths))]
