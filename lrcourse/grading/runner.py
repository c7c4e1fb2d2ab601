"""Run one notebook's cells in a child process under time limits, and collect its answers.

The trusted side of the grader. For each attempt it starts :mod:`lrcourse.grading.child` in its
own session — inside the jail (:mod:`lrcourse.grading.jail`) where the machine
allows it — feeds it the code cells, then the test inputs, and reads back events: cell started,
cell ended (with its error), answer. It enforces a per-cell, a per-answer and a total wall-clock
limit by SIGKILL on the child's whole process group (a loop that ignores SIGINT/SIGTERM still
ends; in the jail, killing pid 1 takes every process in the namespace with it). Output is
drained and capped (the head is kept, the rest only counted), events are size-capped and only
ever parsed as JSON.

If the child dies or times out in a cell, the notebook is run again without that cell (and
without a test input that killed it), within the total limit, so a submission is graded on
what it did answer.
"""
from __future__ import annotations

import functools
import json
import os
import selectors
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

from . import jail as _jail

CHILD = Path(__file__).with_name("child.py")
JAIL_HOME = "/tmp/home"
MAX_EVENTS = 100_000  # messages per attempt: a few per cell and per test are expected


class SandboxUnavailable(RuntimeError):
    """The jail is required but this machine cannot provide it (no user namespaces)."""


@dataclass
class Limits:
    """Wall-clock limits (seconds) and caps for one submission."""

    cell: float = 30.0        # one code cell
    case: float = 10.0        # one call of the submission's function on one test input
    total: float = 120.0      # everything, reruns included
    startup: float = 30.0     # interpreter and jail start-up
    output_kept: int = 8192   # bytes of printed output kept for the report
    events: int = 32 << 20    # bytes of answers a child may send
    memory: int = 4 << 30     # address-space limit of each process, and (cgroup) of all together
    processes: int = 256      # processes and threads of the submission (RLIMIT_NPROC, pids.max)
    tmp_mb: int = 256         # the child's /tmp (work folder and HOME)
    sandbox: bool | None = True  # True: require the jail; None: use it if available; False: off


@dataclass
class Attempt:
    answers: dict = field(default_factory=dict)
    cell_errors: dict = field(default_factory=dict)
    notes: list = field(default_factory=list)
    failure: str | None = None
    blame: tuple | None = None  # ("cell", index) or ("case", id) to leave out next time
    out_of_time: bool = False
    output: bytearray = field(default_factory=bytearray)
    output_bytes: int = 0
    enforced: list = field(default_factory=list)


@dataclass
class NotebookRun:
    """What a notebook answered, and what went wrong on the way."""

    answers: dict
    errors: list
    skipped_cells: list
    output: str
    output_bytes: int
    output_truncated: bool
    sandbox: str
    seconds: float
    enforced: list = field(default_factory=list)  # the limits in force, as the child found them


def _jail_env(home: str, tmp: str) -> dict:
    venv_bin = str(Path(sys.executable).parent)
    return {
        "PATH": f"{venv_bin}:/usr/local/bin:/usr/bin:/bin", "HOME": home, "TMPDIR": tmp,
        "IPYTHONDIR": f"{home}/.ipython", "MPLCONFIGDIR": f"{home}/.config/matplotlib",
        "JUPYTER_CONFIG_DIR": f"{home}/.jupyter", "JUPYTER_DATA_DIR": f"{home}/.local/share/jupyter",
        "JUPYTER_RUNTIME_DIR": f"{home}/.local/share/jupyter/runtime",
        "XDG_CACHE_HOME": f"{home}/.cache", "XDG_CONFIG_HOME": f"{home}/.config",
        "LANG": "C.UTF-8", "MPLBACKEND": "Agg", "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1",
        "OPENBLAS_NUM_THREADS": "1",
    }


def _allowed_paths() -> list[str]:
    """What the child's Python needs to see: the OS's /usr and the interpreter's prefixes."""
    paths = {"/usr", sys.prefix, sys.exec_prefix, sys.base_prefix, sys.base_exec_prefix,
             str(Path(sys.executable).parent), str(Path(os.path.realpath(sys.executable)).parent)}
    return sorted(paths)


@functools.lru_cache(maxsize=None)
def sandbox_status() -> str:
    """'jail' if the namespace jail works on this machine, else 'none: <why>'."""
    if not os.path.exists("/proc/self/ns/user"):
        return "none: this kernel has no user namespaces"
    attempt = _attempt([], [], False, Limits(total=30), time.monotonic() + 30, jail=True)
    if attempt.failure:
        why = (attempt.failure + " " + attempt.output.decode(errors="replace")[-300:]).strip()
        return f"none: the namespace jail did not start ({why})"
    return "jail"


def _describe_exit(code: int | None, jailed: bool) -> str:
    if code is None:
        return "did not end"
    sig = -code if code < 0 else (code - 128 if jailed and code > 128 else 0)
    if sig:
        try:
            return f"was killed by {signal.Signals(sig).name}"
        except ValueError:
            return f"was killed by signal {sig}"
    return f"exited with status {code} (os._exit, or a kill)"


