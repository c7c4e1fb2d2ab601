"""``lrcourse-grade``: grade a folder of submitted notebooks, or generate the student versions.

    lrcourse-grade EXERCISE SUBMISSION... [--csv FILE] [--json]
    lrcourse-grade --generate [EXERCISE...] [--check]
    lrcourse-grade --list

EXERCISE is a set's name (``01-gradient-descent``, looked up in ./exercises) or its folder.
A SUBMISSION is a notebook, a ``.zip`` holding one (otter's export), or a folder of them.
Prints a table (or, with ``--json``, a JSON list with one object per submission) and writes
a CSV with ``--csv``. A submission that hangs, crashes or cheats gets its error noted and
the points it earned; it never stops the grading of the others.
"""
from __future__ import annotations

import argparse
import csv
import io
import json
import sys
from pathlib import Path

from .exercise import find_exercise, list_exercises
from .scoring import Grade, MasterError, grade, reference
from .parallel import grade_parallel
from .runner import Limits, sandbox_status
from . import classroom  # --jobs, --feedback, --grades, --gradescope (issue 17)


def submissions(paths: list[str]) -> list[Path]:
    """Every notebook named, or found (recursively) in a folder named, in order."""
    found = []
    for p in map(Path, paths):
        if p.is_dir():
            found += sorted(f for f in p.rglob("*") if f.suffix in (".ipynb", ".zip")
                            and ".ipynb_checkpoints" not in f.parts and f.is_file())
        else:
            found.append(p)
    return found


def _fmt(x: float) -> str:
    return f"{x:g}"


def table(grades: list[Grade], questions: list[str]) -> str:
    rows = [["submission"] + questions + ["total", "error"]]
    for g in grades:
        rows.append([g.submission] + [f"{_fmt(g.questions[q]['score'])}/{_fmt(g.questions[q]['possible'])}"
                                      for q in questions]
                    + [f"{_fmt(g.total)}/{_fmt(g.possible)}", (g.error or "")[:100]])
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]) - 1)]
    return "\n".join("  ".join(c.ljust(w) for c, w in zip(r, widths)) + "  " + r[-1] for r in rows)


def csv_text(grades: list[Grade], questions: list[str]) -> str:
    out = io.StringIO()
    w = csv.writer(out)
    w.writerow(["submission"] + questions + ["total", "possible", "error"])
    for g in grades:
        w.writerow([g.submission] + [_fmt(g.questions[q]["score"]) for q in questions]
                   + [_fmt(g.total), _fmt(g.possible), g.error or ""])
    return out.getvalue()


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if "--generate" in argv:
        from .generate import main as generate_main
        argv.remove("--generate")
        return generate_main(argv)
    parser = argparse.ArgumentParser(prog="lrcourse-grade", description=__doc__.split("\n\n")[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("exercise", nargs="?", help="exercise set: name (e.g. 01-gradient-descent) or folder")
    parser.add_argument("submission", nargs="*", help="notebooks, .zip files or folders of them")
    parser.add_argument("--csv", metavar="FILE", help="also write the scores as CSV to FILE ('-' for stdout)")
    parser.add_argument("--json", action="store_true", help="print one JSON object per submission (a list)")
    parser.add_argument("--exercises-dir", type=Path, help="folder holding the sets (default ./exercises)")
    parser.add_argument("--cell-timeout", type=float, default=Limits.cell, help="seconds per code cell (%(default)s)")
    parser.add_argument("--case-timeout", type=float, default=Limits.case, help="seconds per test call (%(default)s)")
    parser.add_argument("--timeout", type=float, default=Limits.total, help="seconds per submission, reruns included (%(default)s)")
    parser.add_argument("--no-sandbox", action="store_true",
                        help="run submissions without the namespace jail (trusted notebooks only)")
    parser.add_argument("--list", action="store_true", help="list the exercise sets and exit")
    parser.add_argument("--generate", action="store_true",
                        help="generate student notebooks instead: lrcourse-grade --generate [EXERCISE...] [--check]")
    classroom.add_arguments(parser)
    args = parser.parse_args(argv)
    if args.list:
        print("\n".join(list_exercises(args.exercises_dir)))
        return 0
    if args.gradescope:
        return classroom.gradescope(args, Limits(cell=args.cell_timeout, case=args.case_timeout,
                                                 total=args.timeout, sandbox=not args.no_sandbox),
                                    find_exercise)
    classroom.check(parser, args)
    if not args.exercise or not args.submission:
        parser.error("give an exercise set and at least one submission")
    try:
        ex = find_exercise(args.exercise, args.exercises_dir)
    except (FileNotFoundError, ValueError) as e:
        print(f"lrcourse-grade: {e}", file=sys.stderr)
        return 2
    paths = submissions(args.submission)
    if not paths:
        print("lrcourse-grade: no notebooks found in " + " ".join(args.submission), file=sys.stderr)
        return 2
    limits = Limits(cell=args.cell_timeout, case=args.case_timeout, total=args.timeout,
                    sandbox=not args.no_sandbox)
    if limits.sandbox and sandbox_status() != "jail":
        print(f"lrcourse-grade: the namespace jail is unavailable ({sandbox_status()}). Without it a "
              "submission could read your files (solutions included), use the network and kill "
              "your processes; pass --no-sandbox to grade trusted notebooks anyway.", file=sys.stderr)
        return 2
    if not limits.sandbox:
        print("lrcourse-grade: WARNING: --no-sandbox: submissions run with your rights, "
              "with network access", file=sys.stderr)

    def progress(g: Grade) -> None:
        note = f" — {g.error[:120]}" if g.error else ""
        print(f"graded {g.submission}: {_fmt(g.total)}/{_fmt(g.possible)} ({g.seconds:.1f} s){note}",
              file=sys.stderr)

    try:
        ref = reference(ex, limits)
        grades = grade_parallel(ex, paths, limits, args.jobs, progress, ref=ref)
    except MasterError as e:
        print(f"lrcourse-grade: {e}", file=sys.stderr)
        return 2
    questions = list(ex.questions)
    if args.json:
        print(json.dumps([g.to_json() for g in grades], indent=1))
    else:
        print(table(grades, questions))
    if args.csv:
        text = csv_text(grades, questions)
        if args.csv == "-":
            sys.stdout.write(text)
        else:
            Path(args.csv).write_text(text)
    return classroom.write_outputs(args, ex, grades, ref)


if __name__ == "__main__":
    sys.exit(main())
