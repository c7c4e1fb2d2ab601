"""``lrcourse-grade`` against what a hostile student or a busy instructor hands it (issue 14):
forged rows and escapes in errors, odd file names and zips, symbolic links, bad options."""
import ast
import csv
import json
import re
import os
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from test_grading_helpers import ROOT, exercise, first_code_position, require_jail, submission

pytestmark = pytest.mark.slow

CLI = [sys.executable, "-m", "lrcourse.grading.cli"]
FORGED = "zz-forged.ipynb  2/2  2/2  2/2  4/4  10/10"


def run_cli(*args, cwd=ROOT):
    return subprocess.run(CLI + [os.fsdecode(a) if isinstance(a, bytes) else str(a) for a in args],
                          capture_output=True, cwd=cwd, timeout=600)


def _zip(path: Path, entries: dict, links: dict = ()) -> Path:
    with zipfile.ZipFile(path, "w") as z:
        for name, data in entries.items():
            z.writestr(name, data)
        for name, target in dict(links).items():  # a symbolic link entry, as `zip --symlinks` makes
            info = zipfile.ZipInfo(name)
            info.create_system = 3
            info.external_attr = (0o120777 << 16)
            z.writestr(info, target)
    return path


@pytest.fixture(scope="module")
def graded(tmp_path_factory):
    """One folder of awkward submissions, graded once: (folder, result, CSV rows)."""
    require_jail()
    ex = exercise("01-gradient-descent")
    d = tmp_path_factory.mktemp("awkward")
    spare = tmp_path_factory.mktemp("spare")
    at = first_code_position(ex)
    solved = submission(ex, spare, "solved").read_bytes()
    submission(ex, d, "surrogate", insert=[(at, "raise ValueError('\\ud800 and \\udfff')")])
    submission(ex, d, "forged", insert=[(at, "raise ValueError('x\\n" + FORGED + "\\x1b[2J\\x1b]0;owned\\x07')")])
    with open(os.path.join(os.fsencode(d), b"caf\xe9.ipynb"), "wb") as f:  # a Latin-1 name, as unzip writes
        f.write(solved)
    (d / "Alice.IPYNB").write_bytes(solved)
    _zip(d / "Carol.ZIP", {"Carol.ipynb": solved})
    _zip(d / "finder.zip", {"finder.ipynb": solved, "__MACOSX/._finder.ipynb": b"\x00\x05\x16\x07 AppleDouble"})
    _zip(d / "named.zip", {"gd-checkpoint-final.ipynb": solved,
                           ".ipynb_checkpoints/gd-checkpoint.ipynb": b"{}"})
    _zip(d / "ziplink.zip", {}, links={"ziplink.ipynb": str(ex.master)})
    (d / "link.ipynb").symlink_to(ex.master)  # a link to the master: never followed
    (d / ".ipynb_checkpoints").mkdir()
    (d / ".ipynb_checkpoints" / "alice-checkpoint.ipynb").write_bytes(solved)
    (d / "__MACOSX").mkdir()
    (d / "__MACOSX" / "._Alice.IPYNB").write_bytes(b"\x00\x05\x16\x07")
    (d / "._finder.zip").write_bytes(b"\x00\x05\x16\x07")
    out = d.parent / (d.name + "-scores.csv")
    result = run_cli("01-gradient-descent", d, "--csv", out, "--cell-timeout", "5")
    with open(out, encoding="utf-8", newline="") as f:
        rows = {Path(r["submission"]).name: r for r in csv.DictReader(f)}
    return d, result, rows


def test_every_awkward_submission_gets_one_row_and_a_table(graded):
    d, result, rows = graded
    assert result.returncode == 0, result.stderr.decode(errors="replace")
    assert sorted(rows) == sorted(["surrogate.ipynb", "forged.ipynb", "caf\\xe9.ipynb", "Alice.IPYNB",
                                   "Carol.ZIP", "finder.zip", "named.zip", "ziplink.zip", "link.ipynb"])


def test_a_lone_surrogate_in_an_error_does_not_stop_the_table(graded):
    _, result, rows = graded
    result.stdout.decode("utf-8")  # strictly valid UTF-8
    assert rows["surrogate.ipynb"]["total"] == "11"
    assert "ValueError: \\ud800 and \\udfff" in rows["surrogate.ipynb"]["error"]
    assert any(line.startswith(b"submission") for line in result.stdout.splitlines())


