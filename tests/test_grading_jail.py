"""The jail's guarantees, one test each: keyring, system-call filter, non-root submission and
process limit, cgroups, parent death (the grader killed three ways), a terminal for ``!cmd``.

Hostile code runs only in the jail (through :func:`run_notebook` or ``lrcourse-grade``); the
unit tests fork a child of this test process that runs only the test's own code. Every signal
sent here goes to a process this test started itself.
"""
import ctypes
import errno
import json
import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from lrcourse.grading import Limits, run_notebook
from lrcourse.grading import jail
from test_grading_helpers import ROOT, exercise, first_code_position, require_jail, submission

pytestmark = pytest.mark.slow
x86_64 = pytest.mark.skipif(os.uname().machine != "x86_64", reason="the filter and keyring calls are x86_64's")

SYS_ADD_KEY, SYS_KEYCTL, KEYCTL_SEARCH, KEY_SPEC_SESSION_KEYRING = 248, 250, 10, -3

KEYRING_CALLS = '''
import ctypes, errno, os
libc = ctypes.CDLL(None, use_errno=True)
libc.syscall.restype = ctypes.c_long
def call(*args):
    ctypes.set_errno(0)
    r = libc.syscall(*[ctypes.c_long(a) if isinstance(a, int) else a for a in args])
    return r, errno.errorcode.get(ctypes.get_errno(), "0")
'''


def in_forked_child(fn):
    """Run ``fn()`` (the test's own code) in a forked child; its JSON result, or its exit status."""
    r, w = os.pipe()
    pid = os.fork()
    if pid == 0:
        os.close(r)
        try:
            os.write(w, json.dumps(fn()).encode())
        finally:
            os._exit(0)
    os.close(w)
    with os.fdopen(r, "rb") as f:
        data = f.read()
    _, status = os.waitpid(pid, 0)
    return json.loads(data) if data else os.waitstatus_to_exitcode(status)


def _call(*args):
    libc = ctypes.CDLL(None, use_errno=True)
    libc.syscall.restype = ctypes.c_long
    ctypes.set_errno(0)
    result = libc.syscall(*[ctypes.c_long(a) if isinstance(a, int) else a for a in args])
    return result, ctypes.get_errno()


def _add_secret():
    """A new session keyring holding a 'user' key with a secret (only in this forked child)."""
    _call(SYS_KEYCTL, 1, None)  # KEYCTL_JOIN_SESSION_KEYRING: keep the test's own keyring clean
    serial, err = _call(SYS_ADD_KEY, b"user", b"lrcourse-secret", b"s3cret-answer-837", 17,
                        KEY_SPEC_SESSION_KEYRING)
    assert serial > 0, os.strerror(err)
    return serial


@x86_64
def test_the_child_joins_a_fresh_session_keyring():
    def probe():
        _add_secret()
        before = _call(SYS_KEYCTL, KEYCTL_SEARCH, KEY_SPEC_SESSION_KEYRING, b"user", b"lrcourse-secret", 0)
        jail.join_fresh_session_keyring()
        after = _call(SYS_KEYCTL, KEYCTL_SEARCH, KEY_SPEC_SESSION_KEYRING, b"user", b"lrcourse-secret", 0)
        return before[0] > 0, after
    found_before, (result, err) = in_forked_child(probe)
    assert found_before  # the search is not blind: it finds the key before the switch
    assert result == -1 and err == errno.ENOKEY


@x86_64
def test_the_filter_refuses_keyrings_mounts_namespaces_and_ptrace_and_allows_fork():
    def probe():
        jail.install_syscall_filter()
        out = {name: _call(nr, 0, 0, 0, 0, 0)[1] for name, nr in
               (("keyctl", 250), ("add_key", 248), ("request_key", 249), ("unshare", 272),
                ("mount", 165), ("ptrace", 101), ("bpf", 321), ("setns", 308), ("clone3", 435))}
        out["clone_newuser"] = _call(56, 0x10000000 | signal.SIGCHLD, 0, 0, 0, 0)[1]
        pid = os.fork()  # an ordinary fork still works
        if pid == 0:
            os._exit(7)
        out["fork"] = os.waitstatus_to_exitcode(os.waitpid(pid, 0)[1])
        out["run"] = subprocess.run(["true"]).returncode
        return out
    out = in_forked_child(probe)
    for name in ("keyctl", "add_key", "request_key", "unshare", "mount", "ptrace", "bpf", "setns",
                 "clone_newuser"):
        assert out[name] == errno.EPERM, name
    assert out["clone3"] == errno.ENOSYS  # so that glibc falls back to clone, as under Docker
    assert out["fork"] == 7 and out["run"] == 0


