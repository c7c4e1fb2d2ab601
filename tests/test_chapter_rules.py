"""Selection on hold-out, never on test (issue 11): no chapter's code picks a winner by a
test-split quantity.

The scan reads every code cell of every chapter (as Python, by its syntax tree) and reports a
*selection* whose criterion is a test-split quantity:

* ``max``/``min``/``sorted``/``heapq.nlargest``/``nsmallest`` with a ``key=`` that reads one;
* ``argmax``/``argmin``/``argsort``/``idxmax``/``idxmin``/``nlargest``/``nsmallest``/
  ``sort_values``/``sort`` applied to one (as a function argument or as the receiver).

A quantity is test-split when it names the split (an identifier or attribute with a ``test``
word, ``test_acc``, ``acc_test``, a key ``"test"``), or is a variable the chapter assigned from
one (``acc = {n: r.test_acc …}`` makes ``acc`` test-split). Indexing with another split's name
(``acc["holdout"]``, ``r.val_acc``) is not. A line that reports rather than selects can say so with a
``# not a selection`` comment.
"""
from __future__ import annotations

import ast
import re

import pytest

from conftest import ROOT, toc_chapters

SELECT_WITH_KEY = {"max", "min", "sorted", "nlargest", "nsmallest"}
SELECT_ON_VALUE = {"argmax", "argmin", "argsort", "nanargmax", "nanargmin", "idxmax", "idxmin", "nlargest",
                   "nsmallest", "sort_values", "sort"}
TEST_WORD = re.compile(r"(?:^|[_\W])test(?:$|[_\W])", re.I)
OTHER_SPLIT = re.compile(r"^(train|training|hold-?out|holdout|val|valid|validation)$", re.I)
OTHER_SPLIT_NAME = re.compile(r"(?:^|_)(train|training|holdout|hold_out|val|valid|validation)(?:_|$)", re.I)
EXEMPT = "# not a selection"


NOT_THE_SPLIT = re.compile(r"range[_ ]?tests?|t[_ ]?tests?", re.I)  # the LR range test, Student's t-test


def is_test_word(text: str) -> bool:
    return bool(TEST_WORD.search(NOT_THE_SPLIT.sub("", text)))


def mentions_test(node: ast.AST, tainted: set[str]) -> bool:
    """Does the expression read a test-split quantity?"""
    if isinstance(node, ast.Subscript):
        key = node.slice
        if isinstance(key, ast.Constant) and isinstance(key.value, str):
            if is_test_word(key.value):
                return True
            if OTHER_SPLIT.match(key.value):
                return False  # acc["holdout"]: another split's values, whatever acc holds
        return mentions_test(node.value, tainted) or mentions_test(key, tainted)
    if isinstance(node, ast.Name):
        return is_test_word(node.id) or node.id in tainted
    if isinstance(node, ast.Attribute):
        if is_test_word(node.attr):
            return True
        if OTHER_SPLIT_NAME.search(node.attr):
            return False  # r.val_acc: another split's values, whatever r holds
        return mentions_test(node.value, tainted)
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return is_test_word(node.value)
    if isinstance(node, ast.Lambda):
        return mentions_test(node.body, tainted)
    return any(mentions_test(child, tainted) for child in ast.iter_child_nodes(node))


def _pairs(node) -> list[tuple[ast.AST, ast.AST]]:
    """(target, value) pairs of an assignment; ``a, b = x, y`` pairs element by element."""
    targets = node.targets if isinstance(node, ast.Assign) else [node.target]
    pairs = []
    for target in targets:
        value = node.value
        if (isinstance(target, (ast.Tuple, ast.List)) and isinstance(value, (ast.Tuple, ast.List))
                and len(target.elts) == len(value.elts)):
            pairs += list(zip(target.elts, value.elts))
        else:
            pairs.append((target, value))
    return pairs


def _bound(target: ast.AST) -> list[str]:
    """The names an assignment target binds: ``a``, ``a, b``; ``d[k] = …`` and ``o.x = …`` bind
    ``d`` and ``o`` (not the index ``k``)."""
    if isinstance(target, ast.Name):
        return [target.id]
    if isinstance(target, (ast.Tuple, ast.List)):
        return [n for elt in target.elts for n in _bound(elt)]
    if isinstance(target, ast.Starred):
        return _bound(target.value)
    if isinstance(target, (ast.Subscript, ast.Attribute)):
        return _bound(target.value)
    return []


