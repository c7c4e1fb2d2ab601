"""Hostile and broken submissions: each is graded on what it answered, gains nothing, harms nothing.

Every test grades a submission of exercise set 1 (10 points: q1 2, q2 2, q3 2, q4 4) made of
the reference solutions plus a hostile cell, or with some answers replaced, in the jail.
"""
import hashlib
import os
import socket
import subprocess
from pathlib import Path

import pytest

from lrcourse.grading import Limits, grade, grade_submission, reference, run_notebook
from test_grading_helpers import (EXERCISES, exercise, first_code_position, require_jail,
                                  solutions, submission)

pytestmark = pytest.mark.slow

LIMITS = Limits(cell=2.0, case=2.0, total=30.0)
WRONG_GD_STEP = "def gd_step(theta, grad, eta):\n    return theta + eta * grad\n"
WRONG_THRESHOLD = "def divergence_threshold(H):\n    return 1.0 / float(np.max(np.diag(H)))\n"


@pytest.fixture(scope="module")
def ex():
    require_jail()
    return exercise("01-gradient-descent")


@pytest.fixture(scope="module")
def ref(ex):
    return reference(ex, LIMITS)


def graded(ref, tmp_path, name, limits=LIMITS, **kwargs):
    at = first_code_position(ref.exercise)
    insert = [(at, kwargs.pop("cell"))] if "cell" in kwargs else kwargs.pop("insert", ())
    path = submission(ref.exercise, tmp_path, name, insert=insert, **kwargs)
    return grade_submission(ref, path, limits), at + 1


def test_loops_forever(ref, tmp_path):
    g, cell = graded(ref, tmp_path, "loop", cell="while True:\n    pass\n")
    assert g.total == g.possible == 11
    assert f"timed out in cell {cell}" in g.error


def test_ignores_sigint_and_sigterm(ref, tmp_path):
    source = ("import signal\n"
              "for s in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP, signal.SIGALRM):\n"
              "    signal.signal(s, signal.SIG_IGN)\n"
              "while True:\n"
              "    try:\n"
              "        pass\n"
              "    except BaseException:\n"
              "        pass\n")
    g, cell = graded(ref, tmp_path, "sigint", cell=source)
    assert g.total == 11
    assert f"timed out in cell {cell}" in g.error


def test_calls_sys_exit(ref, tmp_path):
    g, cell = graded(ref, tmp_path, "sysexit", cell="import sys\nsys.exit(3)\n")
    assert g.total == 11
    assert f"cell {cell} raised SystemExit" in g.error


def test_calls_os_exit(ref, tmp_path):
    g, cell = graded(ref, tmp_path, "osexit", cell="import os\nos._exit(0)\n")
    assert g.total == 11
    assert f"exited with status 0 (os._exit, or a kill) in cell {cell}" in g.error


@pytest.mark.parametrize("how", [
    "import os, signal\nos.kill(os.getpid(), signal.SIGKILL)\n",
    "import os, signal\nos.killpg(0, signal.SIGKILL)\n",
])
def test_kills_its_own_process(ref, tmp_path, how):
    g, cell = graded(ref, tmp_path, "kill", cell=how)
    assert g.total == 11
    assert f"in cell {cell}" in g.error and "killed by SIG" in g.error


def test_cannot_signal_the_jails_first_process(ref, tmp_path):
    """The submission is not the jail's root (where the grader runs as root): its parent, the
    jail's pid 1, refuses its signals; elsewhere killing pid 1 ends the attempt, as a kill."""
    how = "import os, signal\nos.kill(os.getppid(), signal.SIGKILL)\nos.kill(os.getpid(), signal.SIGTERM)\n"
    g, cell = graded(ref, tmp_path, "killparent", cell=how)
    assert g.total == 11
    if os.geteuid() == 0:
        assert f"cell {cell} raised PermissionError" in g.error
    else:
        assert f"in cell {cell}" in g.error and "killed by SIG" in g.error


def test_raises_in_the_first_cell(ref, tmp_path):
    g = grade_submission(ref, submission(ref.exercise, tmp_path, "first", insert=[(0, "raise RuntimeError('boom')")]), LIMITS)
    assert g.total == 11
    assert "cell 1 raised RuntimeError: boom" in g.error


def test_prints_50_mb(ref, tmp_path):
    g, _ = graded(ref, tmp_path, "print", cell="import sys\nsys.stdout.write('x' * 50_000_000)\nprint('y' * 10)\n")
    assert g.total == 11
    assert g.output_truncated and g.output_bytes >= 50_000_000
    assert len(str(g.to_json())) < 100_000


