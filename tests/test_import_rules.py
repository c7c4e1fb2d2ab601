"""The house's import rules (DESIGN.md, "Layout"), checked on the source by an AST scan.

Each rule is a function from the package's import graph to a list of violations, so the same
rules run on the real package and on small made-up packages that break them (the second half
of this file): a rule that could never fail would prove nothing.
"""
from __future__ import annotations

import ast
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1] / "lrcourse"
STDLIB = set(sys.stdlib_module_names)
DRAWING = {"matplotlib", "seaborn", "ipywidgets", "PIL"}


@dataclass(frozen=True)
class Import:
    module: str      # the importing module, dotted (lrcourse.toy.gd)
    target: str      # the imported module, dotted (lrcourse._checks, numpy)
    names: tuple     # names taken from it (from X import a, b)
    line: int


def module_name(path: Path, root: Path) -> str:
    parts = list(path.relative_to(root.parent).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def scan(root: Path) -> list[Import]:
    """Every import statement (top level and inside functions) of every module under root."""
    found = []
    for path in sorted(root.rglob("*.py")):
        mod = module_name(path, root)
        package = mod if path.name == "__init__.py" else mod.rpartition(".")[0]
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            if isinstance(node, ast.Import):
                found += [Import(mod, a.name, (), node.lineno) for a in node.names]
            elif isinstance(node, ast.ImportFrom):
                if node.level:
                    base = package.split(".")
                    base = base[: len(base) - node.level + 1]
                    target = ".".join(base + ([node.module] if node.module else []))
                else:
                    target = node.module
                names = tuple(a.name for a in node.names)
                if node.module is None or node.level and not node.module:
                    # from . import x / from lrcourse import x: each name may be a module
                    found += [Import(mod, f"{target}.{n}", (), node.lineno) for n in names]
                else:
                    found.append(Import(mod, target, names, node.lineno))
    return found


def part(module: str) -> str:
    """The room a module lives in: 'toy', 'viz', … or the top-level module's own name."""
    bits = module.split(".")
    return bits[1] if len(bits) > 1 else ""


def internal(imports, root_name="lrcourse"):
    return [i for i in imports if i.target == root_name or i.target.startswith(root_name + ".")]


# ---------------------------------------------------------------------------------------------
# the rules

def rule_base_modules_stand_alone(imports):
    """_checks and _runtime import nothing from lrcourse."""
    return [i for i in internal(imports) if part(i.module) in ("_checks", "_runtime")
            and i.target != i.module]


def rule_optim_needs_only_torch(imports):
    """optim/ imports only torch, the standard library, _checks and itself."""
    bad = []
    for i in imports:
        if part(i.module) != "optim":
            continue
        top = i.target.split(".")[0]
        if top == "lrcourse":
            if part(i.target) not in ("optim", "_checks"):
                bad.append(i)
        elif top not in STDLIB and top not in ("torch", "__future__"):
            bad.append(i)
    return bad


def rule_only_viz_draws(imports):
    """Nothing outside viz/ imports viz/ (sphinxext aside); nothing outside viz/ draws."""
    bad = []
    for i in imports:
        room = part(i.module)
        if room in ("viz", "sphinxext"):
            if room == "sphinxext" and i.target.split(".")[0] in DRAWING:
                bad.append(i)
            continue
        if part(i.target) == "viz" and i.target.startswith("lrcourse."):
            bad.append(i)
        if i.target.split(".")[0] in DRAWING:
            bad.append(i)
    return bad


FORBIDDEN = {
    "viz": {"training", "choosing", "search"},
    "toy": {"training", "choosing", "search"},
    "scratch": {"training", "choosing", "search"},
    "training": {"choosing", "search"},
    "schedules": {"training"},
}


def rule_rooms_point_one_way(imports):
    """toy/, scratch/ → nothing of training/choosing/search; training/ → nothing of
    choosing/search; schedules/ → nothing of training/; viz/ → nothing of the three."""
    return [i for i in internal(imports) if part(i.target) in FORBIDDEN.get(part(i.module), ())]


def rule_grading_stands_apart(imports):
    """grading/ imports nothing else from lrcourse, and nothing imports grading/."""
    bad = []
    for i in internal(imports):
        inside, target = part(i.module) == "grading", part(i.target) == "grading"
        if inside and not target and i.target != "lrcourse":
            bad.append(i)
        if target and not inside and i.module != "lrcourse":
            bad.append(i)
    return bad


def rule_no_private_name_crosses_a_room(imports):
    """No name starting with _ is imported from another room (a module of the same room may)."""
    bad = []
    for i in internal(imports):
        if part(i.module) == part(i.target):
            continue
        if any(n.startswith("_") and not n.startswith("__") and n not in ("_checks", "_runtime")
               for n in i.names):
            bad.append(i)
        if any(b.startswith("_") and b not in ("_checks", "_runtime")
               for b in i.target.split(".")[1:]):
            bad.append(i)
    return bad


def rule_no_cycles(imports):
    """The graph of lrcourse modules importing lrcourse modules has no cycle."""
    modules = {i.module for i in imports}
    graph: dict[str, set[str]] = {}
    for i in internal(imports):
        targets = [i.target] + [f"{i.target}.{n}" for n in i.names]
        for t in targets:
            if t in modules and t != i.module and t != "lrcourse" and i.module != "lrcourse":
                graph.setdefault(i.module, set()).add(t)
    bad, state = [], {}

    def visit(node, stack):
        state[node] = "open"
        for nxt in sorted(graph.get(node, ())):
            if state.get(nxt) == "open":
                cycle = stack[stack.index(nxt):] + [nxt] if nxt in stack else [node, nxt]
                bad.append(Import(node, " → ".join(cycle), (), 0))
            elif nxt not in state:
                visit(nxt, stack + [nxt])
        state[node] = "done"

    for node in sorted(graph):
        if node not in state:
            visit(node, [node])
    return bad


RULES = [rule_base_modules_stand_alone, rule_optim_needs_only_torch, rule_only_viz_draws,
         rule_rooms_point_one_way, rule_grading_stands_apart, rule_no_private_name_crosses_a_room,
         rule_no_cycles]


def describe(violations):
    return "\n".join(f"{v.module}:{v.line} imports {v.target} {v.names or ''}" for v in violations)


@pytest.mark.parametrize("rule", RULES, ids=lambda r: r.__name__)
def test_the_package_keeps_the_rule(rule):
    violations = rule(scan(ROOT))
    assert not violations, f"{rule.__doc__}\n{describe(violations)}"


def test_the_rooms_are_the_books_parts():
    rooms = {p.name for p in ROOT.iterdir() if p.is_dir() and (p / "__init__.py").exists()}
    assert rooms == {"toy", "scratch", "optim", "schedules", "training", "choosing", "search",
                     "viz", "grading"}


# ---------------------------------------------------------------------------------------------
# each rule fails on a package that breaks it

def make_package(tmp_path: Path, files: dict[str, str]) -> Path:
    root = tmp_path / "lrcourse"
    for rel, text in {"__init__.py": "", **files}.items():
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        for parent in path.relative_to(root).parents:
            (root / parent / "__init__.py").touch()
        path.write_text(text)
    return root


BROKEN = {
    rule_base_modules_stand_alone: {"_checks.py": "from lrcourse.toy import gd\n", "toy/gd.py": ""},
    rule_optim_needs_only_torch: {"optim/sgd.py": "import numpy as np\n"},
    rule_only_viz_draws: {"training/loop.py": "import matplotlib.pyplot as plt\n"},
    rule_rooms_point_one_way: {"training/loop.py": "from lrcourse.choosing.finder import lr_range_test\n",
                               "choosing/finder.py": ""},
    rule_grading_stands_apart: {"grading/cli.py": "from lrcourse.training import loop\n",
                                "training/loop.py": ""},
    rule_no_private_name_crosses_a_room: {"choosing/early.py": "from lrcourse.training.sweep import _Stack\n",
                                          "training/sweep.py": "_Stack = 1\n"},
    rule_no_cycles: {"schedules/a.py": "from lrcourse.schedules import b\n",
                     "schedules/b.py": "def f():\n    from lrcourse.schedules import a\n"},
}


@pytest.mark.parametrize("rule", RULES, ids=lambda r: r.__name__)
def test_the_rule_catches_a_package_that_breaks_it(rule, tmp_path):
    root = make_package(tmp_path, BROKEN[rule])
    assert rule(scan(root)), f"{rule.__name__} missed {BROKEN[rule]}"


def test_a_clean_made_up_package_passes_every_rule(tmp_path):
    root = make_package(tmp_path, {
        "_checks.py": "import math\n",
        "toy/gd.py": "from lrcourse import _checks\nimport numpy\n",
        "training/loop.py": "from lrcourse.toy.gd import run\nfrom lrcourse.training import models\n",
        "training/models.py": "import torch\n",
        "viz/style.py": "import matplotlib\nfrom lrcourse.toy import gd\n",
    })
    imports = scan(root)
    assert all(not rule(imports) for rule in RULES)