def _write_job(fd: int, first: bytes, second: dict, go: threading.Event) -> None:
    """Send the cells, then (once the child has run them) the test inputs, then close."""
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(first)
            f.flush()
            go.wait()
            if second.get("data") is not None:
                f.write(second["data"])
    except OSError:
        pass


_cgroup_count = [0]


def _attempt(cells, cases, reference, limits: Limits, deadline: float, jail: bool) -> Attempt:
    att = Attempt()
    _cgroup_count[0] += 1
    name = f"lrcourse-grade-{os.getpid()}-{threading.get_ident() % 10**6}-{_cgroup_count[0]}"
    cgroups = _jail.make_cgroups(name, limits.processes, limits.memory)
    groups = [d for d, _ in cgroups]
    job_r, job_w = os.pipe()
    ev_r, ev_w = os.pipe()
    out_r, out_w = os.pipe()
    config = {"event_fd": ev_w, "job_fd": job_r, "reference": reference, "mem_bytes": limits.memory,
              "tmp_mb": limits.tmp_mb, "processes": limits.processes, "grader_pid": os.getpid(),
              "cgroups": cgroups}
    stage = None
    if jail:  # no folder on the host: the root is built inside the jail's own mount namespace
        config["jail"] = {"allow": _allowed_paths()}
        env = _jail_env(JAIL_HOME, "/tmp")
    else:
        stage = tempfile.mkdtemp(prefix="lrcourse-grade-")
        for sub in ("work", "home", "tmp"):
            os.makedirs(os.path.join(stage, sub))
        config["work"] = os.path.join(stage, "work")
        env = _jail_env(os.path.join(stage, "home"), os.path.join(stage, "tmp"))
    cmd = [sys.executable, "-I", str(CHILD), json.dumps(config)]
    go, second = threading.Event(), {}
    try:
        proc = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=out_w, stderr=out_w,
                                pass_fds=(job_r, ev_w), start_new_session=True, env=env,
                                cwd=stage or "/")
    except OSError as e:
        for fd in (job_r, job_w, ev_r, ev_w, out_r, out_w):
            os.close(fd)
        if stage:
            shutil.rmtree(stage, ignore_errors=True)
        _jail.remove_cgroups(groups)
        att.failure = f"could not start the grading process: {e}"
        return att
    for fd in (job_r, ev_w, out_w):
        os.close(fd)
    writer = threading.Thread(target=_write_job, daemon=True, args=(
        job_w, (json.dumps({"cells": cells}) + "\n").encode(), second, go))
    writer.start()
    try:
        _watch(proc, ev_r, out_r, cells, cases, limits, deadline, jail, att, go, second)
    finally:
        second.setdefault("data", None)
        go.set()
        _kill(proc)
        for fd in (ev_r, out_r):
            os.close(fd)
        writer.join(timeout=5)
        if stage:
            shutil.rmtree(stage, ignore_errors=True)
        _jail.remove_cgroups(groups)
    return att


