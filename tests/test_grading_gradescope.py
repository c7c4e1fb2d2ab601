"""Into the grade book: the Gradescope autograder zip, and the CSV an LMS imports."""
import argparse
import csv
import io
import json
import os
import re
import shutil
import stat
import subprocess
import sys
import zipfile
from pathlib import Path

import jsonschema
import pytest

from lrcourse.grading import lms
from lrcourse.grading.scoring import Grade
from test_grading_helpers import ROOT, exercise, require_jail, submission

CLI = [sys.executable, "-m", "lrcourse.grading.cli"]
WRONG_GD_STEP = "def gd_step(theta, grad, eta):\n    return theta + eta * grad\n"

# results.json as Gradescope documents it: https://gradescope-autograders.readthedocs.io/en/latest/specs/
# ("Output format": a top-level score, optional execution_time/output/visibility/stdout_visibility/
# extra_data, and tests, each with score, max_score, status, name, number, output, tags,
# visibility, extra_data; visibility one of hidden, after_due_date, after_published, visible).
VISIBILITY = {"enum": ["hidden", "after_due_date", "after_published", "visible"]}
FORMAT = {"enum": ["text", "html", "simple_format", "md", "ansi"]}
RESULTS_SCHEMA = {
    "type": "object",
    "required": ["score", "tests"],
    "additionalProperties": False,
    "properties": {
        "score": {"type": "number"},
        "execution_time": {"type": "number"},
        "output": {"type": "string"},
        "output_format": FORMAT,
        "visibility": VISIBILITY,
        "stdout_visibility": VISIBILITY,
        "extra_data": {"type": "object"},
        "tests": {"type": "array", "items": {
            "type": "object",
            "required": ["name", "score", "max_score", "output", "visibility"],
            "additionalProperties": False,
            "properties": {
                "name": {"type": "string", "minLength": 1},
                "score": {"type": "number", "minimum": 0},
                "max_score": {"type": "number", "minimum": 0},
                "status": {"enum": ["passed", "failed"]},
                "number": {"type": "string"},
                "output": {"type": "string"},
                "output_format": FORMAT,
                "tags": {"type": "array", "items": {"type": "string"}},
                "visibility": VISIBILITY,
                "extra_data": {"type": "object"},
            },
        }},
    },
}


# --- Gradescope --------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def autograder_zip(tmp_path_factory):
    out = tmp_path_factory.mktemp("zip") / "autograder.zip"
    result = subprocess.run(CLI + ["--gradescope", "01-gradient-descent", str(out)],
                            capture_output=True, text=True, cwd=ROOT, timeout=120)
    assert result.returncode == 0, result.stderr
    return out


def test_the_zip_has_gradescopes_layout(autograder_zip):
    with zipfile.ZipFile(autograder_zip) as z:
        names = set(z.namelist())
        modes = {i.filename: i.external_attr >> 16 for i in z.infolist()}
        reqs = z.read("requirements.txt").decode().split()
        config = json.loads(z.read("lrcourse-autograder.json"))
    # both scripts at the root of the archive, executable
    for script in ("setup.sh", "run_autograder"):
        assert script in names and modes[script] & stat.S_IXUSR, script
    assert "exercises/01-gradient-descent/source/01-gradient-descent.ipynb" in names
    assert {"lrcourse/__init__.py", "lrcourse/grading/cli.py", "lrcourse/grading/child.py",
            "lrcourse/grading/jail.py"} <= names
    assert not any(n.startswith("lrcourse/") and not n.startswith(("lrcourse/grading/", "lrcourse/__init__"))
                   for n in names)  # the grader alone, not the book's package
    assert all(re.fullmatch(r"[A-Za-z0-9_.-]+==[\w.+-]+", r) for r in reqs), reqs
    assert {r.split("==")[0].lower() for r in reqs} >= {"numpy", "pyyaml", "ipython"}
    assert config["exercise"] == "01-gradient-descent" and config["visibility"] == "after_due_date"


def test_the_zip_is_reproducible(autograder_zip, tmp_path):
    again = tmp_path / "again.zip"
    subprocess.run(CLI + ["--gradescope", "01-gradient-descent", str(again)], check=True,
                   capture_output=True, cwd=ROOT, timeout=120)
    assert again.read_bytes() == autograder_zip.read_bytes()


def fake_autograder(zip_path: Path, base: Path) -> Path:
    """An /autograder tree as Gradescope makes it: the zip in source/, run_autograder copied up."""
    root = base / "autograder"
    with zipfile.ZipFile(zip_path) as z:
        z.extractall(root / "source")
    shutil.copy(root / "source" / "run_autograder", root / "run_autograder")
    (root / "run_autograder").chmod(0o755)
    (root / "submission").mkdir()
    return root


def run_autograder(root: Path) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    env.update(LRCOURSE_AUTOGRADER_ROOT=str(root), LRCOURSE_AUTOGRADER_PYTHON=sys.executable)
    return subprocess.run([str(root / "run_autograder")], capture_output=True, text=True,
                          cwd=root.parent, env=env, timeout=600)


