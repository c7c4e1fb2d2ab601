"""``lrcourse-grade`` end to end: a folder of submissions in, a table, CSV and JSON out."""
import csv
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from test_grading_helpers import ROOT, exercise, first_code_position, require_jail, submission

pytestmark = pytest.mark.slow

CLI = [sys.executable, "-m", "lrcourse.grading.cli"]


@pytest.fixture(scope="module")
def folder(tmp_path_factory):
    require_jail()
    ex = exercise("01-gradient-descent")
    d = tmp_path_factory.mktemp("submissions")
    at = first_code_position(ex)
    submission(ex, d, "alice")                                      # all right
    submission(ex, d, "bob", insert=[(at, "while True:\n    pass")])  # hangs in one cell
    submission(ex, d, "carol", solved=False)                        # blank
    (d / "dave.ipynb").write_text("this is not a notebook")
    (d / "frank.ipynb").write_text("[" * 200_000)                   # nested too deep to parse
    (d / "gina.zip").write_bytes(b"PK\x03\x04 not really a zip")
    shutil.make_archive(str(d / "erin"), "zip", d, "alice.ipynb")   # otter export style zip
    return d, at + 1


def run_cli(*args, cwd=ROOT):
    return subprocess.run(CLI + list(args), capture_output=True, text=True, cwd=cwd, timeout=600)


def test_csv_and_table(folder, tmp_path):
    d, _ = folder
    out = tmp_path / "scores.csv"
    result = run_cli("01-gradient-descent", str(d), "--csv", str(out), "--cell-timeout", "2")
    assert result.returncode == 0, result.stderr
    rows = {Path(r["submission"]).stem: r for r in csv.DictReader(out.open())}
    assert sorted(rows) == ["alice", "bob", "carol", "dave", "erin", "frank", "gina"]
    assert list(rows["alice"]) == ["submission", "q1", "q2", "q3", "q4", "total", "possible", "error"]
    assert (rows["alice"]["total"], rows["alice"]["possible"], rows["alice"]["q4"]) == ("11", "11", "4")
    assert rows["erin"]["total"] == "11"
    assert rows["bob"]["total"] == "11" and "timed out in cell" in rows["bob"]["error"]
    assert rows["carol"]["total"] == "0"
    for bad in ("dave", "frank", "gina"):
        assert rows[bad]["total"] == "0" and "could not read" in rows[bad]["error"], bad
    table = result.stdout.splitlines()
    assert table[0].split()[:6] == ["submission", "q1", "q2", "q3", "q4", "total"]
    assert any("alice.ipynb" in line and "11/11" in line for line in table)


def test_json_from_a_folder_path_and_files(folder):
    d, cell = folder
    result = run_cli(str(ROOT / "exercises" / "01-gradient-descent"), str(d / "bob.ipynb"),
                     str(d / "carol.ipynb"), "--json", "--cell-timeout", "2", cwd=d)
    assert result.returncode == 0, result.stderr
    bob, carol = json.loads(result.stdout)
    assert (bob["total"], bob["possible"]) == (11, 11)
    assert bob["error"].startswith(f"timed out in cell {cell}")
    assert bob["questions"]["q4"] == {"score": 4, "possible": 4}
    assert carol["total"] == 0 and carol["error"] is None
    assert {c["id"] for c in carol["cases"]} == {c.id for c in exercise("01-gradient-descent").cases}
    assert all("NotImplementedError" in c["message"] for c in carol["cases"])


def test_unknown_exercise_and_listing():
    bad = run_cli("99-nothing", "x.ipynb")
    assert bad.returncode == 2 and "no exercise set '99-nothing'" in bad.stderr
    listing = run_cli("--list")
    folders = sorted(p.name for p in (ROOT / "exercises").iterdir() if (p / "source").is_dir())
    assert listing.stdout.split() == folders and len(folders) >= 16


def test_generate_check_reports_up_to_date():
    result = run_cli("--generate", "04-schedules", "--check")
    assert result.returncode == 0, result.stdout + result.stderr
    assert "04-schedules: up to date" in result.stdout


def test_console_script_is_installed():
    script = Path(sys.executable).with_name("lrcourse-grade")
    if not script.exists():
        message = "lrcourse-grade is not installed: run `make setup` (pip install -e .)"
        if os.environ.get("CI"):
            pytest.fail(message)
        pytest.skip(message)
    result = subprocess.run([str(script), "--list"], capture_output=True, text=True, cwd=ROOT)
    assert "01-gradient-descent" in result.stdout
