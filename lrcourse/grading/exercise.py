"""An exercise set: its master notebook (otter-assign format) read as questions and test cases.

Layout of one set, ``exercises/NN-name/``::

    source/NN-name.ipynb   the master: solutions and hidden tests (keep private when graded)
    NN-name.ipynb          the student version, generated from the master

The master follows otter assign's format (raw cells ``# BEGIN QUESTION`` with ``name:``,
``# BEGIN SOLUTION``, ``# BEGIN TESTS`` …). Public tests are assertions with feedback for the
learner (``grader.check``) and carry no points. A hidden test is one call of a notebook
function, e.g. ``gd_step(theta0, grad0, 0.1)``, under an otter test config::

    \"\"\" # BEGIN TEST CONFIG
    hidden: true
    points: 1
    rtol: 1e-6      # optional, also atol: the tolerances of the comparison
    \"\"\" # END TEST CONFIG
    gd_step(np.array([3.0, -1.0]), np.array([2.0, 2.0]), 0.25)

The grader evaluates the call's arguments in the master's namespace (they may use any helper
of the notebook), passes them as plain data to the submission's process, and compares the
answer with the master's in its own process.
"""
from __future__ import annotations

import ast
import io
import json
import os
import re
import stat
import zipfile
from dataclasses import dataclass, field
from pathlib import Path

import yaml

MAX_NOTEBOOK_BYTES = 50 << 20
BOUNDARY = re.compile(r"#\s+(begin|end)\s+(question|solution|tests|prompt)\b", re.I)
CONFIG_CELL = re.compile(r"#\s+assignment\s+config\b", re.I)
TEST_CONFIG_BEGIN = re.compile(r'(?:.\s*=\s*)?""?"?\s*#\s*BEGIN\s*TEST\s*CONFIG', re.I)
TEST_CONFIG_END = re.compile(r'""?"?\s*#\s*END\s*TEST\s*CONFIG', re.I)
CAPTURE = "__lrcourse_capture__"
DEFAULT_RTOL, DEFAULT_ATOL = 1e-6, 1e-9


@dataclass
class Case:
    """One hidden test: a call of ``func`` worth ``points``, compared with tolerances."""

    id: str
    question: str
    func: str
    call: str          # the call with the function replaced by the argument capture
    source: str        # the call as written in the master
    points: float
    rtol: float = DEFAULT_RTOL
    atol: float = DEFAULT_ATOL


@dataclass
class Exercise:
    name: str
    folder: Path
    master: Path
    questions: dict = field(default_factory=dict)       # name -> [Case]
    reference_cells: list = field(default_factory=list)  # [(index, source)]: the master minus tests
    solutions: list = field(default_factory=list)        # solution code, line by line

    @property
    def student(self) -> Path:
        return self.folder / f"{self.name}.ipynb"

    @property
    def cases(self) -> list[Case]:
        return [c for cases in self.questions.values() for c in cases]

    @property
    def possible(self) -> float:
        return sum(c.points for c in self.cases)


def source_of(cell: dict) -> str:
    src = cell.get("source", "")
    if isinstance(src, list):
        src = "".join(s for s in src if isinstance(s, str))
    return src if isinstance(src, str) else ""


def notebook_entry(name: str) -> bool:
    """Whether a path inside a submission (a zip entry, a file in a folder) is a notebook to
    grade: ``*.ipynb`` in any case, not macOS Finder's ``__MACOSX/`` or ``._*`` copies, not in
    Jupyter's ``.ipynb_checkpoints/``."""
    parts = name.replace("\\", "/").split("/")
    base, folders = parts[-1], parts[:-1]
    return (base.lower().endswith(".ipynb") and not base.startswith("._")
            and "__MACOSX" not in folders and ".ipynb_checkpoints" not in folders)


def _is_symlink_entry(info: zipfile.ZipInfo) -> bool:
    return info.create_system == 3 and stat.S_ISLNK(info.external_attr >> 16)


def read_notebook(path: Path, follow_symlinks: bool = True) -> dict:
    """A notebook as JSON: an ``.ipynb``, or a ``.zip`` (e.g. otter's export) holding one.

    With ``follow_symlinks=False`` (a submission) a symbolic link is refused, not read; a zip
    entry that is a symbolic link is never read as a notebook.
    """
    path = Path(path)
    flags = os.O_RDONLY | (0 if follow_symlinks else os.O_NOFOLLOW)
    try:
        fd = os.open(path, flags)
    except OSError as e:
        if not follow_symlinks and path.is_symlink():
            raise ValueError(f"{path.name} is a symbolic link: not followed") from None
        raise
    with os.fdopen(fd, "rb") as f:
        if os.fstat(f.fileno()).st_size > MAX_NOTEBOOK_BYTES:
            raise ValueError(f"{path.name} is larger than {MAX_NOTEBOOK_BYTES >> 20} MB")
        data = f.read(MAX_NOTEBOOK_BYTES + 1)
    if path.suffix.lower() == ".zip":
        with zipfile.ZipFile(io.BytesIO(data)) as z:
            entries = [i for i in z.infolist() if not i.is_dir() and notebook_entry(i.filename)]
            links = [i for i in entries if _is_symlink_entry(i)]
            if links:
                raise ValueError(f"{path.name}: {links[0].filename} is a symbolic link: not followed")
            if len(entries) != 1:
                raise ValueError(f"{path.name} holds {len(entries)} notebooks, expected one")
            if entries[0].file_size > MAX_NOTEBOOK_BYTES:
                raise ValueError(f"the notebook in {path.name} is too large")
            with z.open(entries[0]) as f:
                data = f.read(MAX_NOTEBOOK_BYTES + 1)
    nb = json.loads(data)
    if not isinstance(nb, dict) or not isinstance(nb.get("cells"), list):
        raise ValueError(f"{path.name} is not a notebook (no list of cells)")
    return nb