def test_rigged_objects_score_zero(ref, tmp_path):
    rigged = ("class Anything:\n"
              "    def __eq__(self, other): return True\n"
              "    __ne__ = __lt__ = __le__ = __gt__ = __ge__ = lambda self, other: False\n"
              "    def __abs__(self): return 0.0\n"
              "    def __float__(self): return 0.0\n"
              "    def __sub__(self, other): return Anything()\n"
              "    __rsub__ = __add__ = __radd__ = __mul__ = __rmul__ = __truediv__ = __sub__\n"
              "    def __array__(self, *a, **k): raise TypeError\n"
              "    def __len__(self): return 0\n"
              "class Float(float):\n"
              "    def __eq__(self, other): return True\n"
              "    def __float__(self): return 0.1\n"
              "class Array(np.ndarray):\n"
              "    def __eq__(self, other): return np.ones(np.shape(other), bool)\n")
    replace = {"gd_step": rigged + "def gd_step(theta, grad, eta):\n    return Anything()\n",
               "divergence_threshold": "def divergence_threshold(H):\n    return Float(0.0)\n",
               "best_fixed_step": "def best_fixed_step(H):\n    return np.zeros(1).view(Array)\n"}
    g, _ = graded(ref, tmp_path, "rigged", replace=replace)
    assert g.questions["q1"]["score"] == g.questions["q2"]["score"] == g.questions["q3"]["score"] == 0
    assert g.total == 4  # q4 is honest
    # the in-place case feeds the answer through np.asarray, where Anything's __array__ raises
    in_place = {c.id for c in ref.exercise.cases if c.func == "theta_after_gd_step"}
    assert in_place and all(c.score == 0 for c in g.cases if c.id in in_place)
    assert all("not plain data" in c.message for c in g.cases if c.question != "q4" and c.id not in in_place)


def test_monkeypatching_comparisons_and_the_grader_gains_nothing(ref, tmp_path):
    patches = ("import sys, json, math, builtins\n"
               "always = lambda *a, **k: True\n"
               "np.allclose = np.isclose = np.array_equal = np.array_equiv = math.isclose = always\n"
               "np.testing.assert_allclose = np.testing.assert_array_equal = lambda *a, **k: None\n"
               "harness = sys.modules['__main__']\n"
               "for name in dir(harness):\n"
               "    if callable(getattr(harness, name)) and not name.startswith('__'):\n"
               "        try:\n"
               "            setattr(harness, name, always)\n"
               "        except Exception:\n"
               "            pass\n"
               "for module in ('lrcourse.grading.compare', 'lrcourse.grading.scoring', 'otter'):\n"
               "    try:\n"
               "        m = __import__(module, fromlist=['x'])\n"
               "        for name in dir(m):\n"
               "            setattr(m, name, always)\n"
               "    except Exception:\n"
               "        pass\n"
               "grader.check = always\n")
    g, _ = graded(ref, tmp_path, "patch", cell=patches,
                  replace={"gd_step": WRONG_GD_STEP, "divergence_threshold": WRONG_THRESHOLD})
    assert g.questions["q1"]["score"] == 0 and g.questions["q2"]["score"] == 0
    assert g.total <= 6  # at most the untouched, honest q3 and q4


def test_monkeypatching_torch_allclose_gains_nothing(ref, tmp_path):
    patches = ("import torch\n"
               "torch.allclose = torch.equal = lambda *a, **k: True\n"
               "torch.testing.assert_close = lambda *a, **k: None\n"
               "torch.Tensor.__eq__ = lambda self, other: torch.ones((), dtype=torch.bool)\n")
    replace = {"gd_step": "import torch\ndef gd_step(theta, grad, eta):\n    return torch.zeros(3)\n"}
    slow_import = Limits(cell=60.0, case=5.0, total=120.0)  # importing torch takes seconds
    g, _ = graded(ref, tmp_path, "torchpatch", slow_import, cell=patches, replace=replace)
    assert not g.errors
    assert g.questions["q1"]["score"] == 0
    assert g.total == 8
    assert "expected" in g.cases[0].message


def _fingerprint(folder: Path) -> dict:
    return {str(p): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(folder.rglob("*")) if p.is_file() and "__pycache__" not in p.parts}


