"""The grading child: runs one notebook's code cells, then answers test inputs with plain data.

Started by :mod:`lrcourse.grading.runner` as ``python -I child.py CONFIG`` (inside the jail of
:mod:`lrcourse.grading.jail` where the machine allows it). It never sees an expected answer:

1. it reads the code cells from the job pipe and runs them in order in one IPython namespace
   (magics work; ``import otter`` gets a no-op stub, so ``grader.check`` does nothing here),
   reporting the start and end (and error) of every cell on the event pipe;
2. it then reads the test cases — a function name and its inputs as plain data — calls the
   notebook's function on them, and reports each answer as JSON. An answer that is not plain
   data (numbers, strings, lists, dicts, numpy/torch arrays) is refused here, and whatever
   this process sends is only ever parsed as JSON by the grader, so an object with a rigged
   ``__eq__`` never reaches a comparison.

In reference mode (the master notebook, for the grader's expected answers) a case carries the
source of the call instead; the child evaluates its arguments in the notebook's namespace and
reports those inputs along with the answer. Standard library only at import time.
"""
import json
import os
import sys
import types

MAX_DEPTH = 32
MAX_LEAVES = 1_000_000
MAX_STRING = 100_000


class NotPlainData(TypeError):
    pass


def to_plain(x, depth=0, budget=None):
    """``x`` as JSON-ready data: None, bool, int, float, str, lists and str-keyed dicts only."""
    budget = budget if budget is not None else [MAX_LEAVES]
    if depth > MAX_DEPTH:
        raise NotPlainData("the answer is nested too deeply")
    budget[0] -= 1
    if budget[0] < 0:
        raise NotPlainData("the answer is too large")
    t = type(x)
    if x is None or t in (bool, int):
        return x
    if t is str:
        if len(x) > MAX_STRING:
            raise NotPlainData(f"the answer holds a string of {len(x)} characters")
        return x
    if t is float:
        return float(x)
    if t in (list, tuple):
        return [to_plain(v, depth + 1, budget) for v in x]
    if t is dict:
        if not all(type(k) is str for k in x):
            raise NotPlainData("a dict in the answer has keys that are not strings")
        return {k: to_plain(v, depth + 1, budget) for k, v in x.items()}
    np = sys.modules.get("numpy")
    if np is not None and (t is np.ndarray or isinstance(x, np.generic)):
        if t is np.ndarray and x.dtype.kind not in "biuf":
            raise NotPlainData(f"the answer is an array of dtype {x.dtype}, not of numbers")
        return to_plain(x.tolist(), depth, budget)
    torch = sys.modules.get("torch")
    if torch is not None and t in (torch.Tensor, torch.nn.Parameter):
        return to_plain(x.detach().cpu().tolist(), depth, budget)
    raise NotPlainData(f"the answer is a {t.__name__}, not plain data "
                       "(a number, string, list, dict, or numpy/torch array)")


def encode_input(x):
    """A test input as JSON, keeping numpy arrays, tuples and dicts recognisable."""
    t = type(x)
    if x is None or t in (bool, int, float, str):
        return x
    if t is list:
        return [encode_input(v) for v in x]
    if t is tuple:
        return {"__tuple__": [encode_input(v) for v in x]}
    if t is dict:
        return {"__dict__": {str(k): encode_input(v) for k, v in x.items()}}
    np = sys.modules.get("numpy")
    if np is not None and t is np.ndarray:
        return {"__ndarray__": x.tolist(), "dtype": str(x.dtype)}
    if np is not None and isinstance(x, np.generic):
        return x.item()
    raise TypeError(f"a test input of type {t.__name__} cannot be passed as plain data")


def decode_input(x):
    if type(x) is list:
        return [decode_input(v) for v in x]
    if type(x) is dict:
        if "__ndarray__" in x:
            import numpy as np
            return np.array(x["__ndarray__"], dtype=x["dtype"])
        if "__tuple__" in x:
            return tuple(decode_input(v) for v in x["__tuple__"])
        return {k: decode_input(v) for k, v in x["__dict__"].items()}
    return x


def describe(exc: BaseException) -> str:
    try:
        text = str(exc)
    except BaseException:
        text = "<unprintable>"
    name = type(exc).__name__
    return f"{name}: {text[:300]}" if text else name