@pytest.mark.slow
def test_run_autograder_writes_results_json_in_gradescopes_format(autograder_zip, tmp_path):
    require_jail()
    ex = exercise("01-gradient-descent")
    root = fake_autograder(autograder_zip, tmp_path)
    submission(ex, root / "submission", "01-gradient-descent", replace={"gd_step": WRONG_GD_STEP})
    result = run_autograder(root)
    assert result.returncode == 0, result.stdout + result.stderr
    data = json.loads((root / "results" / "results.json").read_text())
    jsonschema.validate(data, RESULTS_SCHEMA)
    tests = {t["name"].split(":")[0]: t for t in data["tests"]}
    assert sorted(tests) == sorted(c.id for c in ex.cases)
    # gd_step adds instead of subtracting: its tests fail, every test of another question passes
    failed = {k for k, t in tests.items() if t["status"] == "failed"}
    assert {"q1.1", "q1.2"} <= failed and all(k.startswith("q1.") for k in failed)
    assert all(tests[k]["score"] == 0 for k in failed)
    assert all(t["score"] == t["max_score"] > 0 for k, t in tests.items() if k not in failed)
    lost = sum(c.points for c in ex.cases if c.id in failed)
    assert data["score"] == sum(t["score"] for t in data["tests"]) == ex.possible - lost
    assert sum(t["max_score"] for t in data["tests"]) == ex.possible
    assert all(t["visibility"] == "after_due_date" for t in data["tests"])
    # the failing test's output gives the call, and what the student's gd_step returned …
    q11 = tests["q1.1"]["output"]
    assert "gd_step(np.array([3.0, -1.0, 0.5]), np.array([2.0, 2.0, -4.0]), 0.25)" in q11
    assert "[3.5, -0.5, -0.5]" in q11  # θ + η·g, the wrong answer itself
    # … and never the expected θ − η·g = [2.5, -1.5, 1.5] (worked out here, not by the grader)
    for t in data["tests"]:
        assert not re.search(r"2\.5,\s*-1\.5,\s*1\.5", t["output"] + t["name"]), t
    assert not re.search(r"2\.5,\s*-1\.5,\s*1\.5", data["output"])
    assert f"Score: {ex.possible - lost:g} / {ex.possible:g}" in data["output"]
    assert "wrote" in result.stdout  # the instructor's log (Gradescope's stdout)


@pytest.mark.slow
def test_run_autograder_with_two_unnamed_notebooks_scores_zero_and_says_why(autograder_zip, tmp_path):
    require_jail()
    ex = exercise("01-gradient-descent")
    root = fake_autograder(autograder_zip, tmp_path)
    submission(ex, root / "submission", "mine")
    submission(ex, root / "submission", "copy")
    result = run_autograder(root)
    assert result.returncode == 0, result.stdout + result.stderr
    data = json.loads((root / "results" / "results.json").read_text())
    jsonschema.validate(data, RESULTS_SCHEMA)
    assert data["score"] == 0 and "2 notebooks were submitted" in data["output"]
    assert all(t["status"] == "failed" for t in data["tests"])


def test_gradescope_option_errors_are_one_line(tmp_path):
    bad = subprocess.run(CLI + ["--gradescope", "99-nothing", str(tmp_path / "a.zip")],
                         capture_output=True, text=True, cwd=ROOT, timeout=60)
    assert bad.returncode == 2 and len(bad.stderr.strip().splitlines()) == 1
    assert "no exercise set '99-nothing'" in bad.stderr
    bad = subprocess.run(CLI + ["--gradescope", "01-gradient-descent", str(tmp_path / "no" / "a.zip")],
                         capture_output=True, text=True, cwd=ROOT, timeout=60)
    assert bad.returncode == 2 and "no folder" in bad.stderr and "Traceback" not in bad.stderr


# --- the LMS grade book ---------------------------------------------------------------------------

def fake_grade(path: str, q1: float, q2: float) -> Grade:
    questions = {"q1": {"score": q1, "possible": 2.0}, "q2": {"score": q2, "possible": 3.0}}
    return Grade(path, q1 + q2, 5.0, questions, [], [])


CANVAS = r"^[^_]+_(?:LATE_)?(\d+)_"
MOODLE = r"_(\d+)_assignsubmission_file"
GRADES = [
    fake_grade("subs/smithjane_1234_555_01-gradient-descent.ipynb", 2, 1),
    fake_grade("subs/smithjane_LATE_1234_556_01-gradient-descent-1.ipynb", 2, 3),  # a resubmission
    fake_grade("subs/doejohn_99_557_01-gradient-descent.ipynb", 0, 1.5),
    fake_grade("subs/README.ipynb", 0, 0),
]


def parse(rows):
    return list(csv.reader(io.StringIO(lms.csv_text(rows))))


def test_canvas_layout_one_row_per_student_best_total():
    rows, unmatched = lms.table(GRADES, ["q1", "q2"], lms.id_pattern(CANVAS), "canvas", "GD (4321)")
    assert parse(rows) == [["Student", "ID", "SIS User ID", "SIS Login ID", "Section", "GD (4321)"],
                           ["", "1234", "", "", "", "5"],
                           ["", "99", "", "", "", "1.5"]]
    assert unmatched == ["subs/README.ipynb"]