@x86_64
def test_keyrings_are_out_of_reach_in_the_jail():
    """A secret in the grader's session keyring: the jail can neither find nor read it, nor add a
    key for a later submission, and /proc/keys lists nothing. Run from a helper process that
    has its own session keyring, so that this test's keyring is never touched."""
    require_jail()
    script = KEYRING_CALLS + textwrap.dedent('''
        import json, sys
        call(250, 1, None)   # a session keyring of this helper's own
        secret = call(248, b"user", b"lrcourse-secret", b"s3cret-answer-837", 17, -3)[0]
        assert secret > 0
        from lrcourse.grading import run_notebook, Limits
        cell = sys.argv[1]
        runs = [run_notebook([(1, cell)], [{"id": "x", "func": "probe", "args": [secret],
                                            "kwargs": {"__dict__": {}}}],
                             limits=Limits(cell=20, case=10, total=60)) for _ in range(2)]
        print(json.dumps([r.answers["x"] for r in runs]))
    ''')
    cell = KEYRING_CALLS + textwrap.dedent('''
        def probe(secret):
            buf = ctypes.create_string_buffer(64)
            return {"search": call(250, 10, -3, b"user", b"lrcourse-secret", 0),
                    "read": call(250, 11, secret, buf, 64), "payload": buf.value.decode(errors="replace"),
                    "add": call(248, b"user", b"planted-by-a", b"answer", 6, -3),
                    "find_planted": call(250, 10, -3, b"user", b"planted-by-a", 0),
                    "proc_keys": open("/proc/keys").read()}
    ''')
    result = subprocess.run([sys.executable, "-c", script, cell], capture_output=True, text=True,
                            cwd=ROOT, timeout=300)
    assert result.returncode == 0, result.stderr[-2000:]
    for answer in json.loads(result.stdout.splitlines()[-1]):
        got = answer["value"]
        assert got["search"] == [-1, "EPERM"] and got["read"] == [-1, "EPERM"]
        assert got["add"] == [-1, "EPERM"] and got["find_planted"] == [-1, "EPERM"]
        assert "s3cret" not in json.dumps(got) and got["proc_keys"] == ""


def test_the_submission_is_not_root_and_a_fork_bomb_meets_the_process_limit():
    require_jail()
    limits = Limits(cell=20, case=10, total=60, processes=32)
    probe = run_notebook([(1, "import os, resource\nuid = os.getuid()\n"
                             "nproc = resource.getrlimit(resource.RLIMIT_NPROC)\n")], [], limits=limits)
    process_limits = [e for e in probe.enforced if e.startswith("processes:") or "pids.max" in e]
    if not process_limits:  # never run a fork bomb without a process limit in force
        pytest.skip(f"no process limit in force in the jail here: {probe.enforced}")
    if os.geteuid() == 0:
        assert any(f"uid {jail.SUBMISSION_ID}, host uid {jail.JAIL_HOST_ID}" in e for e in probe.enforced)
    bomb = ("import os, time\n"
            "start, n, err = time.monotonic(), 0, None\n"
            "try:\n"
            "    for _ in range(5000):\n"
            "        if os.fork() == 0:\n"
            "            time.sleep(30)\n"
            "            os._exit(0)\n"
            "        n += 1\n"
            "except OSError as e:\n"
            "    err = e.errno\n"
            "print('forked', n, 'errno', err, 'after', round(time.monotonic() - start, 1))\n"
            "def count():\n    return [n, err]\n")
    run = run_notebook([(1, bomb)], [{"id": "x", "func": "count", "args": [], "kwargs": {"__dict__": {}}}],
                       limits=limits)
    n, err = run.answers["x"]["value"]
    assert err == errno.EAGAIN and 0 < n < 32, run.output  # stopped by the limit ...
    assert not run.errors, run.errors                     # ... not by the clock
    assert run.seconds < 15


def _fork_until_refused(limit: int) -> list:
    n, err = 0, None
    try:
        for _ in range(limit):
            if os.fork() == 0:
                time.sleep(3)
                os._exit(0)
            n += 1
    except OSError as e:
        err = e.errno
    return [n, err]


