"""Grading throughput: submissions per minute with ``lrcourse-grade --jobs 1`` and ``--jobs 2``.

Makes COUNT submissions of a set (default 100 of ``01-gradient-descent``) from its own
material — the student notebook with the master's solutions filled in (6 in 10), left blank
(2 in 10), with one answer wrong (1 in 10), or solved with an extra cell that prints (1 in 10),
each with a line of its own so that no two files are equal — then grades the whole folder with
the real command, once per job count, each submission in its own jail, and prints the
wall-clock time of the command (start-up and the master's run included) and submissions per
minute side by side, with the CPU time per submission (grader, workers and jails: steadier
than the wall clock on a shared machine). It also checks that every job count gave the same grades.

    python benchmarks/grading.py [--count 100] [--set 01-gradient-descent] [--jobs 1,2]

Run it on a quiet machine: the jail's start-up is most of a submission's time, and two jobs
can only be twice as fast as one with two cores free.
"""
from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
ANSWER_TAG = "otter_answer_cell"
WRONG_GD_STEP = "def gd_step(theta, grad, eta):\n    return theta + eta * grad\n"


def _source(cell) -> str:
    src = cell.get("source", "")
    return "".join(src) if isinstance(src, list) else src


def _defined(source: str) -> list[str]:
    import ast
    try:
        return [n.name for n in ast.parse(source).body if isinstance(n, ast.FunctionDef)]
    except SyntaxError:
        return []


def solutions(master: Path) -> dict:
    """The master's solution code cells, by the function each defines."""
    out, inside = {}, False
    for cell in json.loads(master.read_text())["cells"]:
        src = _source(cell).strip().lower()
        if cell["cell_type"] == "raw" and src.startswith("# begin solution"):
            inside = True
        elif cell["cell_type"] == "raw" and src.startswith("# end solution"):
            inside = False
        elif inside and cell["cell_type"] == "code":
            for name in _defined(_source(cell)):
                out[name] = _source(cell)
    return out


def make_submissions(set_dir: Path, folder: Path, count: int) -> None:
    name = set_dir.name
    student = json.loads((set_dir / f"{name}.ipynb").read_text())
    sols = solutions(set_dir / "source" / f"{name}.ipynb")
    for i in range(count):
        kind = i % 10
        nb = json.loads(json.dumps(student))
        for cell in nb["cells"]:
            if ANSWER_TAG not in cell.get("metadata", {}).get("tags", []):
                continue
            for func in _defined(_source(cell)):
                if kind in (6, 7):
                    continue  # blank: the stub stays
                cell["source"] = sols[func]
                if kind == 8 and func == "gd_step":
                    cell["source"] = WRONG_GD_STEP
        extra = f"# submission {i}\nprint('student {i} was here')" if kind == 9 else f"# submission {i}"
        nb["cells"].append({"cell_type": "code", "execution_count": None, "id": f"extra{i}",
                            "metadata": {}, "outputs": [], "source": extra})
        (folder / f"student{i:03d}.ipynb").write_text(json.dumps(nb))


def _children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)  # every waited-for descendant
    return usage.ru_utime + usage.ru_stime


def grade(set_name: str, folder: Path, jobs: int) -> tuple[float, list, float]:
    cmd = [sys.executable, "-m", "lrcourse.grading.cli", set_name, str(folder), "--json",
           "--jobs", str(jobs)]
    cpu, start = _children_cpu(), time.perf_counter()
    result = subprocess.run(cmd, capture_output=True, text=True, cwd=ROOT)
    seconds, cpu = time.perf_counter() - start, _children_cpu() - cpu
    if result.returncode != 0:
        sys.exit(f"lrcourse-grade failed:\n{result.stderr[-2000:]}")
    grades = json.loads(result.stdout)
    for g in grades:
        g.pop("seconds")
    return seconds, grades, cpu


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--count", type=int, default=100, help="submissions to grade (default 100)")
    parser.add_argument("--set", default="01-gradient-descent", help="exercise set (default 01-gradient-descent)")
    parser.add_argument("--jobs", default="1,2", help="comma-separated job counts (default 1,2)")
    args = parser.parse_args()
    jobs = [int(j) for j in args.jobs.split(",")]
    with tempfile.TemporaryDirectory(prefix="lrcourse-bench-") as tmp:
        set_dir = Path(tmp) / args.set  # a snapshot: every run grades against the same master
        shutil.copytree(ROOT / "exercises" / args.set, set_dir)
        folder = Path(tmp) / "submissions"
        folder.mkdir()
        make_submissions(set_dir, folder, args.count)
        runs = {j: grade(str(set_dir), folder, j) for j in jobs}
    first = runs[jobs[0]][1]
    same = all(g == first for _, g, _ in runs.values())
    totals = sorted({g["total"] for g in first})
    print(f"{args.count} submissions of {args.set} (totals seen: {totals}); "
          f"{os.cpu_count()} CPUs; load average {os.getloadavg()[0]:.2f}")
    print(f"{'jobs':>4}  {'wall s':>8}  {'subs/min':>9}  {'speed-up':>8}  {'CPU s/sub':>9}")
    base = runs[jobs[0]][0]
    for j in jobs:
        seconds, _, cpu = runs[j]
        print(f"{j:>4}  {seconds:8.1f}  {args.count / seconds * 60:9.1f}  {base / seconds:7.2f}×"
              f"  {cpu / args.count:9.2f}")
    print("grades identical across job counts: " + ("yes" if same else "NO"))
    if not same:
        for j in jobs[1:]:
            for a, b in zip(first, runs[j][1]):
                for key in sorted(set(a) | set(b)):
                    if a.get(key) != b.get(key):
                        print(f"  {Path(a['submission']).name} {key}: jobs {jobs[0]}: "
                              f"{str(a.get(key))[:200]!r} / jobs {j}: {str(b.get(key))[:200]!r}")
        sys.exit(1)


if __name__ == "__main__":
    main()
