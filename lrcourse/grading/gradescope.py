"""A Gradescope autograder for an exercise set: ``lrcourse-grade --gradescope SET OUT.zip``.

The zip follows Gradescope's autograder specification
(https://gradescope-autograders.readthedocs.io/en/latest/specs/, "Autograder Specifications":
``setup.sh`` and ``run_autograder`` at the root of the zip; the zip is unpacked into
``/autograder/source``; the student's files arrive in ``/autograder/submission``;
``run_autograder`` runs from ``/autograder`` and must leave ``/autograder/results/results.json``;
only that file's ``output`` fields, not stdout, are shown to students). It holds:

``setup.sh``          run once by Gradescope, as root, on its Ubuntu image: installs Python,
                      pip and ``unshare`` (util-linux), then ``requirements.txt``;
``run_autograder``    grades the submission with ``lrcourse-grade`` (in its jail) and writes
                      ``results.json`` (:func:`run`);
``requirements.txt``  what the grader and the master import, pinned to the versions installed
                      where the zip was made;
``lrcourse/grading/`` the grader (it imports nothing else from lrcourse; the zip's
                      ``lrcourse/__init__.py`` is empty);
``exercises/SET/``    the master (solutions and hidden tests: Gradescope never shows the
                      autograder's files to students) and the student notebook;
``lrcourse-autograder.json``  the set, limits and visibility chosen when the zip was made.

``results.json`` (same specification, "Output format"): a total ``score``, ``execution_time``,
an ``output`` for the whole submission (its score per question and what went wrong running the
notebook), and ``tests``: one entry per hidden test with ``name``, ``score``, ``max_score``,
``status`` (``passed``/``failed``), ``output`` and ``visibility`` (one of ``visible``,
``hidden``, ``after_due_date``, ``after_published``; default ``after_due_date`` so that a
student cannot probe the hidden tests by resubmitting). A test's ``output`` says what the
student may know — the call and why it failed from the submission's side — never the expected
value (:attr:`lrcourse.grading.scoring.CaseResult.feedback`).

When the grader itself cannot grade (no jail in the container, a master that fails), no
``results.json`` is written and ``run_autograder`` exits 1: Gradescope then reports an
autograder failure to the instructor instead of recording a 0 for the student.

The autograder root is ``$LRCOURSE_AUTOGRADER_ROOT`` if set (the tests use a temporary tree),
else ``/autograder``; the Python that runs the grader is ``$LRCOURSE_AUTOGRADER_PYTHON``, else
``python3``.
"""
from __future__ import annotations

import argparse
import ast
import importlib.metadata
import json
import os
import subprocess
import sys
import tempfile
import time
import zipfile
from pathlib import Path

from .exercise import Exercise, code_cells, find_exercise, read_notebook
from .printable import printable
from .runner import Limits

CONFIG = "lrcourse-autograder.json"
VISIBILITIES = ("visible", "hidden", "after_due_date", "after_published")
GRADER_NEEDS = ("numpy", "pyyaml", "ipython", "traitlets")  # the grader and its child process
ZIP_TIME = (2020, 1, 1, 0, 0, 0)  # fixed entry dates: the same inputs give the same zip bytes

SETUP_SH = """#!/usr/bin/env bash
# Gradescope runs this once, as root, when it builds the autograder image (Ubuntu).
set -euo pipefail
apt-get install -y python3 python3-pip util-linux
cd /autograder/source
python3 -m pip install --break-system-packages -r requirements.txt \\
    || python3 -m pip install -r requirements.txt  # pip before 23 has no --break-system-packages
"""

RUN_AUTOGRADER = """#!/usr/bin/env bash
# Gradescope runs this for every submission: grade /autograder/submission with lrcourse-grade
# and write /autograder/results/results.json (made by lrcourse-grade --gradescope).
set -u
ROOT="${LRCOURSE_AUTOGRADER_ROOT:-/autograder}"
PYTHON="${LRCOURSE_AUTOGRADER_PYTHON:-python3}"
mkdir -p "$ROOT/results"
cd "$ROOT"
export PYTHONPATH="$ROOT/source"
exec "$PYTHON" -m lrcourse.grading.gradescope run "$ROOT"
"""

PACKAGE_INIT = '"""Only the grader, lrcourse.grading, packed into a Gradescope autograder."""\n'