def taint(trees: list[ast.AST]) -> set[str]:
    """Names assigned (anywhere in the chapter) from a test-split quantity, to a fixed point."""
    tainted: set[str] = set()
    assigns = [n for tree in trees for n in ast.walk(tree)
               if isinstance(n, (ast.Assign, ast.AugAssign, ast.AnnAssign)) and n.value is not None]
    while True:
        before = len(tainted)
        for node in assigns:
            for target, value in _pairs(node):
                if mentions_test(value, tainted):
                    tainted.update(_bound(target))
        if len(tainted) == before:
            return tainted


def _called(node: ast.Call) -> str:
    f = node.func
    return f.id if isinstance(f, ast.Name) else f.attr if isinstance(f, ast.Attribute) else ""


def _column(node: ast.Call, name: str) -> ast.AST | None:
    """The column a pandas ``sort_values(by)`` / ``nlargest(n, columns)`` ranks by, if named."""
    for k in node.keywords:
        if k.arg in ("by", "columns"):
            return k.value
    position = {"sort_values": 0, "nlargest": 1, "nsmallest": 1}.get(name)
    if position is not None and len(node.args) > position:
        return node.args[position]
    return None


def selections_on_test(source: str | list[str]) -> list[str]:
    """Every selection by a test-split quantity in the cells (a chapter's code), as 'line: code'."""
    cells = [source] if isinstance(source, str) else source
    cleaned = ["\n".join("pass" if line.lstrip().startswith(("%", "!")) else line for line in c.splitlines())
               for c in cells]
    trees = [ast.parse(c) for c in cleaned]
    tainted = taint(trees)
    found = []
    for code, tree in zip(cleaned, trees):
        lines = code.splitlines()
        for node in ast.walk(tree):
            if not isinstance(node, ast.Call):
                continue
            name, bad = _called(node), False
            if name in SELECT_WITH_KEY:
                bad = any(k.arg == "key" and mentions_test(k.value, tainted) for k in node.keywords)
            if name in SELECT_ON_VALUE and not bad:
                receiver = node.func.value if isinstance(node.func, ast.Attribute) else None
                module_call = isinstance(receiver, ast.Name) and receiver.id in ("np", "numpy", "torch", "heapq")
                column = _column(node, name) if receiver is not None and not module_call else None
                if column is not None:  # a table sorted or ranked by a named column: the column decides
                    operands = [column]
                else:
                    operands = list(node.args) + ([] if receiver is None or module_call else [receiver])
                bad = any(mentions_test(a, tainted) for a in operands) or any(
                    k.arg == "key" and mentions_test(k.value, tainted) for k in node.keywords)
            line = lines[node.lineno - 1]
            if bad and EXEMPT not in line:
                found.append(f"{node.lineno}: {line.strip()}")
    return found


def chapter_cells(doc: str) -> list[str]:
    import jupytext

    nb = jupytext.read(ROOT / f"{doc}.md")
    return [c.source for c in nb.cells if c.cell_type == "code"]


# ---- the scan catches what it should, and only that -------------------------------------------------

CAUGHT = {
    "the winner picked by test accuracy through a dict (chapter 4's old code)": """
acc = {n: np.array([r.test_acc for r in runs[n]]) for n in names}
winner = max(real, key=lambda n: acc[n].mean())
""",
    "idxmax of a test column": 'best = table["test_acc"].idxmax()',
    "argmax over test losses": "k = np.argmax(-test_loss)",
    "sorted by a test attribute": "ranked = sorted(runs, key=lambda r: r.final_test_loss)",
    "a frame sorted by a test column": 'top = df.sort_values("acc_test").head(3)',
    "a tainted array's own argmax": "scores = results.test\nbest = scores.argmax()",
    "nlargest of a test column": 'df.nlargest(3, "test acc")',
}
ALLOWED = {
    "selection on the hold-out split": "best = max(etas, key=lambda e: holdout_acc[e])",
    "hold-out values read from results that also hold test values":
        "runs = sweep(splits=test_split)\nh = np.array([runs[k].val_acc for k in ks])\nbest = np.nanargmax(h)",
    "a table with test columns ranked by its hold-out column":
        'summary = scores.agg(test_mean=("test", "mean"))\nsummary = summary.sort_values("hold-out mean")',
    "a dict holding every split, indexed by hold-out": """
acc = {"train": tr, "holdout": ho, "test": te}
k = np.argmax(acc["holdout"])
""",
    "the test value reported for the hold-out's choice": "report = test_acc[np.argmax(val_acc)]",
    "a plain maximum of test values is a number, not a choice": "worst = max(test_losses)",
    "a report line marked as such": "order = np.argsort(test_acc)  # not a selection: plotted in order",
    "words that only contain 'test'": "best = max(runs, key=lambda r: r.latest_loss)\nk = np.argmax(contestant)",
    "the LR range test is not the test split": "rt = range_test(model)\nk = np.argmax(rt.smoothed)",
    "a tuple assignment taints only its test part": "te, va = r.test_acc, r.val_acc\nk = np.argmax(va)",
    "an index variable is not tainted by what is stored under it":
        "for name in names:\n    table[name] = r.test_acc\nk = np.argmax(val[name])",
}