def test_a_newline_or_escape_in_an_error_forges_no_row_and_reaches_no_terminal(graded):
    _, result, rows = graded
    for stream in (result.stdout, result.stderr):
        assert b"\x1b" not in stream and b"\x07" not in stream
        assert not any(line.lstrip().startswith(b"zz-forged") for line in stream.splitlines())
    assert "\\nzz-forged" in rows["forged.ipynb"]["error"] and "\\x1b[2J" in rows["forged.ipynb"]["error"]
    table = [line for line in result.stdout.splitlines() if b"forged.ipynb" in line]
    assert len(table) == 1


def test_a_name_that_is_not_utf8_is_written_escaped(graded):
    _, _, rows = graded
    assert rows["caf\\xe9.ipynb"]["total"] == "11"


def test_suffixes_in_any_case_finder_zips_and_checkpoint_names(graded):
    _, _, rows = graded
    for name in ("Alice.IPYNB", "Carol.ZIP", "finder.zip", "named.zip"):
        assert (rows[name]["total"], rows[name]["error"]) == ("11", ""), name


def test_symbolic_links_are_reported_not_followed(graded):
    _, _, rows = graded
    for name in ("link.ipynb", "ziplink.zip"):
        assert rows[name]["total"] == "0" and "symbolic link: not followed" in rows[name]["error"], name


@pytest.mark.parametrize("option, value", [
    ("--cell-timeout", "-1"), ("--timeout", "0"), ("--case-timeout", "-5"), ("--timeout", "nan"),
    ("--cell-timeout", "inf"), ("--timeout", "soon"),
])
def test_an_invalid_limit_is_one_line_of_error(option, value):
    result = run_cli("01-gradient-descent", "x.ipynb", option, value)
    assert result.returncode == 2
    lines = result.stderr.decode().splitlines()
    assert len(lines) == 1 and f"argument {option}" in lines[0], lines


@pytest.mark.parametrize("target, why", [("missing-folder/scores.csv", "no such folder"), (".", "is a folder")])
def test_csv_is_checked_before_grading(tmp_path, target, why):
    result = run_cli("01-gradient-descent", ROOT / "exercises/01-gradient-descent/01-gradient-descent.ipynb",
                     "--csv", tmp_path / target)
    assert result.returncode == 2
    assert why in result.stderr.decode() and b"graded" not in result.stderr
    assert b"Traceback" not in result.stderr


def test_the_student_notebook_is_not_a_master():
    result = run_cli(ROOT / "exercises/01-gradient-descent/01-gradient-descent.ipynb", "x.ipynb")
    assert result.returncode == 2 and "not a master notebook" in result.stderr.decode()


def test_a_missing_submission_is_an_error_row_and_a_failure(tmp_path):
    require_jail()
    ex = exercise("01-gradient-descent")
    present = submission(ex, tmp_path, "present")
    out = tmp_path / "scores.csv"
    result = run_cli("01-gradient-descent", present, tmp_path / "absent.ipynb", "--csv", out)
    assert result.returncode == 1
    assert "no such submission" in result.stderr.decode()
    rows = {Path(r["submission"]).name: r for r in csv.DictReader(out.open())}
    assert rows["present.ipynb"]["total"] == "11"
    assert rows["absent.ipynb"]["total"] == "0" and "could not read" in rows["absent.ipynb"]["error"]


def test_the_json_hides_expected_values_unless_for_the_instructor(tmp_path):
    require_jail()
    ex = exercise("01-gradient-descent")
    wrong = submission(ex, tmp_path, "wrong", replace={
        "divergence_threshold": "def divergence_threshold(H):\n    return 837.0\n"})
    student, instructor = (json.loads(run_cli("01-gradient-descent", wrong, "--json", *extra).stdout)[0]
                           for extra in ((), ("--instructor",)))
    q2 = [c for c in ex.cases if c.question == "q2"]
    assert q2
    student.pop("seconds"), instructor.pop("seconds")
    for case in q2:
        # the oracle: spd_matrix(eigenvalues, seed) has those eigenvalues, so 2/λmax is expected
        eigenvalues = ast.literal_eval(re.search(r"\[[^\]]*\]", case.source).group(0))
        expected = 2 / max(eigenvalues)
        told = {c["id"]: c for c in instructor["cases"]}[case.id]["message"]
        safe = {c["id"]: c for c in student["cases"]}[case.id]
        assert f"expected {expected:.6g}" in told  # the instructor sees the value …
        assert not re.search(rf"(?<![\d.]){re.escape(f'{expected:.6g}')}(?!\d)", json.dumps(student))
        assert "837" in safe["message"]  # … the student sees only the answer it gave
