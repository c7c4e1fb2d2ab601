"""Generate the student notebooks from the masters: ``python -m lrcourse.grading.generate``.

For each exercise set: execute the master (otter takes expected outputs from it), run
``otter assign`` on it in a temporary folder, and write only the student notebook, normalised
so that regenerating gives the same bytes (fixed cell ids, no outputs, no timestamps), to
``exercises/NN-name/NN-name.ipynb``. Otter's autograder zip is left behind in the temporary
folder: grading is done by ``lrcourse-grade``, outside the submission's reach.

A first cell, hidden in Colab's form view, makes ``grader.check`` work on Colab too: there it
installs otter-grader and writes the public tests to ``./tests`` (on Colab the notebook file
is not on disk, so otter cannot read them from its metadata); elsewhere it does nothing.

    python -m lrcourse.grading.generate                 # every set under ./exercises
    python -m lrcourse.grading.generate 01-gradient-descent --check   # exit 1 if out of date
"""
from __future__ import annotations

import argparse
import copy
import json
import pprint
import subprocess
import sys
import tempfile
from pathlib import Path

from .exercise import Exercise, find_exercise, list_exercises

OTTER_VERSION = "7.0.0"
KEEP_CELL_METADATA = ("deletable", "editable", "tags", "cellView", "jupyter")
KEEP_NB_METADATA = ("kernelspec", "otter", "colab")


def execute_master(ex: Exercise, workdir: Path) -> Path:
    """The master with its outputs, executed in ``workdir`` by a fresh kernel."""
    import nbclient
    import nbformat

    nb = nbformat.read(ex.master, as_version=4)
    nbclient.NotebookClient(nb, timeout=300, kernel_name="python3",
                            resources={"metadata": {"path": str(workdir)}}).execute()
    out = workdir / "master" / ex.master.name
    out.parent.mkdir(parents=True, exist_ok=True)
    nbformat.write(nb, out)
    return out


def colab_cell(name: str, tests: dict) -> dict:
    """The Colab set-up cell: install otter-grader, write the public tests to ./tests."""
    source = f'''#@title Set-up for Google Colab (run me first; elsewhere this cell does nothing)
# On Colab this notebook's file is not on disk, so otter cannot read its public tests from it:
# this cell installs otter-grader and writes those tests to ./tests, where grader.check looks.
import sys
if "google.colab" in sys.modules:
    import json, os, subprocess
    subprocess.run([sys.executable, "-m", "pip", "install", "-q", "otter-grader=={OTTER_VERSION}"], check=True)
    os.makedirs("tests", exist_ok=True)
    _public_tests = {pprint.pformat(tests, width=96, sort_dicts=True)}
    for _name, _test in _public_tests.items():
        with open(os.path.join("tests", _name + ".py"), "w", encoding="utf-8") as _f:
            _f.write("OK_FORMAT = True\\n\\ntest = " + repr(_test) + "\\n")
    if not os.path.exists({name + ".ipynb"!r}):
        with open({name + ".ipynb"!r}, "w", encoding="utf-8") as _f:
            json.dump({{"cells": [], "metadata": {{}}, "nbformat": 4, "nbformat_minor": 5}}, _f)
'''
    return {"cell_type": "code", "execution_count": None, "outputs": [], "source": source,
            "metadata": {"cellView": "form", "jupyter": {"source_hidden": True},
                         "deletable": False, "editable": False}}


