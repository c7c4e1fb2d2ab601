"""Feedback for students (``lrcourse-grade … --feedback DIR``): the inputs, never the expected value."""
import json
import re
import subprocess
import sys

import pytest

from lrcourse.grading.feedback import call_text, code, file_names, python_literal, render
from lrcourse.grading.scoring import CaseResult, Grade, Reference
from test_grading_helpers import ROOT, exercise, require_jail, submission

CLI = [sys.executable, "-m", "lrcourse.grading.cli"]
WRONG = {
    "divergence_threshold": "def divergence_threshold(H):\n    return 1.0 / float(np.max(np.diag(H)))\n",
    "best_fixed_step": "def best_fixed_step(H):\n    return 1.0\n",
}


def oracle(source: str) -> float:
    """The hidden answer, found without the grader or the master's solution: every hidden test
    of q2/q3 calls its function on ``spd_matrix(eigenvalues, seed)``, whose spectrum is given, and
    the answers are 2/λmax (divergence threshold) and 2/(λmin+λmax) (best fixed step)."""
    eigs = [float(x) for x in re.search(r"spd_matrix\(\[([^\]]*)\]", source).group(1).split(",")]
    if source.startswith("divergence_threshold"):
        return 2 / max(eigs)
    return 2 / (min(eigs) + max(eigs))


def spellings(x: float) -> list[str]:
    return sorted({f"{x:.{d}g}" for d in range(3, 12)} | {repr(x), f"{x:.6f}", f"{x:.4f}"})


def appears(number: str, text: str) -> bool:
    """``number`` as a whole token in ``text`` (not as part of 10.0523 or 0.053)."""
    return re.search(rf"(?<![\d.]){re.escape(number)}(?![\d])", text) is not None


@pytest.mark.slow
def test_feedback_shows_the_inputs_and_never_the_hidden_expected_value(tmp_path):
    require_jail()
    ex = exercise("01-gradient-descent")
    subs = tmp_path / "subs"
    subs.mkdir()
    submission(ex, subs, "alice", replace=WRONG)
    out = tmp_path / "feedback"
    result = subprocess.run(CLI + ["01-gradient-descent", str(subs), "--json", "--instructor", "--feedback", str(out)],
                            capture_output=True, text=True, cwd=ROOT, timeout=600)
    assert result.returncode == 0, result.stderr
    (grade,) = json.loads(result.stdout)
    points = {q: sum(c.points for c in cases) for q, cases in ex.questions.items()}
    total = ex.possible - points["q2"] - points["q3"]
    assert (grade["total"], grade["questions"]["q2"]["score"], grade["questions"]["q3"]["score"]) == (total, 0, 0)
    text = (out / "alice.md").read_text()
    assert f"**Score: {total:g} / {ex.possible:g}**" in text
    assert f"| q2 | 0 / {points['q2']:g} |" in text and f"| q1 | {points['q1']:g} / {points['q1']:g} |" in text
    wrong = [c for c in ex.cases if c.question in ("q2", "q3") and "spd_matrix([" in c.source]
    assert len(wrong) >= 4  # the oracle below covers these
    instructor = {c["id"]: c["message"] for c in grade["cases"]}
    for case in wrong:
        expected = oracle(case.source)
        # the oracle is right: the instructor's report states this very value …
        assert f"expected {expected:.6g}," in instructor[case.id], (case.id, instructor[case.id])
        # … the student's file gives the failing call and the answer it got, but not the value
        assert case.source in text, case.id
        leaked = [s for s in spellings(expected) if appears(s, text)]
        assert not leaked, (case.id, leaked)
    assert "your function returned 1.0, which does not match the expected answer" in text
    assert "expected 0" not in text and "expected answer (tolerance" in text
    assert "called as: `divergence_threshold(np.array([[" in text  # the evaluated input matrix
    assert "hidden test q1" not in text  # nothing about the tests it passed


def _grade(ex, messages: dict, errors=()) -> Grade:
    cases = [CaseResult(c.id, c.question, c.points, 0.0 if c.id in messages else c.points,
                        "expected 123.456, got 7" if c.id in messages else None, messages.get(c.id))
             for c in ex.cases]
    questions = {}
    for r in cases:
        q = questions.setdefault(r.question, {"score": 0.0, "possible": 0.0})
        q["score"] += r.score
        q["possible"] += r.points
    return Grade("subs/zed.ipynb", sum(r.score for r in cases), ex.possible, questions, cases, list(errors))


def test_render_keeps_hostile_text_inside_code_spans():
    ex = exercise("01-gradient-descent")
    hostile = "ValueError: ``` x\n# Forged heading\n<script>alert(1)</script>\x1b[31m\ud800"
    g = _grade(ex, {"q1.1": hostile}, errors=["cell 3 raised " + hostile])
    ref = Reference(ex, inputs={"q1.1": {"args": [{"__ndarray__": [3.0, -1.0], "dtype": "float64"},
                                                  1e-3], "kwargs": {"__dict__": {}}}})
    text = render(g, ref)
    text.encode("utf-8")  # no lone surrogate left
    assert "\n# Forged heading" not in text and "\x1b" not in text
    assert "123.456" not in text  # the instructor's message (with the expected value) is not used
    why = [line for line in text.splitlines() if line.startswith("  - why:")]
    assert why == ["  - why: ````ValueError: ``` x\\n# Forged heading\\n<script>alert(1)</script>"
                   "\\x1b[31m\\ud800````"]  # one span, fenced longer than the backticks inside
    assert "called as: `gd_step(np.array([3.0, -1.0]), 0.001)`" in text


def test_python_literal_and_call_text():
    assert python_literal({"__tuple__": [1, {"__ndarray__": [[1, 2]], "dtype": "int32"}]}) == \
        "(1, np.array([[1, 2]], dtype='int32'))"
    assert python_literal({"__tuple__": [2.5]}) == "(2.5,)"
    assert python_literal([float("nan"), float("-inf"), None, "a"]) == \
        "[float('nan'), float('-inf'), None, 'a']"
    assert call_text("f", {"args": [1], "kwargs": {"__dict__": {"k": {"__dict__": {"a": True}}}}}) == \
        "f(1, k={'a': True})"


def test_code_span_fences():
    assert code("plain") == "`plain`"
    assert code("a `b` c") == "``a `b` c``"
    assert code("`x") == "`` `x ``"


def test_file_names_are_safe_and_distinct():
    g = lambda s: Grade(s, 0, 0, {}, [], [])  # noqa: E731
    names = file_names([g("a/alice.ipynb"), g("b/alice.zip"), g("b/Alice.ipynb"), g("../x y;rm.ipynb"),
                        g("caf\udce9.ipynb"), g(".ipynb")])
    assert names == ["alice.md", "alice-2.md", "Alice-3.md", "x_y_rm.md", "caf_xe9.md", "ipynb.md"]
