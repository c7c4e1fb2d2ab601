"""``lrcourse-grade``: grade a folder of submitted notebooks, or generate the student versions.

    lrcourse-grade EXERCISE SUBMISSION... [--csv FILE] [--json [--instructor]]
                   [--jobs N] [--feedback DIR] [--grades FILE [--id-pattern REGEX] [--lms LAYOUT]]
    lrcourse-grade --gradescope EXERCISE OUT.zip
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
import math
import os
import signal
import sys
from pathlib import Path

from .exercise import find_exercise, list_exercises
from .scoring import Grade, MasterError, grade, reference
from .parallel import grade_parallel
from .runner import Limits, sandbox_status
from . import classroom  # --jobs, --feedback, --grades, --gradescope (issue 17)
from .exercise import notebook_entry
from .printable import printable


def _is_submission(name: str) -> bool:
    return notebook_entry(name) or (name.lower().endswith(".zip") and not name.startswith("._"))


def submissions(paths: list[str]) -> list[Path]:
    """Every notebook named, or found (recursively) in a folder named, in order.

    In a folder: ``.ipynb`` and ``.zip`` in any case, not in ``.ipynb_checkpoints/`` or
    ``__MACOSX/``, not ``._*``. A symbolic link in a folder is not followed but listed, so that
    grading reports it (``unzip`` restores the links a student's archive holds).
    """
    found = []
    for p in map(Path, paths):
        if p.is_dir() and not p.is_symlink():
            inside = []
            for top, dirs, files in os.walk(p):  # never follows a link to a folder
                rel = os.path.relpath(top, p)
                parts = [] if rel == "." else rel.split(os.sep)
                if ".ipynb_checkpoints" in parts or "__MACOSX" in parts:
                    dirs[:] = []
                    continue
                for name in files + [d for d in dirs if os.path.islink(os.path.join(top, d))]:
                    f = Path(top, name)
                    if f.is_symlink() or _is_submission(name):
                        inside.append(f)
            found += sorted(inside)
        else:
            found.append(p)
    return found


def positive_seconds(text: str) -> float:
    """argparse type for a time limit: a finite number of seconds above 0."""
    try:
        x = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number of seconds, got {text!r}") from None
    if not math.isfinite(x) or x <= 0:
        raise argparse.ArgumentTypeError(f"a time limit must be a finite number of seconds above 0, got {text}")
    return x


def check_csv_path(name: str) -> str | None:
    """Why ``--csv FILE`` cannot be written (checked before any grading), or None."""
    if name == "-":
        return None
    p = Path(name)
    if p.is_dir():
        return f"--csv {name}: is a folder, not a file"
    parent = p.parent if str(p.parent) else Path(".")
    if not parent.is_dir():
        return f"--csv {name}: no such folder {parent}"
    if not os.access(parent, os.W_OK) or (p.exists() and not os.access(p, os.W_OK)):
        return f"--csv {name}: not writable"
    return None


class _Parser(argparse.ArgumentParser):
    def error(self, message):
        """One line, not the whole usage: ``lrcourse-grade: error: … (--help for usage)``."""
        self.exit(2, f"{self.prog}: error: {message} (--help for usage)\n")


def _stop_on_signals() -> None:
    """SIGTERM and SIGHUP (a closed terminal) stop the grader as Ctrl-C does: each running
    jail is killed and its folders removed as the interruption unwinds."""
    def stop(signum, frame):
        raise KeyboardInterrupt
    for s in (signal.SIGTERM, signal.SIGHUP):
        signal.signal(s, stop)


def _fmt(x: float) -> str:
    return f"{x:g}"


def table(grades: list[Grade], questions: list[str]) -> str:
    rows = [["submission"] + questions + ["total", "error"]]
    for g in grades:
        rows.append([printable(g.submission)]
                    + [f"{_fmt(g.questions[q]['score'])}/{_fmt(g.questions[q]['possible'])}"
                       for q in questions]
                    + [f"{_fmt(g.total)}/{_fmt(g.possible)}", printable(g.error or "", limit=100)])
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]) - 1)]
    return "\n".join("  ".join(c.ljust(w) for c, w in zip(r, widths)) + "  " + r[-1] for r in rows)


def csv_text(grades: list[Grade], questions: list[str]) -> str:
    out = io.StringIO()
    w = csv.writer(out)
    w.writerow(["submission"] + questions + ["total", "possible", "error"])
    for g in grades:
        w.writerow([printable(g.submission)] + [_fmt(g.questions[q]["score"]) for q in questions]
                   + [_fmt(g.total), _fmt(g.possible), g.error or ""])
    return out.getvalue()


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    parser = _Parser(prog="lrcourse-grade", description=__doc__.split("\n\n")[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("exercise", nargs="?", help="exercise set: name (e.g. 01-gradient-descent) or folder")
    parser.add_argument("submission", nargs="*", help="notebooks, .zip files or folders of them")
    parser.add_argument("--csv", metavar="FILE", help="also write the scores as CSV to FILE ('-' for stdout)")
    parser.add_argument("--json", action="store_true", help="print one JSON object per submission (a list)")
    parser.add_argument("--instructor", action="store_true",
                        help="with --json: each failed case's message states the hidden expected value "
                             "(without it the JSON is safe to hand to students)")
    parser.add_argument("--exercises-dir", type=Path, help="folder holding the sets (default ./exercises)")
    parser.add_argument("--cell-timeout", type=positive_seconds, default=Limits.cell, help="seconds per code cell (%(default)s)")
    parser.add_argument("--case-timeout", type=positive_seconds, default=Limits.case, help="seconds per test call (%(default)s)")
    parser.add_argument("--timeout", type=positive_seconds, default=Limits.total, help="seconds per submission, reruns included (%(default)s)")
    parser.add_argument("--no-sandbox", action="store_true",
                        help="run submissions without the namespace jail (trusted notebooks only)")
    parser.add_argument("--list", action="store_true", help="list the exercise sets and exit")
    parser.add_argument("--generate", action="store_true",
                        help="generate student notebooks instead: lrcourse-grade --generate [EXERCISE...] [--check]")
    parser.add_argument("--check", action="store_true",
                        help="with --generate: write nothing; exit 1 if a student notebook is out of date")
    classroom.add_arguments(parser)
    args = parser.parse_args(argv)
    if args.check and not args.generate:
        parser.error("--check goes with --generate")
    if args.generate:  # the sets named (EXERCISE and SUBMISSION... are all set names here)
        from .generate import main as generate_main

        names = ([args.exercise] if args.exercise else []) + list(args.submission)
        extra = (["--exercises-dir", str(args.exercises_dir)] if args.exercises_dir else [])
        return generate_main(names + extra + (["--check"] if args.check else []))
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
    if args.csv and check_csv_path(args.csv):
        print(f"lrcourse-grade: {check_csv_path(args.csv)}", file=sys.stderr)
        return 2
    missing = [p for p in args.submission if not os.path.lexists(p)]
    for p in missing:
        print(f"lrcourse-grade: no such submission: {printable(p)}", file=sys.stderr)
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
        note = f" — {printable(g.error, limit=120)}" if g.error else ""
        print(f"graded {printable(g.submission)}: {_fmt(g.total)}/{_fmt(g.possible)} ({g.seconds:.1f} s){note}",
              file=sys.stderr)

    _stop_on_signals()
    try:
        ref = reference(ex, limits)
        grades = grade_parallel(ex, paths, limits, args.jobs, progress, ref=ref)
    except MasterError as e:
        print(f"lrcourse-grade: {e}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("lrcourse-grade: interrupted: every jail stopped, nothing written", file=sys.stderr)
        return 130
    questions = list(ex.questions)
    if args.json:
        print(json.dumps([g.to_json(instructor=args.instructor) for g in grades], indent=1))
    else:
        print(table(grades, questions))
    if args.csv:
        text = csv_text(grades, questions)
        if args.csv == "-":
            sys.stdout.write(text)
        else:
            try:
                Path(args.csv).write_text(text, encoding="utf-8")
            except OSError as e:
                print(f"lrcourse-grade: could not write {args.csv}: {e.strerror}", file=sys.stderr)
                return 1
    status = classroom.write_outputs(args, ex, grades, ref)
    return status or (1 if missing else 0)


if __name__ == "__main__":
    sys.exit(main())