@pytest.mark.parametrize("name", CAUGHT)
def test_the_scan_catches_a_selection_on_test(name):
    assert selections_on_test(CAUGHT[name]), name


@pytest.mark.parametrize("name", ALLOWED)
def test_the_scan_leaves_hold_out_selection_alone(name):
    assert selections_on_test(ALLOWED[name]) == [], name


def test_taint_follows_assignments_across_cells():
    cells = ["ta = make(test_split)", "acc = ta * 2", "winner = max(names, key=lambda n: acc[n])"]
    assert selections_on_test(cells) == ["1: winner = max(names, key=lambda n: acc[n])"]


@pytest.mark.parametrize("doc", [d for d in toc_chapters() if d != "book/preface"])
def test_no_chapter_selects_on_the_test_split(doc):
    found = selections_on_test(chapter_cells(doc))
    assert not found, f"{doc} selects by a test-split quantity:\n  " + "\n  ".join(found)


# ---- visible code fits the column ------------------------------------------------------------------
# On the published site (sphinx-book-theme, a ~750 px column at 1280 px) a code line longer than
# 88 characters makes its block scroll sideways, so the reader sees it cut off. A cell tagged
# remove-input or remove-cell shows no code; a hide-input cell counts (a click expands it).

MAX_CODE_WIDTH = 88
HIDDEN_CODE = {"remove-input", "remove-cell"}


def lines_too_wide(nb, width: int = MAX_CODE_WIDTH) -> list[str]:
    """Every line wider than ``width`` characters in a visible code cell of the notebook, as
    'cell i, line j (n characters): the line'; i counts all cells, as jupytext numbers them."""
    found = []
    for i, cell in enumerate(nb.cells):
        if cell.cell_type != "code" or HIDDEN_CODE & set(cell.metadata.get("tags", [])):
            continue
        for j, line in enumerate(cell.source.splitlines(), start=1):
            if len(line) > width:
                found.append(f"cell {i}, line {j} ({len(line)} characters): {line}")
    return found


MADE_UP_CHAPTER = """---
jupytext:
  text_representation:
    format_name: myst
kernelspec:
  name: python3
  display_name: Python 3
---

A markdown line may be as long as it likes: {long_words}

```{{code-cell}} ipython3
short = 1
too_wide = sweep.sweep_lr(etas, ds, sizes=SIZES, epochs=EPOCHS, batch_size=BATCH, seeds=SEEDS)
```

```{{code-cell}} ipython3
:tags: [hide-input]

hidden_until_clicked = {long_call}
```

```{{code-cell}} ipython3
:tags: [remove-input]

nobody_sees_this = {long_call}
```

```{{code-cell}} ipython3
:tags: [remove-cell]

nor_this = {long_call}
```

```{{code-cell}} ipython3
exactly_88 = "{fill}"
```
"""


def test_the_width_check_catches_a_made_up_long_line():
    import jupytext

    long_call = "f(" + ", ".join(f"argument_{k}" for k in range(12)) + ")"
    fill = "x" * (MAX_CODE_WIDTH - len('exactly_88 = ""'))
    nb = jupytext.reads(MADE_UP_CHAPTER.format(long_words="word " * 40, long_call=long_call,
                                               fill=fill), fmt="md:myst")
    assert len(nb.cells[-1].source) == MAX_CODE_WIDTH  # the limit itself is allowed
    found = lines_too_wide(nb)
    assert [f.split(" (")[0] for f in found] == ["cell 1, line 2", "cell 2, line 1"], found
    assert found[0].endswith("seeds=SEEDS)") and "(94 characters)" in found[0]
    assert lines_too_wide(nb, width=200) == []


@pytest.mark.parametrize("doc", toc_chapters())
def test_visible_code_fits_the_column(doc):
    import jupytext

    found = lines_too_wide(jupytext.read(ROOT / f"{doc}.md"))
    assert not found, (f"{doc}: {len(found)} visible code line(s) wider than {MAX_CODE_WIDTH} "
                       f"characters (the code block would scroll sideways):\n  " + "\n  ".join(found))