def _imports(ex: Exercise) -> set[str]:
    """Top-level modules the master's code cells import (magics and shell lines left out)."""
    names = set()
    for _, src in code_cells(read_notebook(ex.master)):
        src = "\n".join(line for line in src.splitlines() if not line.lstrip().startswith(("%", "!")))
        try:
            tree = ast.parse(src)
        except SyntaxError:
            continue
        for node in ast.walk(tree):
            if isinstance(node, ast.Import):
                names |= {a.name.split(".")[0] for a in node.names}
            elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
                names.add(node.module.split(".")[0])
    return names - set(sys.stdlib_module_names) - {"otter"}


def requirements(ex: Exercise) -> list[str]:
    """``name==version`` for the grader's needs and the master's imports, as installed here."""
    dists = set(GRADER_NEEDS)
    by_module = importlib.metadata.packages_distributions()
    for module in _imports(ex):
        found = by_module.get(module)
        if not found:
            raise ValueError(f"the master imports {module!r}, which is not installed here: "
                             "install it (the autograder pins the versions found here)")
        dists |= {d.lower() for d in found}
    pins = []
    for name in sorted(dists, key=str.lower):
        try:
            pins.append(f"{name}=={importlib.metadata.version(name)}")
        except importlib.metadata.PackageNotFoundError:
            pins.append(name)
    return pins


def _add(z: zipfile.ZipFile, name: str, data: str | bytes, executable: bool = False) -> None:
    info = zipfile.ZipInfo(name, ZIP_TIME)
    info.external_attr = (0o100755 if executable else 0o100644) << 16
    info.compress_type = zipfile.ZIP_DEFLATED
    z.writestr(info, data)


def build(ex: Exercise, out: str | Path, limits: Limits | None = None,
          visibility: str = "after_due_date") -> Path:
    """Write the autograder zip for ``ex`` to ``out``."""
    limits = limits or Limits()
    if visibility not in VISIBILITIES:
        raise ValueError(f"visibility must be one of {', '.join(VISIBILITIES)}, not {visibility!r}")
    out = Path(out)
    if out.is_dir() or not out.parent.is_dir():
        raise ValueError(f"cannot write the autograder to {out}: "
                         + ("it is a folder" if out.is_dir() else f"no folder {out.parent}"))
    config = {"exercise": ex.name, "visibility": visibility, "sandbox": limits.sandbox is not False,
              "cell_timeout": limits.cell, "case_timeout": limits.case, "timeout": limits.total}
    here = Path(__file__).resolve().parent
    with zipfile.ZipFile(out, "w") as z:
        _add(z, "setup.sh", SETUP_SH, executable=True)
        _add(z, "run_autograder", RUN_AUTOGRADER, executable=True)
        _add(z, "requirements.txt", "\n".join(requirements(ex)) + "\n")
        _add(z, CONFIG, json.dumps(config, indent=1) + "\n")
        _add(z, "lrcourse/__init__.py", PACKAGE_INIT)
        for module in sorted(here.glob("*.py")):
            _add(z, f"lrcourse/grading/{module.name}", module.read_bytes())
        _add(z, f"exercises/{ex.name}/source/{ex.name}.ipynb", ex.master.read_bytes())
        if ex.student.is_file():
            _add(z, f"exercises/{ex.name}/{ex.name}.ipynb", ex.student.read_bytes())
    return out


# --- in the autograder: /autograder/submission → /autograder/results/results.json -------------

def pick_notebook(folder: Path, name: str) -> tuple[Path | None, str | None]:
    """The notebook to grade among the student's files, or (None, why not)."""
    found = []
    for p in sorted(folder.rglob("*")) if folder.is_dir() else []:
        rel = p.relative_to(folder).parts
        if (p.is_symlink() or not p.is_file() or "__MACOSX" in rel or ".ipynb_checkpoints" in rel
                or p.name.startswith("._")):
            continue
        if p.suffix.lower() == ".ipynb":
            found.append(p)
    if len(found) == 1:
        return found[0], None
    named = [p for p in found if p.name.lower() == f"{name}.ipynb".lower()]
    if len(named) == 1:
        return named[0], None
    if not found:
        return None, f"no notebook (.ipynb) was submitted: submit your {name}.ipynb"
    return None, (f"{len(found)} notebooks were submitted and none is named {name}.ipynb: "
                  f"submit only your {name}.ipynb")


