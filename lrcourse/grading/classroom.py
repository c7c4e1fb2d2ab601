"""The instructor's options of ``lrcourse-grade`` beyond the table: jobs, grade books, feedback.

    lrcourse-grade SET SUBMISSION... --jobs N                     grade N at once
    lrcourse-grade SET SUBMISSION... --feedback DIR               one Markdown file per student
    lrcourse-grade SET SUBMISSION... --grades FILE [--id-pattern REGEX] [--lms plain|canvas|moodle]
    lrcourse-grade --gradescope SET OUT.zip [--gradescope-visibility V]

Kept apart from :mod:`.cli` so that the command's own module stays small; :mod:`.cli` calls
:func:`add_arguments`, :func:`check`, :func:`gradescope` and :func:`write_outputs`.
"""
from __future__ import annotations

import argparse
import sys

from . import feedback, lms
from .gradescope import VISIBILITIES, build
from .parallel import jobs_type


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--jobs", "-j", type=jobs_type, default=1, metavar="N",
                        help="grade N submissions at once, each in its own jail (default 1)")
    parser.add_argument("--feedback", metavar="DIR",
                        help="write one Markdown file per submission for its student into DIR: "
                             "scores, failing tests' inputs and why, never an expected value")
    parser.add_argument("--grades", metavar="FILE",
                        help="write a grade-book CSV with one row per student to FILE")
    parser.add_argument("--id-pattern", type=lms.id_pattern, metavar="REGEX",
                        help="regular expression with one group: the student's id in a "
                             "submission's path (default: the file name without suffix)")
    parser.add_argument("--lms", choices=lms.LAYOUTS, default="plain",
                        help="column layout of --grades: plain, canvas or moodle (default plain)")
    parser.add_argument("--assignment", metavar="NAME",
                        help="the assignment's column in --grades --lms canvas (default: the set's name)")
    parser.add_argument("--gradescope", nargs=2, metavar=("SET", "OUT.zip"),
                        help="write a Gradescope autograder zip for SET and exit")
    parser.add_argument("--gradescope-visibility", choices=VISIBILITIES, default="after_due_date",
                        help="when students see each hidden test's result on Gradescope "
                             "(default after_due_date)")


def check(parser: argparse.ArgumentParser, args: argparse.Namespace) -> None:
    """Refuse unusable options before any grading starts (one line, exit status 2)."""
    if (args.id_pattern is not None or args.lms != "plain" or args.assignment) and not args.grades:
        parser.error("--id-pattern, --lms and --assignment describe the --grades file: add --grades FILE")
    try:
        if args.grades:
            lms.check_file(args.grades)
        if args.feedback:
            feedback.check_folder(args.feedback)
    except ValueError as e:
        parser.error(str(e))


def gradescope(args: argparse.Namespace, limits, find_exercise) -> int:
    """``--gradescope SET OUT.zip``: write the autograder zip."""
    name, out = args.gradescope
    try:
        ex = find_exercise(name, args.exercises_dir)
        path = build(ex, out, limits, args.gradescope_visibility)
    except (FileNotFoundError, ValueError) as e:
        print(f"lrcourse-grade: {e}", file=sys.stderr)
        return 2
    print(f"wrote {path}: a Gradescope autograder for {ex.name} "
          f"({len(ex.cases)} hidden tests, {ex.possible:g} points)", file=sys.stderr)
    return 0


def write_outputs(args: argparse.Namespace, ex, grades: list, ref) -> int:
    """Write ``--feedback`` and ``--grades`` after grading."""
    if args.feedback:
        paths = feedback.write(args.feedback, grades, ref)
        print(f"wrote {len(paths)} feedback files to {args.feedback}", file=sys.stderr)
    if args.grades:
        rows, unmatched = lms.table(grades, list(ex.questions), args.id_pattern, args.lms,
                                    args.assignment or ex.name)
        with open(args.grades, "w", encoding="utf-8", newline="") as f:
            f.write(lms.csv_text(rows))
        print(f"wrote {args.grades}: {len(rows) - 1} students", file=sys.stderr)
        if unmatched:
            from .printable import printable
            print(f"lrcourse-grade: {len(unmatched)} submission(s) matched no id (--id-pattern), "
                  "so they are not in " + args.grades + ": "
                  + ", ".join(printable(s) for s in unmatched[:20]), file=sys.stderr)
    return 0
