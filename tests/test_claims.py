"""A claim is code (issue 11): a chapter whose claim contradicts its numbers fails the book build,
and the error names the chapter, the claim and the numbers."""
import math
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from conftest import offline_command
from lrcourse.viz.claims import ClaimError, Claims

CHAPTER = """\
---
jupytext:
  text_representation: {extension: .md, format_name: myst}
kernelspec: {display_name: Python 3, language: python, name: python3}
---
# A chapter that says something

```{code-cell} ipython3
from lrcourse.viz.claims import Claims
claims = Claims("99-made-up")
threshold, local_limit = 0.00206, 0.00200
claims.check(%s, "the usable rate is set where the path is sharpest, below the local limit",
             threshold=threshold, local_limit=local_limit)
```

The usable learning rate is set where the path is sharpest.
"""


def build(tmp_path: Path, condition: str) -> subprocess.CompletedProcess:
    book = tmp_path / "book"
    book.mkdir(parents=True)
    (book / "_config.yml").write_text(textwrap.dedent("""\
        title: claims
        only_build_toc_files: true
        execute:
          execute_notebooks: force
          allow_errors: false
        sphinx:
          config:
            nb_execution_show_tb: true
        """))
    (book / "_toc.yml").write_text("format: jb-book\nroot: chapter\n")
    (book / "chapter.md").write_text(CHAPTER % condition)
    jb = str(Path(sys.executable).parent / "jupyter-book")
    cmd = offline_command([jb, "build", str(book), "-W", "-n", "--builder", "html"])
    return subprocess.run(cmd, cwd=book, capture_output=True, text=True, timeout=600)


@pytest.mark.slow
def test_a_false_claim_fails_the_build_and_names_itself(tmp_path):
    result = build(tmp_path / "false", "threshold < local_limit")
    log = result.stdout + result.stderr
    assert result.returncode != 0
    assert "ClaimError" in log
    assert ("99-made-up: the claim 'the usable rate is set where the path is sharpest, below the local limit' "
            "is false here (threshold = 0.00206, local_limit = 0.002)") in log


@pytest.mark.slow
def test_the_same_chapter_builds_when_its_claim_holds(tmp_path):
    """The control: only the condition differs, and the build succeeds."""
    result = build(tmp_path / "true", "threshold > local_limit")
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]


def test_check_returns_the_claim_and_logs_it():
    claims = Claims("01-gd")
    assert claims.check(2 > 1, "two beats one", a=2, b=1) == "two beats one"
    assert claims.log == [("two beats one", True, {"a": 2, "b": 1})]


def test_check_raises_with_chapter_claim_and_numbers():
    claims = Claims("04-schedules")
    with pytest.raises(ClaimError, match=r"^04-schedules: the claim 'decay wins' is false here "
                                         r"\(gap = -0\.01234, spread = 3, runs = nan\)$"):
        claims.check(False, "decay wins", gap=-0.012344, spread=3.0, runs=math.nan)
    assert claims.log[-1][:2] == ("decay wins", False)
    assert issubclass(ClaimError, AssertionError)  # a failed claim is a failed assertion


def test_check_without_numbers_names_the_claim():
    with pytest.raises(ClaimError, match=r"^x: the claim 'y' is false here$"):
        Claims("x").check(0, "y")


def test_choose_picks_the_sentence_the_numbers_support():
    claims = Claims("08")
    assert claims.choose(0.3 > 0.1, "wider", "narrower", a=0.3) == "wider"
    assert claims.choose(0.05 > 0.1, "wider", "narrower", a=0.05) == "narrower"
    assert [entry[0] for entry in claims.log] == ["wider", "narrower"]


def test_numbers_that_are_not_numbers_are_shown_as_they_are():
    with pytest.raises(ClaimError, match=r"\(winner = 'sgd', etas = \[0\.1, 0\.2\]\)"):
        Claims("03").check(False, "adam wins", winner="sgd", etas=[0.1, 0.2])
