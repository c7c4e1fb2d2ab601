"""What a learner sees from grader.check in the generated student notebook of set 01.

A wrong answer shows the failing assertion's message first and alone (no doctest transcript);
an untouched stub says NotImplementedError (as the stub and the intro say); an in-place update
of θ, which question 1 forbids, fails with a message that says so.
"""
from __future__ import annotations

import json
import shutil

import nbclient
import nbformat
import pytest

from conftest import ROOT

pytestmark = pytest.mark.slow
SET = "01-gradient-descent"
WRONG_SIGN = "def gd_step(theta, grad, eta):\n    return theta + eta * grad\n"
IN_PLACE = "def gd_step(theta, grad, eta):\n    theta -= eta * grad\n    return theta\n"


def check_q1_output(tmp_path, answer: str | None) -> str:
    student = ROOT / "exercises" / SET / f"{SET}.ipynb"
    shutil.copy(student, tmp_path / student.name)
    nb = nbformat.read(student, as_version=4)
    end = next(i for i, c in enumerate(nb.cells) if c.cell_type == "code" and 'grader.check("q1")' in c.source)
    cells = nb.cells[:end + 1]
    if answer is not None:
        stub = next(c for c in cells if c.cell_type == "code" and "def gd_step" in c.source)
        stub.source = answer
    nb.cells = cells
    nbclient.NotebookClient(nb, timeout=120, kernel_name="python3", allow_errors=True,
                            resources={"metadata": {"path": str(tmp_path)}}).execute()
    outputs = nb.cells[end].outputs
    return "\n".join(
        o.get("text", "") or o.get("data", {}).get("text/plain", "") for o in outputs
    )


def test_a_wrong_answer_shows_the_assertion_message_alone(tmp_path):
    text = check_q1_output(tmp_path, WRONG_SIGN)
    assert "AssertionError: gd_step(θ=[1, 2], ∇L=[0.5, -1], η=0.1) returned [1.05 1.9 ]" in text
    assert "Trying:" not in text and "Expecting" not in text and "Traceback" not in text, text
    lines = [l for l in text.splitlines() if l.strip()]
    assert len(lines) <= 6, text  # "q1 results:", the case, its message — not 29 lines


def test_an_untouched_stub_says_not_implemented(tmp_path):
    text = check_q1_output(tmp_path, None)
    assert "NotImplementedError: write gd_step" in text and "Trying:" not in text, text
    intro = json.loads((ROOT / "exercises" / SET / f"{SET}.ipynb").read_text())
    prose = "".join("".join(c["source"]) for c in intro["cells"] if c["cell_type"] == "markdown")
    assert "raise NotImplementedError(...)" in prose and "where you see `...`" not in prose


def test_an_in_place_update_is_caught(tmp_path):
    text = check_q1_output(tmp_path, IN_PLACE)
    assert "changed theta in place" in text, text