class Reporter:
    """Writes one JSON line per event to the grader's pipe."""

    def __init__(self, fd: int):
        self.fd = fd
        self.dumps, self.write = json.dumps, os.write  # kept before any submission code runs

    def __call__(self, **event) -> None:
        try:
            data = (self.dumps(event) + "\n").encode()
        except (TypeError, ValueError) as e:
            data = (self.dumps({"event": event.get("event"), "id": event.get("id"),
                                "error": describe(e)}) + "\n").encode()
        view = memoryview(data)
        try:
            while view:
                view = view[self.write(self.fd, view):]
        except OSError:
            pass


def otter_stub() -> types.ModuleType:
    """``import otter`` while grading: ``grader.check``, ``export`` … do nothing (tests run outside)."""
    module = types.ModuleType("otter")

    class Notebook:
        def __init__(self, *args, **kwargs):
            pass

        def __getattr__(self, name):
            return lambda *args, **kwargs: None

    module.Notebook = Notebook
    return module


def make_shell():
    from IPython.core.interactiveshell import InteractiveShell
    from traitlets.config import Config

    config = Config()
    config.HistoryManager.enabled = False
    config.InteractiveShell.colors = "NoColor"
    shell = InteractiveShell.instance(config=config)
    shell.user_ns["__name__"] = "__main__"
    return shell


def run_cells(shell, cells, report) -> None:
    for index, source in cells:
        report(event="cell", cell=index)
        error = None
        try:
            result = shell.run_cell(source, store_history=False)
            failure = result.error_before_exec or result.error_in_exec
            error = describe(failure) if failure is not None else None
        except BaseException as e:  # noqa: BLE001 — anything a cell throws is its own error
            error = describe(e)
        _flush()
        report(event="cell_done", cell=index, error=error)


def answer_cases(shell, cases, report, reference: bool) -> None:
    ns = shell.user_ns
    for case in cases:
        report(event="case", id=case["id"])
        message = {"event": "answer", "id": case["id"]}
        try:
            if reference:
                ns["__lrcourse_capture__"] = lambda *a, **k: (a, k)
                args, kwargs = eval(case["call"], ns)  # the instructor's own master notebook
                message["inputs"] = {"args": encode_input(list(args)), "kwargs": encode_input(kwargs)}
            else:
                args = decode_input(case["args"])
                kwargs = decode_input(case["kwargs"])
            func = ns.get(case["func"])
            if func is None:
                raise NameError(f"name '{case['func']}' is not defined")
            message["value"] = to_plain(func(*args, **kwargs))
        except BaseException as e:  # noqa: BLE001
            message["error"] = describe(e)
        report(**message)


def main() -> None:
    config = json.loads(sys.argv[1])
    report = Reporter(config["event_fd"])
    job = os.fdopen(config["job_fd"], "rb")
    os.set_inheritable(config["event_fd"], False)
    os.set_inheritable(config["job_fd"], False)
    import importlib.util
    spec = importlib.util.spec_from_file_location(
        "lrcourse_jail", os.path.join(os.path.dirname(os.path.abspath(__file__)), "jail.py"))
    jail = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(jail)
    common = {"processes": config["processes"], "cgroups": [tuple(c) for c in config["cgroups"]],
              "grader_pid": config["grader_pid"]}
    if config.get("jail"):
        j = config["jail"]
        notes, enforced = jail.enter(j["allow"], config["tmp_mb"], config["mem_bytes"],
                                     [config["event_fd"], config["job_fd"]], **common)
    else:
        notes, enforced = jail.enter_unjailed(config["mem_bytes"], config["tmp_mb"], config["work"],
                                              **common)
    for d in ("IPYTHONDIR", "MPLCONFIGDIR", "JUPYTER_CONFIG_DIR", "JUPYTER_DATA_DIR",
              "JUPYTER_RUNTIME_DIR", "XDG_CACHE_HOME", "XDG_CONFIG_HOME"):
        if os.environ.get(d):
            os.makedirs(os.environ[d], exist_ok=True)
    report(event="ready", notes=notes, enforced=enforced)
    sys.modules["otter"] = otter_stub()
    cells = json.loads(job.readline())["cells"]
    shell = make_shell()
    run_cells(shell, cells, report)
    report(event="cells_done")
    cases = json.loads(job.readline())["cases"]
    answer_cases(shell, cases, report, reference=config.get("reference", False))
    _flush()
    report(event="done")
    os._exit(0)


def _flush() -> None:
    for stream in (sys.stdout, sys.stderr, sys.__stdout__, sys.__stderr__):
        try:
            stream.flush()
        except BaseException:  # noqa: BLE001 — a submission may have replaced the streams
            pass


if __name__ == "__main__":
    main()