# Appended to otter's "# Initialize Otter" cell: grader.check shows the failing assertion's
# message (or the exception) first and alone, instead of otter's doctest transcript.
FEEDBACK_PATCH = '''
# Feedback: show only the message of a failing check (not otter's doctest transcript).
import re as _re
try:
    import otter.test_files.ok_test as _ok_test
except ImportError:  # lrcourse-grade's sandbox, which has no otter
    _ok_test = None

def _message_only(run_doctest):
    def run(name, doctest_string, global_environment):
        passed, transcript = run_doctest(name, doctest_string, global_environment)
        if passed or "Exception raised:" not in transcript:
            return passed, transcript
        lines = []
        for line in transcript.split("Exception raised:", 1)[1].splitlines()[1:]:
            if line and not line[0].isspace():
                break  # the traceback's block ends where the next doctest line starts
            lines.append(line.strip())
        block = "\\n".join(lines)
        found = _re.search(r"^([A-Za-z_][\\w.]*(?:Error|Exception|Exit|Interrupt)\\b.*)", block, _re.M | _re.S)
        return passed, (found.group(1) if found else block).strip()
    return run

if _ok_test is not None and not getattr(_ok_test.run_doctest, "_message_only", False):
    _ok_test.run_doctest = _message_only(_ok_test.run_doctest)
    _ok_test.run_doctest._message_only = True
'''


def normalise(nb: dict, name: str) -> dict:
    """Same input, same bytes: fixed ids, no outputs or execution data, stable metadata."""
    nb = copy.deepcopy(nb)
    tests = nb.get("metadata", {}).get("otter", {}).get("tests", {})
    cells = [colab_cell(name, tests)] + nb["cells"]
    for cell in cells:
        source = "".join(cell["source"]) if isinstance(cell["source"], list) else cell["source"]
        if cell["cell_type"] == "code" and source.startswith("# Initialize Otter") and "_message_only" not in source:
            cell["source"] = source.rstrip("\n") + "\n" + FEEDBACK_PATCH.rstrip("\n")
    for i, cell in enumerate(cells, start=1):
        cell["id"] = f"cell-{i:02d}"
        cell["metadata"] = {k: v for k, v in cell.get("metadata", {}).items() if k in KEEP_CELL_METADATA}
        if cell["cell_type"] == "code":
            cell["outputs"], cell["execution_count"] = [], None
        if not cell.get("attachments"):
            cell.pop("attachments", None)
    nb["cells"] = cells
    meta = {k: v for k, v in nb.get("metadata", {}).items() if k in KEEP_NB_METADATA}
    meta["language_info"] = {"name": "python"}
    nb["metadata"] = meta
    nb["nbformat"], nb["nbformat_minor"] = 4, 5
    return nb


def student_notebook(ex: Exercise) -> str:
    """The student version of ``ex`` as notebook text (executes the master, runs otter assign)."""
    import nbformat

    with tempfile.TemporaryDirectory(prefix="lrcourse-generate-") as tmp:
        tmp = Path(tmp)
        master = execute_master(ex, tmp)
        dist = tmp / "dist"
        result = subprocess.run([sys.executable, "-m", "otter", "assign", "--no-pdfs",
                                 "--no-run-tests", str(master), str(dist)],
                                capture_output=True, text=True, cwd=tmp)
        student = dist / "student" / ex.master.name
        if result.returncode != 0 or not student.is_file():
            raise RuntimeError(f"otter assign failed for {ex.name}:\n{result.stdout}\n{result.stderr}")
        nb = normalise(json.loads(student.read_text()), ex.name)
    return nbformat.writes(nbformat.from_dict(nb))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m lrcourse.grading.generate",
        description="Generate the student notebooks of exercise sets from their masters.")
    parser.add_argument("exercises", nargs="*", help="set names or folders (default: every set)")
    parser.add_argument("--exercises-dir", type=Path, default=None,
                        help="folder holding the sets (default: ./exercises)")
    parser.add_argument("--check", action="store_true",
                        help="write nothing; exit 1 if a student notebook is out of date")
    args = parser.parse_args(argv)
    names = args.exercises or list_exercises(args.exercises_dir)
    stale = []
    for name in names:
        ex = find_exercise(name, args.exercises_dir)
        text = student_notebook(ex)
        current = ex.student.read_text() if ex.student.is_file() else None
        if args.check:
            if current != text:
                stale.append(ex.name)
            print(f"{ex.name}: {'up to date' if current == text else 'OUT OF DATE'}")
        else:
            ex.student.write_text(text)
            print(f"{ex.name}: wrote {ex.student}")
    if stale:
        print(f"out of date: {', '.join(stale)} — run python -m lrcourse.grading.generate", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
