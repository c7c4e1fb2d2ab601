"""The five exercise sets: solutions score full marks, blank notebooks 0, no solution leaks.

Grading runs each notebook in the jail; the leak tests regenerate the student notebooks (a
kernel per master plus ``otter assign``) and search them, and the built site, for solution
code and hidden tests.
"""
import html
import json
import re

import pytest

from lrcourse.grading import Limits, grade
from lrcourse.grading.generate import student_notebook
from test_grading_helpers import EXERCISES, ROOT, SETS, exercise, require_jail, submission

pytestmark = pytest.mark.slow

LIMITS = Limits(cell=60.0, case=10.0, total=120.0)


@pytest.mark.parametrize("name", SETS)
def test_solutions_score_full_marks_and_blank_notebooks_zero(name, tmp_path):
    require_jail()
    ex = exercise(name)
    solved = submission(ex, tmp_path, "solved")
    master, filled, blank = grade(ex, [ex.master, solved, ex.student], LIMITS)
    assert master.total == master.possible == ex.possible > 0
    assert filled.total == ex.possible and not filled.errors
    assert blank.total == 0 and not blank.errors
    assert all("NotImplementedError" in c.message for c in blank.cases)


def _secrets(ex) -> list[str]:
    """Solution lines long enough to be distinctive, and every hidden test's call."""
    return [s for s in ex.solutions if len(s) >= 16] + [c.source for c in ex.cases]


def _strings(node):
    """Every string in a notebook's JSON (sources, outputs, metadata such as otter's tests)."""
    if isinstance(node, str):
        yield node
    elif isinstance(node, dict):
        for k, v in node.items():
            yield k
            yield from _strings(v)
    elif isinstance(node, list):
        for v in node:
            yield from _strings(v)


def _leaks(text: str, secrets: list[str]) -> list[str]:
    try:
        blob = "\n".join(_strings(json.loads(text)))
    except ValueError:
        blob = text
    blob += "\n" + text
    return [s for s in secrets if s in blob]


@pytest.mark.parametrize("name", SETS)
def test_student_notebook_is_up_to_date_and_holds_no_solution_or_hidden_test(name):
    ex = exercise(name)
    secrets = _secrets(ex)
    assert len(secrets) >= 8
    regenerated = student_notebook(ex)
    assert regenerated == ex.student.read_text(), \
        f"{ex.student} is out of date: run python -m lrcourse.grading.generate {name}"
    assert _leaks(regenerated, secrets) == []
    # the search is not blind: the master holds every one of them
    assert sorted(_leaks(ex.master.read_text(), secrets)) == sorted(secrets)


def test_nothing_outside_the_sources_holds_a_solution_or_hidden_test():
    """Files of a set (outside its source/) against that set's secrets; others against all."""
    secrets = {name: _secrets(exercise(name)) for name in SETS}
    everything = [s for v in secrets.values() for s in v]
    for path in EXERCISES.rglob("*"):
        parts = path.relative_to(EXERCISES).parts
        if path.is_file() and "source" not in parts:
            mine = secrets.get(parts[0], everything)
            assert _leaks(path.read_text(errors="replace"), mine) == [], path


def test_built_site_holds_no_solution_or_hidden_test(built_site):
    """Generic lines the book's own code also contains (e.g. an errstate guard) are not leaks."""
    book_code = "\n".join(p.read_text(errors="replace") for d in ("book", "lrcourse")
                          for p in (ROOT / d).rglob("*") if p.suffix in (".md", ".py"))
    secrets = [s for name in SETS for s in _secrets(exercise(name)) if s not in book_code]
    assert len(secrets) >= 100
    pages = [p for p in built_site.rglob("*") if p.is_file()
             and p.suffix in (".html", ".ipynb", ".md", ".txt", ".js", ".json", ".py")]
    assert len(pages) >= 5
    for path in pages:
        text = path.read_text(errors="replace")
        text += html.unescape(re.sub(r"<[^>]+>", "", text))  # highlighted code is split by tags
        assert [s for s in secrets if s in text] == [], path