def test_moodle_layout_from_folder_names():
    grades = [fake_grade("subs/Jane Smith_1234567_assignsubmission_file_/01-gradient-descent.ipynb", 2, 2),
              fake_grade("subs/Li Wei_765_assignsubmission_file_/01-gradient-descent.ipynb", 1, 0)]
    rows, unmatched = lms.table(grades, ["q1", "q2"], lms.id_pattern(MOODLE), "moodle")
    assert parse(rows) == [["Identifier", "Grade", "Maximum grade"],
                           ["Participant 765", "1", "5"], ["Participant 1234567", "4", "5"]]
    assert unmatched == []


def test_plain_layout_default_id_is_the_file_name():
    rows, _ = lms.table(GRADES[2:3], ["q1", "q2"])
    assert parse(rows) == [["id", "q1", "q2", "total", "possible"],
                           ["doejohn_99_557_01-gradient-descent", "0", "1.5", "1.5", "5"]]


def test_ids_from_hostile_names_are_made_printable():
    rows, _ = lms.table([fake_grade("s/x_1\n2,=cmd|_y.ipynb", 1, 1)], ["q1", "q2"],
                        lms.id_pattern(r"(?s)x_(.*)_y"))
    (row,) = parse(rows)[1:]
    assert row[0] == "1\\n2,=cmd|"  # one cell: the comma is quoted, the newline escaped


@pytest.mark.parametrize("pattern, why", [("(a)(b)", "exactly one group"), ("s\\d+", "exactly one group"),
                                          ("(", "not a regular expression")])
def test_id_pattern_must_have_one_group(pattern, why):
    with pytest.raises(argparse.ArgumentTypeError, match=why):
        lms.id_pattern(pattern)
    bad = subprocess.run(CLI + ["01-gradient-descent", "x.ipynb", "--grades", "g.csv", "--id-pattern", pattern],
                         capture_output=True, text=True, cwd=ROOT, timeout=60)
    assert bad.returncode == 2 and why in bad.stderr and "Traceback" not in bad.stderr


def test_grades_options_are_checked_before_grading(tmp_path):
    cases = [(["--lms", "canvas"], "add --grades FILE"),
             (["--grades", str(tmp_path / "missing" / "g.csv")], "does not exist"),
             (["--grades", str(tmp_path)], "is a folder"),
             (["--feedback", str(Path(__file__))], "not a folder")]
    for extra, why in cases:
        bad = subprocess.run(CLI + ["01-gradient-descent", "x.ipynb"] + extra,
                             capture_output=True, text=True, cwd=ROOT, timeout=60)
        last = bad.stderr.strip().splitlines()[-1]  # argparse: the usage, then one error line
        assert bad.returncode == 2 and last.startswith("lrcourse-grade: error: ") and why in last, \
            (extra, bad.stderr)
        assert "Traceback" not in bad.stderr


@pytest.mark.slow
def test_a_failing_master_writes_no_results_so_gradescope_reports_an_autograder_error(autograder_zip, tmp_path):
    require_jail()
    ex = exercise("01-gradient-descent")
    root = fake_autograder(autograder_zip, tmp_path)
    master = root / "source" / "exercises" / ex.name / "source" / f"{ex.name}.ipynb"
    nb = json.loads(master.read_text())
    for cell in nb["cells"]:
        if cell["cell_type"] == "code" and "def gd_step" in "".join(cell["source"]):
            cell["source"] = "def gd_step(theta, grad, eta):\n    raise RuntimeError('broken master')\n"
    master.write_text(json.dumps(nb))
    submission(ex, root / "submission", ex.name)
    result = run_autograder(root)
    assert result.returncode == 1
    assert not (root / "results" / "results.json").exists()
    assert "broken master" in result.stdout and "autograder failure" in result.stdout


def test_pick_notebook(tmp_path):
    from lrcourse.grading.gradescope import pick_notebook
    sub = tmp_path / "submission"
    (sub / "deep" / "__MACOSX").mkdir(parents=True)
    (sub / "deep" / "__MACOSX" / "hw.ipynb").write_text("{}")
    (sub / "._hw.ipynb").write_text("{}")
    (sub / "notes.txt").write_text("")
    os.symlink("/etc/passwd", sub / "link.ipynb")
    assert pick_notebook(sub, "hw") == (None, "no notebook (.ipynb) was submitted: submit your hw.ipynb")
    (sub / "deep" / "Mine.IPYNB").write_text("{}")
    assert pick_notebook(sub, "hw") == (sub / "deep" / "Mine.IPYNB", None)
    (sub / "HW.ipynb").write_text("{}")
    assert pick_notebook(sub, "hw") == (sub / "HW.ipynb", None)  # several: the one named as the set
    (sub / "HW.ipynb").unlink()
    (sub / "other.ipynb").write_text("{}")
    notebook, why = pick_notebook(sub, "hw")
    assert notebook is None and why.startswith("2 notebooks were submitted and none is named hw.ipynb")
