"""Graded exercises: otter-assign masters for authoring, a trusted runner for grading.

Otter-grader does the authoring side: the masters in ``exercises/*/source/`` are in
``otter assign`` format, :mod:`.generate` turns them into student notebooks, and learners check
their answers with otter's ``grader.check("q1")`` (public tests, with feedback).

Grading does not use otter: otter (like nbgrader) runs the tests in the student's own kernel,
where a submission can rig ``__eq__``, patch ``np.allclose`` or the grader, or kill the kernel.
Here instead (:func:`grade`):

* :mod:`.runner` runs each submission in its own child process (:mod:`.child`) — inside the
  namespace jail of :mod:`.jail` where available: no network, no view of the exercise sources,
  solutions or other submissions, a throwaway HOME — under per-cell, per-answer and total
  time limits, with output capped, rerunning without a cell that hangs or kills it;
* the child only calls the submission's functions on the hidden tests' inputs and returns the
  answers as plain JSON data;
* the grader compares them (:mod:`.compare`) with the master's answers, computed in another
  child process, and awards points per test case.

Command line: ``lrcourse-grade`` (:mod:`.cli`).
"""
from .exercise import Case, Exercise, find_exercise, list_exercises, parse_master
from .scoring import CaseResult, Grade, MasterError, Reference, grade, grade_submission, reference
from .runner import Limits, NotebookRun, SandboxUnavailable, run_notebook, sandbox_status

__all__ = ["Case", "CaseResult", "Exercise", "Grade", "Limits", "MasterError", "NotebookRun", "Reference",
           "SandboxUnavailable",
           "find_exercise", "grade", "grade_submission", "list_exercises", "parse_master",
           "reference", "run_notebook", "sandbox_status"]