def test_a_cgroup_bounds_processes_and_memory_where_one_is_writable():
    made = jail.make_cgroups(f"lrcourse-test-{os.getpid()}", pids=6, memory=96 << 20)
    if not made:
        pytest.skip("no writable cgroup (v2 with pids and memory, or v1) on this machine")
    try:
        said = " ".join(s for _, s in made)
        folders = [d for d, _ in made]
        if "pids.max" in said:
            def forks():
                assert not jail.join_cgroups(folders)
                return _fork_until_refused(20)  # 20 at most, each exits after 3 s
            n, err = in_forked_child(forks)
            assert err == errno.EAGAIN and n <= 6
        if "memory" in said:
            def allocate():
                assert not jail.join_cgroups(folders)
                block = b"x" * (400 << 20)  # written, so resident: more than the cgroup allows
                return len(block)
            assert in_forked_child(allocate) == -signal.SIGKILL  # the kernel's OOM killer
    finally:
        jail.remove_cgroups(folders)
    assert not any(os.path.exists(d) for d in folders)


def test_bang_commands_get_a_terminal_and_the_cell_goes_on():
    require_jail()
    run = run_notebook([(1, "!echo from-a-shell\nx = 42\nprint('after', x)\n")], [],
                       limits=Limits(cell=20, case=10, total=60))
    assert not run.errors, run.errors
    assert "from-a-shell" in run.output and "after 42" in run.output


# --- the grader killed: nothing of its jail survives -------------------------------------

def _descendants(root: int) -> set[int]:
    children = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                with open(f"/proc/{entry}/stat") as f:
                    fields = f.read().rsplit(")", 1)[1].split()
                children.setdefault(int(fields[1]), []).append(int(entry))
            except (OSError, IndexError, ValueError):
                pass
    found, todo = set(), [root]
    while todo:
        for c in children.get(todo.pop(), []):
            if c not in found:
                found.add(c)
                todo.append(c)
    return found


def _alive(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False


def _cmdline(pid: int) -> str:
    try:
        with open(f"/proc/{pid}/cmdline", "rb") as f:
            return f.read().decode(errors="replace")
    except OSError:
        return ""


@pytest.mark.parametrize("how", [signal.SIGTERM, signal.SIGHUP, signal.SIGKILL])
def test_killing_the_grader_leaves_no_process_and_no_folder(tmp_path, how):
    require_jail()
    ex = exercise("01-gradient-descent")
    spin = submission(ex, tmp_path, "spin", insert=[(first_code_position(ex), "while True:\n    pass\n")])
    tmp_before = {p.name for p in Path("/tmp").glob("lrcourse-grade-*")}
    grader = subprocess.Popen([sys.executable, "-m", "lrcourse.grading.cli", "01-gradient-descent",
                               str(spin), "--cell-timeout", "120", "--timeout", "300"],
                              cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                              start_new_session=True)
    try:
        deadline = time.monotonic() + 120
        seen = set()
        while time.monotonic() < deadline:  # until the submission (not the master) is running
            seen |= _descendants(grader.pid)
            if any('"reference": false' in _cmdline(p) for p in seen) and len(seen) >= 3:
                break
            assert grader.poll() is None, grader.stderr.read().decode()
            time.sleep(0.2)
        else:
            pytest.fail("the submission's jail never started")
        time.sleep(1.0)
        seen |= _descendants(grader.pid)
        cgroups = sorted({line.split(":", 2)[2].strip() for p in seen for line in
                          _read(f"/proc/{p}/cgroup").splitlines() if "lrcourse-grade-" in line})
        os.kill(grader.pid, how)  # the grader: a process this test started
        grader.wait(timeout=30)
        end = time.monotonic() + 15
        while time.monotonic() < end and any(_alive(p) for p in seen):
            time.sleep(0.2)
        assert not [p for p in seen if _alive(p)], [_cmdline(p) for p in seen if _alive(p)]
        assert {p.name for p in Path("/tmp").glob("lrcourse-grade-*")} <= tmp_before
        end = time.monotonic() + 10
        while time.monotonic() < end and _leftover_cgroups(cgroups):
            time.sleep(0.2)
        assert not _leftover_cgroups(cgroups)
    finally:
        if grader.poll() is None:
            grader.kill()
            grader.wait()


def _read(path: str) -> str:
    try:
        with open(path) as f:
            return f.read()
    except OSError:
        return ""


def _leftover_cgroups(paths: list[str]) -> list[str]:
    """Which of the cgroup paths (as /proc/PID/cgroup names them) still exist, in any hierarchy."""
    mounts = [line.split()[4] for line in _read("/proc/self/mountinfo").splitlines()
              if " - cgroup" in line]
    return [m + p for m in mounts for p in paths if os.path.isdir(m + p)]
