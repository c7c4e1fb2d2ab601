"""The learner's side: otter's ``grader.check`` in a student notebook, in a real kernel."""
import json
import subprocess
import sys
import types

import nbformat
import pytest
from nbclient import NotebookClient

from lrcourse.grading.exercise import source_of
from test_grading_helpers import exercise, solutions, submission

WRONG_BEST_STEP = "def best_fixed_step(H):\n    return 0.4\n"


def check_outputs(nb) -> dict:
    """The text each ``grader.check("qN")`` cell displayed, by question."""
    out = {}
    for cell in nb.cells:
        src = source_of(cell)
        if src.startswith("grader.check(\""):
            q = src.split('"')[1]
            out[q] = "\n".join(o.get("data", {}).get("text/plain", "") + o.get("text", "")
                               + "\n".join(o.get("traceback", [])) for o in cell.outputs)
    return out


@pytest.mark.slow
def test_grader_check_passes_a_right_answer_and_explains_a_wrong_one(tmp_path):
    ex = exercise("01-gradient-descent")
    sols = solutions(ex)
    path = submission(ex, tmp_path, ex.name, solved=False,
                      replace={"gd_step": sols["gd_step"], "best_fixed_step": WRONG_BEST_STEP})
    nb = nbformat.read(path, as_version=4)
    NotebookClient(nb, timeout=120, kernel_name="python3", allow_errors=True,
                   resources={"metadata": {"path": str(tmp_path)}}).execute()
    out = check_outputs(nb)
    assert sorted(out) == ["q1", "q2", "q3", "q4"]
    assert "q1 results: All test cases passed!" in out["q1"]
    assert ("your η* is 0.4; for this quadratic the best fixed step is 2/(λmin+λmax) = 0.0952"
            in out["q3"])
    assert "NotImplementedError: write divergence_threshold" in out["q2"]


def test_colab_setup_cell_writes_the_public_tests_for_otter(tmp_path, monkeypatch):
    """On Colab the first cell installs otter and writes ./tests; here with Colab faked."""
    from otter.test_files import OKTestFile

    ex = exercise("01-gradient-descent")
    cells = json.loads(ex.student.read_text())["cells"]
    setup = source_of(cells[0])
    assert setup.startswith("#@title") and cells[0]["metadata"]["cellView"] == "form"
    exec(setup, {})  # not on Colab: does nothing
    assert not (tmp_path / "tests").exists()

    monkeypatch.chdir(tmp_path)
    monkeypatch.setitem(sys.modules, "google.colab", types.ModuleType("google.colab"))
    installs = []
    monkeypatch.setattr(subprocess, "run", lambda cmd, **kw: installs.append(cmd))
    exec(setup, {})
    assert installs and "otter-grader==7.0.0" in installs[0]
    assert sorted(p.name for p in (tmp_path / "tests").iterdir()) == [f"{q}.py" for q in ex.questions]
    assert (tmp_path / f"{ex.name}.ipynb").is_file()

    env = {}
    setup_code = [source_of(c) for c in cells if "import numpy" in source_of(c)][0]
    exec(setup_code, env)
    for src in solutions(ex).values():
        exec(src, env)
    for q in ex.questions:
        test = OKTestFile.from_file(str(tmp_path / "tests" / f"{q}.py"))
        test.run(env)
        assert test.passed_all, test.summary()
    exec(WRONG_BEST_STEP, env)
    test = OKTestFile.from_file(str(tmp_path / "tests" / "q3.py"))
    test.run(env)
    assert not test.passed_all and "your η* is 0.4" in test.summary()
