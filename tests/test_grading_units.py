"""The grader's pieces without running a notebook: plain data, comparison, masters, discovery."""
import json
import sys

import numpy as np
import pytest
import torch

from lrcourse.grading import child, cli
from lrcourse.grading.compare import mismatch
from lrcourse.grading.exercise import code_cells, parse_master, read_notebook
from lrcourse.grading.scoring import Reference, score
from test_grading_helpers import SETS, exercise


# --- plain data: what the child accepts as an answer ------------------------------------

@pytest.mark.parametrize("value, plain", [
    (np.array([[1.0, 2.0], [3.0, 4.5]]), [[1.0, 2.0], [3.0, 4.5]]),
    (np.float32(0.25), 0.25),
    (np.int64(7), 7),
    ((np.arange(3), {"b": None, "a": True}), [[0, 1, 2], {"b": None, "a": True}]),
    (torch.tensor([1.5, -2.0], requires_grad=True) * 2, [3.0, -4.0]),
    ("text", "text"),
])
def test_plain_answers_become_json_data(value, plain):
    assert child.to_plain(value) == plain
    assert json.loads(json.dumps(child.to_plain(value))) == plain


class Rigged:
    def __eq__(self, other):
        return True

    __hash__ = object.__hash__


class RiggedFloat(float):
    def __eq__(self, other):
        return True


class RiggedArray(np.ndarray):
    pass


@pytest.mark.parametrize("value", [
    Rigged(), RiggedFloat(1.0), np.zeros(2).view(RiggedArray), [1.0, Rigged()], {1: 2.0},
    np.array(["a", "b"]), np.array([Rigged()], dtype=object), lambda: 1, iter([1.0]),
    list(range(2_000_000)), "x" * 200_000,
])
def test_anything_else_is_refused(value):
    with pytest.raises(child.NotPlainData):
        child.to_plain(value)


def test_deep_nesting_is_refused():
    deep = []
    for _ in range(1000):
        deep = [deep]
    with pytest.raises(child.NotPlainData):
        child.to_plain(deep)


def test_test_inputs_round_trip_with_their_types():
    args = [np.arange(6.0).reshape(2, 3), np.array([1, 2]), (0.9, 0.999), None, {"k": [1.5]}, "s"]
    encoded = json.loads(json.dumps(child.encode_input(args)))
    back = child.decode_input(encoded)
    assert back[0].dtype == np.float64 and back[0].shape == (2, 3) and np.array_equal(back[0], args[0])
    assert back[1].dtype == np.int64
    assert back[2] == (0.9, 0.999) and type(back[2]) is tuple
    assert back[3:] == [None, {"k": [1.5]}, "s"]


# --- comparison: done here, on JSON data only --------------------------------------------

@pytest.mark.parametrize("expected, answer, ok", [
    (0.0952, 0.0952 * (1 + 1e-9), True),
    (0.0952, 0.4, False),
    ([1.0, 2.0], [1.0, 2.0 + 1e-3], False),
    ([[1.0, 2.0]], [1.0, 2.0], False),                # shape matters
    ([1.0, float("nan")], [1.0, float("nan")], True),
    ([1.0, 2.0], [1.0, "2.0"], False),               # a string is not a number
    ([1.0, 0.0], [True, False], False),              # nor is a bool
    (None, None, True),
    (None, 0, False),
    (7, 7.0, True),
    ([[1.0, 2.0], [3.0]], [[1.0, 2.0], [3.0]], True),  # ragged: item by item
    ({"W": [1.0], "b": 2.0}, {"W": [1.0], "b": 2.0}, True),
    ({"W": [1.0], "b": 2.0}, {"W": [1.0]}, False),
    ([2.5, -1.5, 1.5], {"__ndarray__": [2.5, -1.5, 1.5]}, False),
])
def test_mismatch(expected, answer, ok):
    assert (mismatch(expected, answer, rtol=1e-6, atol=1e-9) is None) is ok


def test_mismatch_says_what_differs():
    why = mismatch(2 / 21, 0.4, rtol=1e-6, atol=1e-9)
    assert "0.0952381" in why and "0.4" in why
    assert "shape" in mismatch([[1.0, 2.0]], [1.0, 2.0], 1e-6, 1e-9)