def test_writes_to_home_startup_and_exercise_folders_affect_no_later_grading(ref, tmp_path):
    import lrcourse.grading
    real_home = Path.home()
    targets = [real_home / ".ipython/profile_default/startup/00-lrcourse-rig.py",
               real_home / ".lrcourse-rig",
               EXERCISES / "01-gradient-descent" / "lrcourse-rig.txt",
               EXERCISES / "01-gradient-descent" / "source" / "01-gradient-descent.ipynb",
               Path(lrcourse.grading.__file__).with_name("compare.py"),
               Path("/tmp/lrcourse-rig.py")]
    rig = ("import numpy as np\n"
           "def gd_step(theta, grad, eta):\n    return np.asarray(theta) - eta * np.asarray(grad)\n")
    source = ("import os\n"
              f"rig = {rig!r}\n"
              "home = os.path.expanduser('~')\n"
              "local = [home + '/.ipython/profile_default/startup/00-rig.py', home + '/.bashrc',\n"
              "         home + '/.config/matplotlib/matplotlibrc', os.getcwd() + '/rig.py', '/tmp/rig.py']\n"
              f"for path in local + {[str(t) for t in targets]!r}:\n"
              "    try:\n"
              "        os.makedirs(os.path.dirname(path), exist_ok=True)\n"
              "        with open(path, 'w') as f:\n"
              "            f.write(rig)\n"
              "    except OSError:\n"
              "        pass\n")
    before = _fingerprint(EXERCISES) | _fingerprint(Path(lrcourse.grading.__file__).parent)
    hostile = submission(ref.exercise, tmp_path, "writer", insert=[(first_code_position(ref.exercise), source)])
    # a later, honest submission that answered only q2: the planted gd_step must not help it
    sols = solutions(ref.exercise)
    honest = submission(ref.exercise, tmp_path, "honest", solved=False,
                        replace={"divergence_threshold": sols["divergence_threshold"]})
    first, second = grade(ref.exercise, [hostile, honest], LIMITS)
    assert first.total == 11
    assert second.total == 2 and second.questions["q1"]["score"] == 0
    again = grade_submission(ref, honest, LIMITS)
    assert again.total == 2
    assert not any(t.exists() for t in targets if t.name != "01-gradient-descent.ipynb" and t.name != "compare.py")
    after = _fingerprint(EXERCISES) | _fingerprint(Path(lrcourse.grading.__file__).parent)
    assert after == before


SEARCH = '''
import os
def search(secrets, root="/"):
    """Paths naming an exercise set, and files holding a secret (contents read outside the OS's
    and Python's own trees, which are public), under root; and secrets in the environment."""
    hits = []
    for top, dirs, files in os.walk(root):
        if top.startswith(("/proc", "/sys", "/dev")):
            dirs[:] = []
            continue
        hits += [os.path.join(top, n) for n in dirs + files if "exercises" in n or "gradient-descent" in n]
        if top.startswith("/usr") or "site-packages" in top or "/lib/python3" in top:
            continue
        for name in files:
            path = os.path.join(top, name)
            try:
                if os.path.getsize(path) > 2_000_000:
                    continue
                with open(path, "rb") as f:
                    data = f.read()
            except OSError:
                continue
            hits += [path for s in secrets if s.encode() in data]
    hits += [f"env: {v}" for v in os.environ.values() for s in secrets if s in v]
    return sorted(set(hits))
'''


def test_cannot_find_hidden_tests_or_solutions(ref):
    ex = ref.exercise
    secrets = [s for s in ex.solutions if len(s) >= 20] + [c.source for c in ex.cases]
    assert len(secrets) >= 10
    run = run_notebook([(1, SEARCH)], [{"id": "x", "func": "search", "args": [secrets],
                                        "kwargs": {"__dict__": {}}}],
                       limits=Limits(cell=10, case=120, total=180))
    assert run.answers["x"] == {"value": []}, run.answers["x"]
    # the same search finds them where they are, outside the jail: it is not blind
    namespace = {}
    exec(SEARCH, namespace)
    assert str(ex.master) in namespace["search"](secrets, root=str(EXERCISES))


def test_has_no_network(ref, tmp_path):
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(1)
    server.setblocking(False)
    port = server.getsockname()[1]
    probe = ("import socket\n"
             "def probe(port):\n"
             "    out = []\n"
             "    for host in (('127.0.0.1', port), ('1.1.1.1', 53), ('8.8.8.8', 443)):\n"
             "        s = socket.socket()\n"
             "        s.settimeout(1)\n"
             "        try:\n"
             "            s.connect(host)\n"
             "            out.append('connected')\n"
             "        except OSError as e:\n"
             "            out.append(type(e).__name__)\n"
             "    return out\n")
    run = run_notebook([(1, probe)], [{"id": "x", "func": "probe", "args": [port],
                                       "kwargs": {"__dict__": {}}}], limits=LIMITS)
    outcomes = run.answers["x"]["value"]
    assert len(outcomes) == 3 and "connected" not in outcomes
    with pytest.raises(BlockingIOError):
        server.accept()
    server.close()