def code_cells(nb: dict) -> list[tuple[int, str]]:
    """The code cells as (position in the notebook counting every cell from 1, source)."""
    return [(i, source_of(c)) for i, c in enumerate(nb["cells"], start=1)
            if isinstance(c, dict) and c.get("cell_type") == "code" and source_of(c).strip()]


def _test_config(lines: list[str]) -> tuple[dict, list[str]]:
    if lines and TEST_CONFIG_BEGIN.match(lines[0]):
        for i, line in enumerate(lines):
            if TEST_CONFIG_END.match(line):
                return yaml.safe_load("\n".join(lines[1:i])) or {}, lines[i + 1:]
    return {}, lines


def _hidden_case(question: str, n: int, config: dict, body: str, where: str) -> Case:
    try:
        tree = ast.parse(body.strip(), mode="eval")
    except SyntaxError as e:
        raise ValueError(f"{where}: a hidden test must be one call, like f(x): {e}") from None
    call = tree.body
    if not (isinstance(call, ast.Call) and isinstance(call.func, ast.Name)):
        raise ValueError(f"{where}: a hidden test must be one call of a notebook function, like f(x)")
    capture = ast.Call(func=ast.Name(CAPTURE, ast.Load()), args=call.args, keywords=call.keywords)
    return Case(id=f"{question}.{n}", question=question, func=call.func.id,
                call=ast.unparse(capture), source=body.strip(),
                points=float(config.get("points", 1)),
                rtol=float(config.get("rtol", DEFAULT_RTOL)), atol=float(config.get("atol", DEFAULT_ATOL)))


def _solution_lines(source: str) -> list[str]:
    out, inside = [], False
    for line in source.splitlines():
        s = line.strip()
        if re.match(r"#\s*BEGIN SOLUTION", s, re.I):
            inside = True
        elif re.match(r"#\s*END SOLUTION", s, re.I):
            inside = False
        elif inside or re.search(r"#\s*SOLUTION\s*$", s):
            out.append(re.sub(r"#\s*SOLUTION\s*$", "", s).strip())
    return [s for s in out if s and not s.startswith("#")]


def parse_master(path: Path, name: str | None = None) -> Exercise:
    path = Path(path)
    nb = read_notebook(path)
    folder = path.parent.parent if path.parent.name == "source" else path.parent
    ex = Exercise(name=name or path.stem, folder=folder, master=path)
    blocks, question = [], None
    for i, cell in enumerate(nb["cells"], start=1):
        src, kind = source_of(cell), cell.get("cell_type")
        first = src.lstrip().split("\n", 1)[0]
        if kind == "raw" and CONFIG_CELL.match(first):
            continue
        m = BOUNDARY.match(first) if kind == "raw" else None
        if m:
            what, block = m.group(1).lower(), m.group(2).lower()
            if what == "begin":
                blocks.append(block)
                if block == "question":
                    question = (yaml.safe_load(src.split("\n", 1)[1] if "\n" in src else "") or {})["name"]
                    ex.questions[question] = []
            elif blocks and blocks[-1] == block:
                blocks.pop()
            else:
                raise ValueError(f"{path.name}, cell {i}: '{first}' does not close an open block")
            continue
        if kind != "code":
            continue
        if "tests" in blocks:
            config, body = _test_config(src.splitlines())
            hidden = config.get("hidden", bool(re.match(r"\s*#.*\bhidden\b", src, re.I)))
            if hidden:
                cases = ex.questions[question]
                cases.append(_hidden_case(question, len(cases) + 1, config, "\n".join(body),
                                          f"{path.name}, cell {i}"))
            continue
        if "solution" in blocks:
            ex.solutions += _solution_lines(src)
        ex.reference_cells.append((i, src))
    if blocks:
        raise ValueError(f"{path.name}: block(s) {blocks} not closed")
    return ex


def exercises_root(root: Path | None = None) -> Path:
    """Where exercise sets live: ``root``, else ./exercises, else the repository's exercises/."""
    if root is not None:
        return Path(root)
    here = Path.cwd() / "exercises"
    return here if here.is_dir() else Path(__file__).resolve().parents[2] / "exercises"


def list_exercises(root: Path | None = None) -> list[str]:
    base = exercises_root(root)
    return sorted(p.name for p in base.iterdir() if (p / "source" / f"{p.name}.ipynb").is_file()) \
        if base.is_dir() else []


def find_exercise(name_or_path: str | Path, root: Path | None = None) -> Exercise:
    """An exercise set by name (``01-gradient-descent``), folder, or master notebook path."""
    p = Path(name_or_path)
    if p.is_file() and p.suffix.lower() == ".ipynb":
        return _require_hidden_tests(parse_master(p))
    folder = p if p.is_dir() else exercises_root(root) / str(name_or_path)
    master = folder / "source" / f"{folder.name}.ipynb"
    if not master.is_file():
        known = ", ".join(list_exercises(root)) or "none found"
        raise FileNotFoundError(f"no exercise set {str(name_or_path)!r} (expected {master}); "
                                f"known sets: {known}")
    return _require_hidden_tests(parse_master(master, folder.name))


def _require_hidden_tests(ex: Exercise) -> Exercise:
    """An exercise to grade with must be a master: one with hidden tests (a student notebook
    has none, and would grade everyone 0 of 0)."""
    if not ex.cases:
        raise ValueError(f"{ex.master} has no hidden tests: it is not a master notebook (give the "
                         f"set's name or folder, or its source/NAME.ipynb)")
    return ex