def test_points_per_case_and_question():
    ex = exercise("01-gradient-descent")
    expected = {c.id: 1.0 for c in ex.cases}
    answers = {c.id: {"value": 1.0} for c in ex.cases}
    answers[ex.cases[0].id] = {"value": 2.0}
    answers[ex.cases[1].id] = {"error": "NameError: x"}
    results, questions = score(Reference(ex, expected=expected), answers)
    assert sum(r.score for r in results) == ex.possible - ex.cases[0].points - ex.cases[1].points
    assert results[1].message == "NameError: x"
    q1 = [c for c in ex.cases if c.question == "q1"]
    assert ex.cases[0] in q1 and ex.cases[1] in q1
    assert questions["q1"] == {"score": sum(c.points for c in q1[2:]), "possible": sum(c.points for c in q1)}


# --- masters and submissions ---------------------------------------------------------------

def test_every_chapter_links_a_set_and_every_set_has_three_to_six_questions():
    import re

    from conftest import ROOT, toc_chapters

    for doc in toc_chapters()[1:]:  # the preface has no set of its own
        linked = set(re.findall(r"`exercises/([\w-]+)/`", (ROOT / f"{doc}.md").read_text()))
        assert linked & set(SETS), f"{doc} links no exercise set ({sorted(linked)})"
    assert len(SETS) >= len(toc_chapters()) - 1 - 2  # momentum/adaptive share a part's sets, 05 has two
    for name in SETS:
        ex = exercise(name)
        assert 3 <= len(ex.questions) <= 6, name
        assert all(len(cases) >= 2 for cases in ex.questions.values()), name
        student = read_notebook(ex.student)
        public = student["metadata"]["otter"]["tests"]
        assert sorted(public) == sorted(ex.questions), f"{name}: every question has public tests"


def test_a_hidden_test_must_be_one_call(tmp_path):
    nb = read_notebook(exercise("01-gradient-descent").master)
    for cell in nb["cells"]:
        if "hidden: true" in "".join(cell["source"]):
            cell["source"] = '""" # BEGIN TEST CONFIG\nhidden: true\n""" # END TEST CONFIG\nx = gd_step(1, 2, 3)\n'
            break
    bad = tmp_path / "bad.ipynb"
    bad.write_text(json.dumps(nb))
    with pytest.raises(ValueError, match="one call"):
        parse_master(bad)


def test_code_cells_are_numbered_by_notebook_position():
    nb = {"cells": [{"cell_type": "markdown", "source": "# t"}, {"cell_type": "code", "source": ["a = 1\n", "b = 2"]},
                    {"cell_type": "code", "source": ""}, {"cell_type": "code", "source": "c = 3"}]}
    assert code_cells(nb) == [(2, "a = 1\nb = 2"), (4, "c = 3")]


def test_submissions_are_found_in_folders(tmp_path):
    (tmp_path / "a").mkdir()
    (tmp_path / "a" / "x.ipynb").write_text("{}")
    (tmp_path / "a" / ".ipynb_checkpoints").mkdir()
    (tmp_path / "a" / ".ipynb_checkpoints" / "x-checkpoint.ipynb").write_text("{}")
    (tmp_path / "b.zip").write_bytes(b"")
    (tmp_path / "notes.txt").write_text("")
    assert cli.submissions([str(tmp_path)]) == [tmp_path / "a" / "x.ipynb", tmp_path / "b.zip"]


def test_the_child_needs_only_the_standard_library_to_start():
    """child.py and jail.py run before any package import (and in the jail without lrcourse)."""
    import ast as _ast
    from pathlib import Path
    for module in ("child.py", "jail.py"):
        tree = _ast.parse((Path(child.__file__).parent / module).read_text())
        top = {a.name.split(".")[0] for n in tree.body if isinstance(n, _ast.Import) for a in n.names}
        top |= {n.module.split(".")[0] for n in tree.body if isinstance(n, _ast.ImportFrom) and n.module}
        assert top <= set(sys.stdlib_module_names), (module, top - set(sys.stdlib_module_names))


# --- printable: what a submission controls never reaches a terminal or file raw ------------

