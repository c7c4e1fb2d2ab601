"""Feedback for students: one Markdown file per submission (``lrcourse-grade … --feedback DIR``).

The instructor's report (the table, ``--csv``, ``--json``) says why each hidden test failed
in full, expected value included ("expected 0.0952, got 0.4"). Handed back, that would give
the hidden tests away. The student's file holds only what the student may see:

* the score, and the score of every question;
* for every hidden test that lost points: the call (the function and its inputs, as the master
  wrote it and as it was evaluated) and why it failed *from the submission's side* — the
  error it raised, a time-out, or "your function returned …, which does not match the
  expected answer" (:attr:`lrcourse.grading.scoring.CaseResult.feedback`): never the
  expected value;
* what went wrong while running the notebook (a cell that raised or hung).

Every string that came from the submission goes through
:func:`lrcourse.grading.printable.printable` and into a Markdown code span, so it can neither
break the file's layout nor smuggle markup into whatever renders it (an LMS, Gradescope).
"""
from __future__ import annotations

import math
import re
from pathlib import Path

from .printable import printable
from .scoring import Grade, Reference

MAX_INPUT = 600     # characters of a rendered call
MAX_MESSAGE = 400   # characters of a reason


def _fmt(x: float) -> str:
    return f"{x:g}"


def code(text: str) -> str:
    """``text`` (already printable) as a Markdown code span that no backtick in it can close."""
    run = max((len(m) for m in re.findall(r"`+", text)), default=0)
    fence = "`" * (run + 1)
    pad = " " if text.startswith("`") or text.endswith("`") or not text.strip() else ""
    return f"{fence}{pad}{text}{pad}{fence}"


def python_literal(x) -> str:
    """A test input as the grader passes it (plain JSON, numpy arrays tagged) in Python syntax."""
    if isinstance(x, dict):
        if "__ndarray__" in x:
            dtype = x.get("dtype", "float64")
            tail = "" if dtype in ("float64", "int64", "bool") else f", dtype={dtype!r}"
            return f"np.array({python_literal(x['__ndarray__'])}{tail})"
        if "__tuple__" in x:
            items = [python_literal(v) for v in x["__tuple__"]]
            return "(" + ", ".join(items) + ("," if len(items) == 1 else "") + ")"
        if "__dict__" in x:
            x = x["__dict__"]
        return "{" + ", ".join(f"{k!r}: {python_literal(v)}" for k, v in x.items()) + "}"
    if isinstance(x, list):
        return "[" + ", ".join(python_literal(v) for v in x) + "]"
    if isinstance(x, float) and not math.isfinite(x):
        return f"float({str(x)!r})"
    return repr(x)


def call_text(func: str, inputs: dict) -> str:
    """``func(arg, …, key=value)`` for a hidden test's evaluated inputs."""
    args = [python_literal(a) for a in inputs.get("args", [])]
    kwargs = inputs.get("kwargs", {})
    kwargs = kwargs.get("__dict__", kwargs) if isinstance(kwargs, dict) else {}
    args += [f"{k}={python_literal(v)}" for k, v in kwargs.items()]
    return f"{func}({', '.join(args)})"


def render(grade: Grade, ref: Reference) -> str:
    """The student's feedback for ``grade`` as Markdown."""
    ex = ref.exercise
    cases = {c.id: c for c in ex.cases}
    name = printable(Path(grade.submission).name, limit=200)
    lines = [f"# Feedback on {code(name)} ({ex.name})", "",
             f"**Score: {_fmt(grade.total)} / {_fmt(grade.possible)}**", "",
             "| question | score |", "| --- | --- |"]
    for q, s in grade.questions.items():
        lines.append(f"| {printable(q)} | {_fmt(s['score'])} / {_fmt(s['possible'])} |")
    if grade.errors:
        lines += ["", "## Running your notebook", ""]
        lines += [f"- {code(printable(e, limit=MAX_MESSAGE))}" for e in grade.errors]
    failed = [r for r in grade.cases if r.score < r.points]
    if not failed:
        lines += ["", "Every hidden test passed."]
    for q in grade.questions:
        lost = [r for r in failed if r.question == q]
        if not lost:
            continue
        s = grade.questions[q]
        lines += ["", f"## {printable(q)}: {_fmt(s['score'])} / {_fmt(s['possible'])}", ""]
        for r in lost:
            case = cases.get(r.id)
            lines.append(f"- hidden test {printable(r.id)} ({_fmt(r.points)} "
                         f"point{'s' if r.points != 1 else ''}) lost:")
            if case is not None:
                lines.append(f"  - the test: {code(printable(case.source, limit=MAX_INPUT))}")
                if r.id in ref.inputs:
                    evaluated = call_text(case.func, ref.inputs[r.id])
                    if evaluated.replace(" ", "") != case.source.replace(" ", ""):
                        lines.append(f"  - called as: {code(printable(evaluated, limit=MAX_INPUT))}")
            reason = r.feedback if r.feedback is not None else "did not earn its points"
            lines.append(f"  - why: {code(printable(reason, limit=MAX_MESSAGE))}")
    return "\n".join(lines) + "\n"


def file_names(grades: list[Grade]) -> list[str]:
    """A distinct, safe ``NAME.md`` per submission (its file name, made safe; -2, -3 on clashes)."""
    names, seen = [], set()
    for g in grades:
        stem = Path(printable(Path(g.submission).name)).stem or "submission"
        stem = re.sub(r"[^\w.-]+", "_", stem).strip("._") or "submission"
        name, n = f"{stem}.md", 1
        while name.lower() in seen:
            n += 1
            name = f"{stem}-{n}.md"
        seen.add(name.lower())
        names.append(name)
    return names


def check_folder(folder: str | Path) -> Path:
    """Create the feedback folder (before grading starts); raise ValueError if it cannot be."""
    folder = Path(folder)
    if folder.exists() and not folder.is_dir():
        raise ValueError(f"--feedback {folder}: exists and is not a folder")
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as e:
        raise ValueError(f"--feedback {folder}: cannot create it ({e.strerror})") from None
    return folder


def write(folder: str | Path, grades: list[Grade], ref: Reference) -> list[Path]:
    """Write one feedback file per grade into ``folder``; return their paths (in order)."""
    folder = check_folder(folder)
    paths = []
    for g, name in zip(grades, file_names(grades)):
        path = folder / name
        path.write_text(render(g, ref), encoding="utf-8")
        paths.append(path)
    return paths
