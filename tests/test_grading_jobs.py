"""``lrcourse-grade … --jobs N``: the same grades as one job, and nothing left behind when stopped."""
import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from test_grading_helpers import ROOT, exercise, first_code_position, require_jail, submission

CLI = [sys.executable, "-m", "lrcourse.grading.cli"]
WRONG = {"gd_step": "def gd_step(theta, grad, eta):\n    return theta + eta * grad\n",
         "best_fixed_step": "def best_fixed_step(H):\n    return 1.0\n"}


@pytest.fixture(scope="module")
def folder(tmp_path_factory):
    require_jail()
    ex = exercise("01-gradient-descent")
    d = tmp_path_factory.mktemp("class")
    at = first_code_position(ex)
    submission(ex, d, "alice")                                           # all right
    submission(ex, d, "bob", replace=WRONG)                              # two answers wrong
    submission(ex, d, "carol", solved=False)                             # blank
    submission(ex, d, "dave", insert=[(at, "while True:\n    pass")])    # hangs in one cell
    submission(ex, d, "erin", insert=[(at, "import os\nos._exit(3)")])   # kills its process
    submission(ex, d, "frank", insert=[(at, "print('hello ' * 3)\n1 / 0")])  # prints, raises
    (d / "gina.ipynb").write_text("not a notebook")
    shutil.make_archive(str(d / "hana"), "zip", d, "bob.ipynb")          # a zip
    return d


def grade_json(folder, *extra):
    result = subprocess.run(CLI + ["01-gradient-descent", str(folder), "--json", "--cell-timeout", "4",
                                   *extra], capture_output=True, text=True, cwd=ROOT, timeout=900)
    assert result.returncode == 0, result.stderr
    grades = json.loads(result.stdout)
    for g in grades:
        g.pop("seconds")  # the only field that may differ
    return grades, result.stderr


@pytest.mark.slow
def test_jobs_2_and_3_give_exactly_the_grades_of_jobs_1(folder, tmp_path):
    one, _ = grade_json(folder, "--jobs", "1", "--grades", str(tmp_path / "g1.csv"))
    two, log = grade_json(folder, "--jobs", "2", "--grades", str(tmp_path / "g2.csv"))
    three, _ = grade_json(folder, "-j", "3")
    names = [Path(g["submission"]).stem for g in one]
    assert names == ["alice", "bob", "carol", "dave", "erin", "frank", "gina", "hana"]
    totals = dict(zip(names, (g["total"] for g in one)))
    full = one[0]["possible"]
    assert full > 0 and [totals[n] for n in ("alice", "dave", "erin", "frank")] == [full] * 4
    assert totals["carol"] == totals["gina"] == 0 and 0 < totals["bob"] == totals["hana"] < full
    assert two == one and three == one  # every field: cases, messages, errors, output, sandbox
    assert (tmp_path / "g2.csv").read_bytes() == (tmp_path / "g1.csv").read_bytes()
    assert log.count("graded ") == len(one)  # a progress line per submission


def test_jobs_must_be_a_positive_whole_number():
    for bad in ("0", "-2", "two", "1.5"):
        result = subprocess.run(CLI + ["01-gradient-descent", "x.ipynb", "--jobs", bad],
                                capture_output=True, text=True, cwd=ROOT, timeout=60)
        last = result.stderr.strip().splitlines()[-1]
        assert result.returncode == 2 and last.startswith("lrcourse-grade: error: argument --jobs"), bad
        assert "Traceback" not in result.stderr


def _stat(pid: int):
    """(parent pid, start time) of a live process, or None."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        return int(fields[1]), int(fields[19])
    except (OSError, IndexError, ValueError):
        return None


def _descendants(root: int) -> dict:
    """{pid: start time} of every live process below ``root`` (workers, unshare, jails)."""
    table = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit() and (st := _stat(int(entry.name))):
            table[int(entry.name)] = st
    found, todo = {}, [root]
    while todo:
        parent = todo.pop()
        for pid, (ppid, started) in table.items():
            if ppid == parent and pid not in found:
                found[pid] = started
                todo.append(pid)
    return found


def _jails(pids) -> int:
    n = 0
    for pid in pids:
        try:
            n += b"child.py" in Path(f"/proc/{pid}/cmdline").read_bytes()
        except OSError:
            pass
    return n


def _alive(seen: dict) -> list[int]:
    """Those of ``seen`` still running (same pid and same start time: not a reused pid)."""
    return [pid for pid, started in seen.items() if (st := _stat(pid)) and st[1] == started]


@pytest.mark.slow
@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM, signal.SIGHUP, signal.SIGKILL])
def test_stopping_a_parallel_grading_leaves_no_jail_and_no_folder(tmp_path, sig):
    require_jail()
    ex = exercise("01-gradient-descent")
    subs, tmp = tmp_path / "subs", tmp_path / "tmp"
    subs.mkdir()
    tmp.mkdir()
    at = first_code_position(ex)
    for name in ("a", "b", "c"):
        submission(ex, subs, name, insert=[(at, "while True:\n    pass")])
    proc = subprocess.Popen(CLI + ["01-gradient-descent", str(subs), "--jobs", "2", "--cell-timeout", "60"],
                            cwd=ROOT, env={**os.environ, "TMPDIR": str(tmp)}, stdout=subprocess.DEVNULL,
                            stderr=(tmp_path / "stderr").open("wb"))
    seen = {}
    try:
        deadline = time.monotonic() + 120
        while True:  # until two jails run at once, each under its own worker
            below = _descendants(proc.pid)
            seen.update(below)
            if _jails(below) >= 2:
                break
            assert proc.poll() is None and time.monotonic() < deadline, "the two jails never started"
            time.sleep(0.2)
        time.sleep(1.0)
        seen.update(_descendants(proc.pid))
        proc.send_signal(sig)
        proc.wait(timeout=60)
        deadline = time.monotonic() + 30
        while _alive(seen) and time.monotonic() < deadline:
            time.sleep(0.2)
        log = (tmp_path / "stderr").read_text(errors="replace")[-3000:]
        assert _alive(seen) == [], f"processes of the stopped grading are still running\n{log}"
        assert list(tmp.iterdir()) == [], f"folders were left behind\n{log}"
        groups = [g for pid in seen for g in Path("/sys/fs/cgroup").rglob(f"lrcourse-grade-{pid}-*")]
        assert groups == [], f"cgroups were left behind\n{log}"
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
