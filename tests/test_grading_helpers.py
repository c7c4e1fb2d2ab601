"""Helpers shared by the grading and exercise tests (no tests here): sets, submissions, the jail."""
import ast
import json
import os
from pathlib import Path

import pytest

from lrcourse.grading import find_exercise, list_exercises, sandbox_status
from lrcourse.grading.exercise import read_notebook, source_of

ROOT = Path(__file__).resolve().parents[1]
EXERCISES = ROOT / "exercises"
SETS = list_exercises(EXERCISES)
ANSWER_TAG = "otter_answer_cell"


def exercise(name: str):
    return find_exercise(name, EXERCISES)


def defined_functions(source: str) -> list[str]:
    try:
        tree = ast.parse(source)
    except SyntaxError:
        return []
    return [n.name for n in tree.body if isinstance(n, ast.FunctionDef)]


def solutions(ex) -> dict:
    """The master's solution cells, by the function each defines."""
    nb = read_notebook(ex.master)
    out, inside = {}, False
    for cell in nb["cells"]:
        src = source_of(cell)
        if cell["cell_type"] == "raw" and src.strip().lower().startswith("# begin solution"):
            inside = True
        elif cell["cell_type"] == "raw" and src.strip().lower().startswith("# end solution"):
            inside = False
        elif inside and cell["cell_type"] == "code":
            for name in defined_functions(src):
                out[name] = src
    return out


def submission(ex, folder: Path, name: str, *, solved=True, replace=None, insert=()) -> Path:
    """A student notebook of ``ex``: answers from the master (or ``replace``), extra cells inserted.

    ``insert`` holds (position in the cell list, source) pairs, applied in order.
    """
    nb = json.loads(ex.student.read_text())
    sols, replace = solutions(ex), replace or {}
    for cell in nb["cells"]:
        if ANSWER_TAG in cell.get("metadata", {}).get("tags", []):
            for func in defined_functions(source_of(cell)):
                if func in replace:
                    cell["source"] = replace[func]
                elif solved:
                    cell["source"] = sols[func]
    for position, source in insert:
        nb["cells"].insert(position, {"cell_type": "code", "execution_count": None, "id": f"x{position}",
                                      "metadata": {}, "outputs": [], "source": source})
    path = Path(folder) / f"{name}.ipynb"
    path.write_text(json.dumps(nb))
    return path


def first_code_position(ex) -> int:
    """Index in the student notebook of the first cell after the set's own set-up code cell."""
    nb = json.loads(ex.student.read_text())
    code = [i for i, c in enumerate(nb["cells"]) if c["cell_type"] == "code"
            and "import numpy" in source_of(c)]
    return code[0] + 1


def require_jail():
    """The isolation tests need the namespace jail: skipped locally without it, never in CI."""
    status = sandbox_status()
    if status != "jail":
        message = f"the grading jail is unavailable here: {status}"
        if os.environ.get("CI"):
            pytest.fail(message)
        pytest.skip(message)


# --- the reference solutions' oracles (tests/test_exercises_oracles*.py) --------------------

@pytest.fixture
def float64_by_default():
    """Oracles compare in float64; the default dtype is restored for the tests after them."""
    import torch

    previous = torch.get_default_dtype()
    torch.set_default_dtype(torch.float64)
    yield
    torch.set_default_dtype(previous)


def master(name):
    """The master's namespace (its solutions run here: it is the instructor's own code), and each
    hidden test as (function name, args, kwargs)."""
    from lrcourse.grading.exercise import CAPTURE

    ex = exercise(name)
    ns = {"__name__": "__main__"}
    for _, source in ex.reference_cells:
        exec(compile(source, str(ex.master), "exec"), ns)
    ns[CAPTURE] = lambda *a, **k: (a, k)
    return ns, [(c.func, *eval(c.call, ns)) for c in ex.cases]


def calls(cases, func):
    """The (args, kwargs) of every hidden test that calls ``func``."""
    found = [(a, k) for f, a, k in cases if f == func]
    assert found, func
    return found
