"""Grade submissions of an exercise set: expected answers from the master, points per test case.

1. The master's solution cells run once in a child process (:func:`reference`): for each
   hidden test it reports the inputs (the call's arguments, as plain data) and the answer.
2. Each submission runs in its own child process (:func:`grade_submission`) — in the jail where
   available — and gets only those inputs; it returns its answers as plain data.
3. Here, in the grader's process, where no submission code ever runs, each answer is compared
   with the master's (:func:`lrcourse.grading.compare.mismatch`) and earns that test's points.
"""
from __future__ import annotations

import reprlib
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path

from .compare import mismatch
from .exercise import Exercise, code_cells, read_notebook
from .printable import printable
from .runner import Limits, SandboxUnavailable, run_notebook


class MasterError(RuntimeError):
    """The master notebook itself failed: a problem of the exercise, not of a submission."""


@dataclass
class CaseResult:
    id: str
    question: str
    points: float
    score: float
    message: str | None  # why it earned nothing (None when it earned its points)
    # the same for the student (feedback, Gradescope): never states the expected value
    feedback: str | None = None


@dataclass
class Grade:
    """One submission's result: ``total`` of ``possible``, per question and per test case."""

    submission: str
    total: float
    possible: float
    questions: dict        # name -> {"score": x, "possible": y}
    cases: list            # [CaseResult]
    errors: list           # e.g. "timed out in cell 4 (limit 30 s)"
    output: str = ""            # the head of what it printed
    output_bytes: int = 0
    output_truncated: bool = False
    sandbox: str = ""
    seconds: float = 0.0
    enforced: list = field(default_factory=list)  # the jail's limits in force (see jail.enter)

    @property
    def error(self) -> str | None:
        return "; ".join(self.errors) if self.errors else None

    def __post_init__(self):
        """Every string a submission controls, made printable (no control characters, no
        surrogates: see :mod:`.printable`), whatever prints or writes it later."""
        self.submission = printable(self.submission)
        self.errors = [printable(e) for e in self.errors]
        self.output = printable(self.output, keep="\n\t")
        self.sandbox = printable(self.sandbox)
        self.enforced = [printable(e) for e in self.enforced]
        for c in self.cases:
            c.message = None if c.message is None else printable(c.message)
            c.feedback = None if c.feedback is None else printable(c.feedback)

    def to_json(self, instructor: bool = False) -> dict:
        """As JSON data. Each case's ``message`` is the student-facing reason (no hidden
        expected value); with ``instructor`` it is the full one, and ``feedback`` is kept."""
        d = asdict(self)
        d["error"] = self.error
        for c in d["cases"]:
            feedback = c.pop("feedback")
            if instructor:
                c["feedback"] = feedback
            else:
                c["message"] = feedback
        return d


@dataclass
class Reference:
    """The master's inputs and answers per hidden test, keyed by test id."""

    exercise: Exercise
    inputs: dict = field(default_factory=dict)
    expected: dict = field(default_factory=dict)


def reference(ex: Exercise, limits: Limits | None = None) -> Reference:
    """Run the master's solutions in a child process; raise MasterError if any test fails there."""
    cases = [{"id": c.id, "func": c.func, "call": c.call} for c in ex.cases]
    trusted = replace(limits or Limits(), sandbox=None)  # the master: jailed if possible, not required
    run = run_notebook(ex.reference_cells, cases, reference=True, limits=trusted)
    problems = list(run.errors)
    ref = Reference(ex)
    for c in ex.cases:
        got = run.answers.get(c.id, {"error": "no answer"})
        if "value" not in got or "inputs" not in got:
            problems.append(f"{c.id} ({c.source}): {got.get('error', 'no answer')}")
        else:
            ref.inputs[c.id], ref.expected[c.id] = got["inputs"], got["value"]
    if problems:
        raise MasterError(f"the master notebook {ex.master} failed: " + "; ".join(problems[:5]))
    return ref


def _wrong_answer(value, case) -> str:
    """Why an answer earned nothing, told without the expected value (only the answer itself)."""
    short = reprlib.Repr()
    short.maxlist, short.maxdict, short.maxstring, short.maxlevel = 8, 8, 80, 4
    shown = short.repr(value)
    shown = shown if len(shown) <= 160 else shown[:160] + "…"
    return (f"your function returned {shown}, which does not match the expected answer "
            f"(tolerance rtol={case.rtol:g}, atol={case.atol:g})")


def score(ref: Reference, answers: dict) -> tuple[list[CaseResult], dict]:
    """Points per test case and per question for ``answers`` ({id: {"value"|"error": …}})."""
    results, questions = [], {}
    for c in ref.exercise.cases:
        got = answers.get(c.id)
        if got is None:
            why = student = "not answered"
        elif "value" not in got:
            why = student = str(got.get("error", "no value"))[:300]  # from the submission's side
        else:
            why = mismatch(ref.expected[c.id], got["value"], c.rtol, c.atol)
            student = why and _wrong_answer(got["value"], c)
        earned = 0.0 if why else c.points
        results.append(CaseResult(c.id, c.question, c.points, earned, why, student))
        q = questions.setdefault(c.question, {"score": 0.0, "possible": 0.0})
        q["score"] += earned
        q["possible"] += c.points
    return results, questions


def grade_submission(ref: Reference, path: Path, limits: Limits | None = None) -> Grade:
    """Run one submission in its own process and score its answers; never raises for it."""
    ex = ref.exercise
    cases = [{"id": c.id, "func": c.func, "args": ref.inputs[c.id]["args"],
              "kwargs": ref.inputs[c.id]["kwargs"]} for c in ex.cases]
    try:
        cells = code_cells(read_notebook(path, follow_symlinks=False))
    except Exception as e:  # noqa: BLE001 — unreadable, not JSON, nested 10⁵ deep, a bad zip …
        results, questions = score(ref, {})
        return Grade(str(path), 0.0, ex.possible, questions, results,
                     [f"could not read the notebook: {type(e).__name__}: {str(e)[:200]}"])
    try:
        run = run_notebook(cells, cases, limits=limits)
    except SandboxUnavailable:
        raise
    except Exception as e:  # noqa: BLE001 — one submission must never stop the others
        results, questions = score(ref, {})
        return Grade(str(path), 0.0, ex.possible, questions, results,
                     [f"the grader failed on this submission: {type(e).__name__}: {e}"])
    results, questions = score(ref, run.answers)
    return Grade(submission=str(path), total=sum(r.score for r in results), possible=ex.possible,
                 questions=questions, cases=results, errors=run.errors, output=run.output,
                 output_bytes=run.output_bytes, output_truncated=run.output_truncated,
                 sandbox=run.sandbox, seconds=round(run.seconds, 3), enforced=run.enforced)


def grade(ex: Exercise, paths: list[Path], limits: Limits | None = None,
          progress=None) -> list[Grade]:
    """Grade every submission in ``paths`` against ``ex`` (one reference run for all)."""
    ref = reference(ex, limits)
    grades = []
    for path in paths:
        g = grade_submission(ref, Path(path), limits)
        grades.append(g)
        if progress:
            progress(g)
    return grades