def _test_entries(ex: Exercise, cases: list[dict], visibility: str, why_none: str | None) -> list:
    by_id = {c["id"]: c for c in cases}
    tests = []
    for c in ex.cases:
        got = by_id.get(c.id, {})
        score = float(got.get("score", 0.0))
        passed = score >= c.points
        source = printable(c.source, limit=200)
        if passed:
            output = "passed"
        else:
            reason = got.get("feedback", got.get("message")) or why_none or "did not earn its points"
            output = f"the test: {source}\nwhy it failed: {printable(reason, limit=400)}"
        tests.append({"name": f"{c.id}: {printable(c.source, limit=80)}", "score": score,
                      "max_score": float(c.points), "status": "passed" if passed else "failed",
                      "output": output, "output_format": "text", "visibility": visibility})
    return tests


def results(ex: Exercise, grade: dict | None, visibility: str, problem: str | None = None,
            seconds: float = 0.0) -> dict:
    """``results.json`` for one graded submission (``grade``: one object of ``--json``)."""
    if grade is None:
        tests = _test_entries(ex, [], visibility, problem)
        return {"score": 0.0, "execution_time": round(seconds), "output": printable(problem),
                "tests": tests}
    lines = [f"Score: {grade['total']:g} / {grade['possible']:g}"]
    lines += [f"{printable(q)}: {s['score']:g} / {s['possible']:g}"
              for q, s in grade["questions"].items()]
    if grade.get("errors"):
        lines += ["", "While running your notebook:"]
        lines += [f"- {printable(e, limit=400)}" for e in grade["errors"]]
    tests = _test_entries(ex, grade["cases"], visibility, None)
    return {"score": float(sum(t["score"] for t in tests)), "execution_time": round(seconds),
            "output": "\n".join(lines), "tests": tests}


def run(root: str | Path) -> int:
    """Grade ``root/submission`` with ``lrcourse-grade``; write ``root/results/results.json``."""
    start = time.monotonic()
    root = Path(root)
    config = json.loads((root / "source" / CONFIG).read_text())
    folder = root / "source" / "exercises" / config["exercise"]
    ex = find_exercise(folder)
    out = root / "results" / "results.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    notebook, problem = pick_notebook(root / "submission", ex.name)
    if notebook is None:
        print(f"not graded: {problem}")
        out.write_text(json.dumps(results(ex, None, config["visibility"], problem), indent=1))
        return 0
    cmd = [sys.executable, "-m", "lrcourse.grading.cli", str(folder), str(notebook), "--json",
           "--cell-timeout", str(config["cell_timeout"]), "--case-timeout", str(config["case_timeout"]),
           "--timeout", str(config["timeout"])]
    if not config["sandbox"]:
        cmd.append("--no-sandbox")
    with tempfile.TemporaryDirectory() as tmp:  # the grader's own scratch, not the submission's
        proc = subprocess.run(cmd, capture_output=True, text=True, cwd=tmp,
                              env={**os.environ, "PYTHONPATH": str(root / "source")})
    for line in proc.stderr.splitlines():  # the instructor's log (Gradescope's stdout)
        print(printable(line))
    try:
        grades = json.loads(proc.stdout) if proc.returncode == 0 else None
    except ValueError:
        grades = None
    if not grades or len(grades) != 1:
        print(f"lrcourse-grade failed (exit {proc.returncode}); no results.json written, so "
              "Gradescope reports an autograder failure rather than a score")
        return 1
    data = results(ex, grades[0], config["visibility"], seconds=time.monotonic() - start)
    out.write_text(json.dumps(data, indent=1))
    print(f"wrote {out}: {data['score']:g} / {grades[0]['possible']:g}")
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m lrcourse.grading.gradescope",
                                     description="run inside a Gradescope autograder")
    sub = parser.add_subparsers(dest="command", required=True)
    r = sub.add_parser("run", help="grade ROOT/submission, write ROOT/results/results.json")
    r.add_argument("root", nargs="?", default=os.environ.get("LRCOURSE_AUTOGRADER_ROOT", "/autograder"))
    args = parser.parse_args(argv)
    return run(args.root)


if __name__ == "__main__":
    sys.exit(main())