@pytest.mark.parametrize("raw", [
    "ValueError: x\nzz-forged.ipynb  2/2  2/2  2/2  4/4  10/10",  # a forged table row
    "\x1b]0;owned\x07\x1b[2J\x1b[31mred",                        # terminal escapes
    "ValueError: \ud800\udfff",                                   # lone surrogates
    "caf\udce9.ipynb",                                            # os.fsdecode of a Latin-1 name
    "a\u202egnp.exe\u2028b\r\t\x00\x7f\x85",                    # bidi override, separators, C0/C1
])
def test_printable_escapes_what_a_terminal_or_utf8_file_would_act_on(raw):
    from lrcourse.grading.printable import printable
    out = printable(raw)
    out.encode("utf-8")  # a lone surrogate would raise here
    assert out.isprintable() and len(out.splitlines()) == 1
    # nothing lost: every character is kept or shown as its escape, which Python reads back
    assert eval('"' + out.replace('"', '\\"') + '"', {}) == raw.replace("\udce9", "\xe9")


def test_printable_keeps_ordinary_text_and_cuts_long_text():
    from lrcourse.grading.printable import printable, printable_data
    assert printable("η* = 0.1 für Ωmega, 学习率") == "η* = 0.1 für Ωmega, 学习率"
    assert printable("x" * 10, limit=4) == "xxxx…"
    assert printable(None) == "" and printable(3.5) == "3.5"
    assert printable_data({"a\n": ["\x1b", 1, None]}) == {"a\\n": ["\\x1b", 1, None]}


# --- which files of a submissions folder are graded ---------------------------------------

@pytest.mark.parametrize("name, graded", [
    ("alice.ipynb", True), ("Alice.IPYNB", True), ("sub/gd-checkpoint-final.ipynb", True),
    ("._alice.ipynb", False), ("__MACOSX/._alice.ipynb", False), ("__MACOSX/alice.ipynb", False),
    (".ipynb_checkpoints/alice-checkpoint.ipynb", False), ("alice.py", False),
])
def test_notebook_entries(name, graded):
    from lrcourse.grading.exercise import notebook_entry
    assert notebook_entry(name) is graded


def test_a_folder_walk_lists_links_without_following_them(tmp_path):
    (tmp_path / "in").mkdir()
    (tmp_path / "in" / "Alice.IPYNB").write_text("{}")
    (tmp_path / "in" / "Carol.ZIP").write_text("")
    (tmp_path / "in" / "notes.txt").write_text("")
    (tmp_path / "in" / ".ipynb_checkpoints").mkdir()
    (tmp_path / "in" / ".ipynb_checkpoints" / "Alice-checkpoint.ipynb").write_text("{}")
    (tmp_path / "outside").mkdir()
    (tmp_path / "outside" / "secret.ipynb").write_text("{}")
    (tmp_path / "in" / "linked-folder").symlink_to(tmp_path / "outside")
    (tmp_path / "in" / "link.ipynb").symlink_to(tmp_path / "outside" / "secret.ipynb")
    found = [p.name for p in cli.submissions([str(tmp_path / "in")])]
    assert found == ["Alice.IPYNB", "Carol.ZIP", "link.ipynb", "linked-folder"]
    assert "secret.ipynb" not in found


def test_a_submission_that_is_a_link_is_not_read(tmp_path):
    real = tmp_path / "real.ipynb"
    real.write_text(json.dumps({"cells": []}))
    (tmp_path / "link.ipynb").symlink_to(real)
    assert read_notebook(tmp_path / "link.ipynb") == {"cells": []}  # masters may be links
    with pytest.raises(ValueError, match="symbolic link: not followed"):
        read_notebook(tmp_path / "link.ipynb", follow_symlinks=False)


def test_a_ready_message_after_start_up_is_ignored():
    """Only the jail sends 'ready' (before any cell runs): one forged later changes nothing."""
    from lrcourse.grading.runner import Attempt, _event
    state = {"phase": "startup", "cell": None, "case": None, "last_cell": None}
    att, known = Attempt(), {"cells": {1}, "cases": set()}
    assert _event(b'{"event": "ready", "notes": [], "enforced": ["keyring: fresh"]}', state, known, att)
    assert _event(b'{"event": "cell", "cell": 1}', state, known, att)
    forged = b'{"event": "ready", "notes": ["\\u001b[2J"], "enforced": ["processes: none needed"]}'
    assert not _event(forged, state, known, att)
    assert att.enforced == ["keyring: fresh"] and att.notes == [] and state["cell"] == 1