def _kill(proc) -> None:
    try:
        os.killpg(proc.pid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        pass
    try:
        proc.wait(timeout=10)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


def _watch(proc, ev_r, out_r, cells, cases, limits, deadline, jail, att, go, second) -> None:
    """Read events and output until the child is done, dies, or runs out of time."""
    known = {"cells": {c[0] for c in cells}, "cases": {c["id"] for c in cases}}
    sel = selectors.DefaultSelector()
    sel.register(ev_r, selectors.EVENT_READ, "events")
    sel.register(out_r, selectors.EVENT_READ, "output")
    buf, received, events = bytearray(), 0, 0
    state = {"phase": "startup", "cell": None, "case": None, "last_cell": None}
    phase_end = time.monotonic() + limits.startup
    while sel.get_map():
        now = time.monotonic()
        if now >= min(phase_end, deadline):
            if state["phase"] == "done":
                return
            att.out_of_time = now >= deadline
            _timed_out(state, limits, att)
            return
        for key, _ in sel.select(timeout=min(phase_end, deadline) - now):
            chunk = os.read(key.fd, 1 << 16)
            if not chunk:
                sel.unregister(key.fd)
                continue
            if key.data == "output":
                att.output_bytes += len(chunk)
                room = limits.output_kept - len(att.output)
                if room > 0:
                    att.output += chunk[:room]
                continue
            received += len(chunk)
            buf += chunk
            if received > limits.events:
                where, att.blame = _where(state)
                att.failure = f"sent more than {limits.events >> 20} MB of answers {where}"
                return
            if b"\n" not in chunk:
                continue
            *lines, rest = bytes(buf).split(b"\n")
            buf = bytearray(rest)
            events += len(lines)
            if events > MAX_EVENTS:
                where, att.blame = _where(state)
                att.failure = f"sent more than {MAX_EVENTS} messages {where}"
                return
            for line in lines:
                if line.strip() and _event(line, state, known, att):
                    phase_end = time.monotonic() + (
                        limits.cell if state["phase"] == "cells" else limits.case)
                    if state["phase"] == "done":
                        phase_end = min(phase_end, time.monotonic() + 2.0)  # drain the last output
                    if state["phase"] == "answers" and not go.is_set():
                        second["data"] = (json.dumps({"cases": cases}) + "\n").encode()
                        go.set()
    try:
        proc.wait(timeout=max(0.1, min(5.0, deadline - time.monotonic())))
    except subprocess.TimeoutExpired:
        pass
    if state["phase"] != "done":
        how = _describe_exit(proc.poll(), jail)
        _ended(state, how, att)


def _event(line: bytes, state: dict, known: dict, att: Attempt) -> bool:
    """Apply one event; True if it moves the clock (a new phase deadline starts)."""
    try:
        ev = json.loads(line)
    except (ValueError, RecursionError):
        return False
    if not isinstance(ev, dict):
        return False
    kind = ev.get("event")
    if kind == "ready" and state["phase"] == "startup":  # only the jail's own, before any cell
        att.notes = [str(n) for n in ev.get("notes", [])][:10] if isinstance(ev.get("notes"), list) else []
        att.enforced = [str(n) for n in ev.get("enforced", [])][:20] if isinstance(ev.get("enforced"), list) else []
        state["phase"] = "cells"
    elif kind == "cell" and ev.get("cell") in known["cells"]:
        state["cell"] = ev["cell"]
    elif kind == "cell_done" and ev.get("cell") in known["cells"]:
        if ev.get("error"):
            att.cell_errors.setdefault(ev["cell"], str(ev["error"])[:300])
        state["cell"], state["last_cell"] = None, ev["cell"]
    elif kind == "cells_done":
        state["phase"], state["cell"] = "answers", None
    elif kind == "case" and ev.get("id") in known["cases"]:
        state["case"] = ev["id"]
    elif kind == "answer" and ev.get("id") in known["cases"]:
        att.answers.setdefault(ev["id"], {k: ev[k] for k in ("value", "error", "inputs") if k in ev})
        state["case"] = None
    elif kind == "done":
        state["phase"] = "done"
    else:
        return False
    return True


def _where(state: dict) -> tuple[str, tuple | None]:
    if state["cell"] is not None:
        return f"in cell {state['cell']}", ("cell", state["cell"])
    if state["case"] is not None:
        return f"while answering test {state['case']}", ("case", state["case"])
    if state["phase"] == "cells" and state["last_cell"] is not None:
        return f"after cell {state['last_cell']}", ("cell", state["last_cell"])
    if state["phase"] == "startup":
        return "while starting", None
    return "after its cells ran", None


def _timed_out(state: dict, limits: Limits, att: Attempt) -> None:
    where, att.blame = _where(state)
    limit = limits.cell if state["cell"] is not None else limits.case
    if att.out_of_time:
        att.failure = f"the total time limit ({limits.total:g} s) ran out {where}"
    else:
        att.failure = f"timed out {where} (limit {limit:g} s)"


def _ended(state: dict, how: str, att: Attempt) -> None:
    where, att.blame = _where(state)
    att.failure = f"the grading process {how} {where}"


def run_notebook(cells: list, cases: list, *, reference: bool = False,
                 limits: Limits | None = None) -> NotebookRun:
    """Run ``cells`` ([(index, source)]) then answer ``cases``; rerun without a cell that kills it."""
    limits = limits or Limits()
    start = time.monotonic()
    deadline = start + limits.total
    status = "none: disabled" if limits.sandbox is False else sandbox_status()
    if limits.sandbox and status != "jail":
        raise SandboxUnavailable(f"the namespace jail is unavailable ({status}); refusing to run "
                                 "an untrusted notebook without it (Limits(sandbox=False) to force)")
    jail = status == "jail"
    answers, errors, skipped, skipped_cases = {}, [], [], set()
    output, output_bytes, cell_errors, notes, enforced = bytearray(), 0, {}, [], []
    for _ in range(len(cells) + len(cases) + 1):
        att = _attempt([c for c in cells if c[0] not in skipped],
                       [c for c in cases if c["id"] not in skipped_cases],
                       reference, limits, deadline, jail)
        answers.update(att.answers)
        for i, e in att.cell_errors.items():
            cell_errors.setdefault(i, e)
        notes += [n for n in att.notes if n not in notes]
        enforced = att.enforced or enforced
        if not output:
            output = att.output
        output_bytes += att.output_bytes
        if att.failure is None:
            break
        errors.append(att.failure)
        if att.blame is None or att.out_of_time or time.monotonic() >= deadline:
            break
        kind, what = att.blame
        if kind == "cell":
            skipped.append(what)
        else:
            skipped_cases.add(what)
            answers[what] = {"error": att.failure}
    errors += [f"cell {i} raised {e}" for i, e in sorted(cell_errors.items())]
    sandbox = status if not notes else f"{status} ({'; '.join(notes)})"
    return NotebookRun(answers=answers, errors=errors, skipped_cells=skipped,
               output=bytes(output).decode("utf-8", errors="replace"), output_bytes=output_bytes,
               output_truncated=output_bytes > len(output), sandbox=sandbox,
               seconds=time.monotonic() - start, enforced=enforced)