def test_processes_it_leaves_behind_are_killed(ref, tmp_path):
    source = ("import subprocess, os\n"
              "p = subprocess.Popen(['sleep', '4242'], start_new_session=True)\n"
              "if os.fork() == 0:\n"
              "    os.setsid()\n"
              "    os.execvp('sleep', ['sleep', '4243'])\n"
              "print('spawned', p.pid, p.poll())\n")
    g, _ = graded(ref, tmp_path, "orphans", cell=source)
    assert g.total == 11
    assert "spawned" in g.output and "None" in g.output  # the sleeper was running
    left = subprocess.run(["ps", "-eo", "args"], capture_output=True, text=True).stdout
    assert "sleep 4242" not in left and "sleep 4243" not in left


def test_huge_and_deep_answers_score_zero_and_harm_nothing(ref, tmp_path):
    replace = {"gd_step": "def gd_step(theta, grad, eta):\n    return list(range(10_000_000))\n",
               "divergence_threshold": ("def divergence_threshold(H):\n    x = []\n"
                                        "    for _ in range(100_000):\n        x = [x]\n    return x\n"),
               "best_fixed_step": "def best_fixed_step(H):\n    return 'x' * 60_000_000\n"}
    g, _ = graded(ref, tmp_path, "huge", replace=replace)
    assert g.total == 4  # q4 is honest
    assert g.questions["q1"]["score"] == g.questions["q2"]["score"] == g.questions["q3"]["score"] == 0


def test_hostile_submissions_do_not_disturb_the_others_in_one_command(ref, tmp_path):
    ex = ref.exercise
    at = first_code_position(ex)
    subs = [submission(ex, tmp_path, "a_loop", insert=[(at, "while True: pass")]),
            submission(ex, tmp_path, "b_exit", insert=[(at, "import os\nos._exit(1)")]),
            submission(ex, tmp_path, "c_wrong", replace={"gd_step": WRONG_GD_STEP}),
            submission(ex, tmp_path, "d_honest")]
    totals = [g.total for g in grade(ex, subs, LIMITS)]
    assert totals == [11, 11, 8, 11]  # a wrong step also loses the in-place case (θ and step)


def test_without_the_jail_time_limits_and_crashes_still_hold(ref, tmp_path):
    """The fallback (no namespaces): only benign failures here, nothing that reaches outside."""
    limits = Limits(cell=2.0, case=2.0, total=30.0, sandbox=False)
    ex = ref.exercise
    at = first_code_position(ex)
    subs = [submission(ex, tmp_path, "loop", insert=[(at, "while True: pass")]),
            submission(ex, tmp_path, "exit", insert=[(at, "import os\nos._exit(0)")])]
    loop, exited = (grade_submission(ref, s, limits) for s in subs)
    assert loop.total == exited.total == 11
    assert f"timed out in cell {at + 1}" in loop.error and "none: disabled" in loop.sandbox
    assert f"in cell {at + 1}" in exited.error


def test_forging_and_flooding_the_grader_messages_gains_nothing(ref, tmp_path):
    """It writes fake 'answer' and 'done' messages, then a flood, to every descriptor it has."""
    ids = [c.id for c in ref.exercise.cases]
    forge = ("import os, json\n"
             f"fake = ''.join(json.dumps({{'event': 'answer', 'id': i, 'value': 0.5}}) + '\\n' for i in {ids!r})\n"
             "fake += json.dumps({'event': 'done'}) + '\\n'\n"
             "for fd in range(3, 64):\n"
             "    try:\n"
             "        os.write(fd, fake.encode())\n"
             "        os.write(fd, b'\\n' * 10_000_000)\n"
             "    except OSError:\n"
             "        pass\n")
    g, cell = graded(ref, tmp_path, "forger", cell=forge, replace={"gd_step": WRONG_GD_STEP})
    assert g.questions["q1"]["score"] == 0
    assert g.total <= 8
    assert f"in cell {cell}" in g.error


def test_shell_escapes_in_an_answer_cell_run_and_the_cell_goes_on(ref, tmp_path):
    """``!cmd`` gets a terminal (a private devpts) as in Jupyter; the rest of the cell runs."""
    sols = solutions(ref.exercise)
    replace = {"gd_step": "!echo shell-says-hi\n" + sols["gd_step"]}
    g, _ = graded(ref, tmp_path, "bang", replace=replace)
    assert not g.errors, g.errors
    assert g.total == 11 and "shell-says-hi" in g.output


def test_the_limits_in_force_are_reported(ref, tmp_path):
    g, _ = graded(ref, tmp_path, "limits")
    assert any(e.startswith("keyring:") for e in g.enforced)
    assert any(e.startswith("system calls: seccomp") for e in g.enforced) or os.uname().machine != "x86_64"
    if os.geteuid() == 0:  # the submission is host uid JAIL_HOST_ID, so RLIMIT_NPROC counts
        assert any(e.startswith("processes: RLIMIT_NPROC") for e in g.enforced), g.enforced
