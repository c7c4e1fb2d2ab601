"""A grade-book CSV for an LMS: one row per student (``lrcourse-grade … --grades FILE``).

The student's id comes from the submission's path, by a regular expression the instructor
gives with one group (``--id-pattern``), searched in the path as found (folder names
included), so it fits how each LMS names the files it hands out:

* Canvas, "Download Submissions": ``smithjane_12345_67890_01-gradient-descent.ipynb``
  (late ones ``smithjane_LATE_12345_…``), the first number being the Canvas user id:
  ``--id-pattern '^[^_]+_(?:LATE_)?(\\d+)_'``;
* Moodle, "Download all submissions": a folder per student,
  ``Jane Smith_1234567_assignsubmission_file_/01-gradient-descent.ipynb``, the number being the
  participant id of the grading worksheet: ``--id-pattern '_(\\d+)_assignsubmission_file'``;
* anything else, e.g. ``s1234567.ipynb``: ``--id-pattern '(s\\d{7})'``.

Without ``--id-pattern`` the id is the file name without its suffix. A student with several
submissions gets one row, the best total (each is still in the table and ``--csv``); a
submission whose path does not match has no row and is named on stderr.

Column layouts (``--lms``):

``plain`` (default)
    ``id, q1 … qN, total, possible``.
``canvas``
    Canvas's gradebook import: ``Student, ID, SIS User ID, SIS Login ID, Section, ASSIGNMENT``
    with the id in ``ID`` (Canvas matches rows on it) and the total under the assignment's
    column, named by ``--assignment`` as it appears in Canvas's own export (e.g.
    ``Gradient descent (4321)``); default the set's name.
``moodle``
    Moodle's assignment grading worksheet ("Upload grading worksheet"):
    ``Identifier, Grade, Maximum grade`` with ``Identifier`` = ``Participant N`` when the id is
    the participant number ``N``. For Grades → Import → CSV file instead, any layout works:
    map the first column to the user field the id is (ID number, username, email).
"""
from __future__ import annotations

import argparse
import csv
import io
import re
from pathlib import Path

from .printable import printable

LAYOUTS = ("plain", "canvas", "moodle")


def id_pattern(text: str) -> re.Pattern:
    """argparse type for ``--id-pattern``: a regular expression with exactly one group."""
    try:
        pattern = re.compile(text)
    except re.error as e:
        raise argparse.ArgumentTypeError(f"not a regular expression ({e}): {text!r}") from None
    if pattern.groups != 1:
        raise argparse.ArgumentTypeError(
            f"needs exactly one group (the id), like 's(\\d+)'; {text!r} has {pattern.groups}")
    return pattern


def student_id(submission: str, pattern: re.Pattern | None) -> str | None:
    """The id in ``submission``'s path, or None if the pattern does not match it."""
    if pattern is None:
        return Path(submission).stem
    m = pattern.search(submission)
    return m.group(1) if m and m.group(1) else None


def _fmt(x: float) -> str:
    return f"{x:g}"


def table(grades, questions: list[str], pattern: re.Pattern | None = None,
          layout: str = "plain", assignment: str = "") -> tuple[list[list[str]], list[str]]:
    """(rows, header first; the submissions that matched no id) for the grade book."""
    if layout not in LAYOUTS:
        raise ValueError(f"unknown LMS layout {layout!r}; choose one of {', '.join(LAYOUTS)}")
    best, unmatched = {}, []
    for g in grades:
        sid = student_id(g.submission, pattern)
        if sid is None:
            unmatched.append(g.submission)
        elif sid not in best or g.total > best[sid].total:
            best[sid] = g
    if layout == "plain":
        rows = [["id"] + questions + ["total", "possible"]]
        rows += [[sid] + [_fmt(g.questions[q]["score"]) for q in questions]
                 + [_fmt(g.total), _fmt(g.possible)] for sid, g in sorted(best.items())]
    elif layout == "canvas":
        rows = [["Student", "ID", "SIS User ID", "SIS Login ID", "Section", assignment]]
        rows += [["", sid, "", "", "", _fmt(g.total)] for sid, g in sorted(best.items())]
    else:
        rows = [["Identifier", "Grade", "Maximum grade"]]
        rows += [[f"Participant {sid}" if sid.isdigit() else sid, _fmt(g.total), _fmt(g.possible)]
                 for sid, g in sorted(best.items(), key=lambda kv: (len(kv[0]), kv[0]))]
    return [[printable(c) for c in r] for r in rows], unmatched


def csv_text(rows: list[list[str]]) -> str:
    out = io.StringIO()
    csv.writer(out, lineterminator="\r\n").writerows(rows)
    return out.getvalue()


def check_file(path: str | Path) -> Path:
    """Fail before grading if ``path`` cannot be written (missing folder, a directory)."""
    path = Path(path)
    if path.is_dir():
        raise ValueError(f"--grades {path}: is a folder, not a file")
    if not path.parent.is_dir():
        raise ValueError(f"--grades {path}: the folder {path.parent} does not exist")
    return path
