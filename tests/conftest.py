"""Shared pytest set-up: one thread for torch (small models are faster that way), fixed seeds."""
import os

os.environ.setdefault("MPLBACKEND", "Agg")

import torch

torch.set_num_threads(1)

import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(autouse=True)
def _no_global_torch_state_leaks():
    """A test that changes torch's default dtype must not change it for the tests after it."""
    dtype = torch.get_default_dtype()
    yield
    assert torch.get_default_dtype() == dtype, "a test changed torch's default dtype"


def offline_command(argv: list[str]) -> list[str]:
    """Wrap ``argv`` to run with no network (a new network namespace with only loopback up).

    Falls back to running it as is where unprivileged namespaces are unavailable; the
    caller can tell from the returned command.
    """
    if shutil.which("unshare") and shutil.which("ip"):
        probe = subprocess.run(["unshare", "-rn", "true"], capture_output=True)
        if probe.returncode == 0:
            inner = "ip link set lo up && exec " + " ".join(f"'{a}'" for a in argv)
            return ["unshare", "-rn", "sh", "-c", inner]
    return argv


def toc_chapters() -> list[str]:
    """Every document named in _toc.yml (the root and all chapters), as paths without suffix."""
    toc = yaml.safe_load((ROOT / "_toc.yml").read_text())
    docs = [toc["root"]]
    for part in toc.get("parts", []):
        docs += [c["file"] for c in part["chapters"]]
    return docs


@pytest.fixture(scope="session")
def built_site(tmp_path_factory):
    """Build the book from a clean execution cache, offline, with warnings as errors.

    Returns the site folder (…/_build/html). The log is kept beside it as build.log.
    """
    out = tmp_path_factory.mktemp("book")
    cmd = offline_command([
        str(Path(sys.executable).parent / "jupyter-book"), "build", str(ROOT), "-W", "-n",
        "--builder", "html", "--path-output", str(out),
    ])
    result = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, timeout=1500)
    (out / "build.log").write_text(result.stdout + result.stderr)
    assert result.returncode == 0, f"book build failed:\n{result.stdout[-4000:]}\n{result.stderr[-4000:]}"
    return out / "_build" / "html"


@pytest.fixture(scope="session")
def blobs64():
    """The seed articles' make_blobs problem in float64 (for oracle comparisons)."""
    from lrcourse import data

    return data.blobs(0, dtype=torch.float64)


@pytest.fixture(scope="session")
def blobs32():
    """The seed articles' make_blobs problem in float32 (as the chapters train it)."""
    from lrcourse import data

    return data.blobs(0)


@pytest.fixture(scope="module")
def chromium():
    """Debian's Chromium for the browser tests: a skip locally without it, a failure in CI."""
    import sitebrowser

    path = sitebrowser.chromium_path()
    if path is None:
        message = "Chromium is required for the browser tests: apt-get install chromium"
        if os.environ.get("CI"):
            pytest.fail(message)
        pytest.skip(message)
    return path
