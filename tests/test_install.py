"""README's install takes torch's CPU build where the default index would give a CUDA one.

A temporary "default index" on 127.0.0.1 serves a fake torch 2.13.0 that pulls a fake nvidia
wheel (as the public index's Linux torch does); a second server plays PyTorch's CPU index with
a fake 2.13.0+cpu. tools/install_requirements.py (what `make setup` runs) must take the CPU
build when that index answers, and finish quickly, taking the default index's torch, when it
does not (connection refused, or a server that never answers).
"""
from __future__ import annotations

import functools
import hashlib
import http.server
import os
import socket
import subprocess
import sys
import threading
import time
import venv
import zipfile
from pathlib import Path

import pytest

from conftest import ROOT

pytestmark = pytest.mark.slow
SCRIPT = ROOT / "tools" / "install_requirements.py"


def make_wheel(folder: Path, name: str, version: str, requires: list[str] = ()) -> Path:
    """A minimal pure-Python wheel with one module (so `import name` works)."""
    dist = f"{name.replace('-', '_')}-{version}"
    path = folder / f"{dist}-py3-none-any.whl"
    files = {
        f"{name.replace('-', '_')}/__init__.py": f"__version__ = {version!r}\n",
        f"{dist}.dist-info/METADATA": "Metadata-Version: 2.1\nName: " + name + "\nVersion: " + version
        + "\n" + "".join(f"Requires-Dist: {r}\n" for r in requires),
        f"{dist}.dist-info/WHEEL": "Wheel-Version: 1.0\nGenerator: test\nRoot-Is-Purelib: true\nTag: py3-none-any\n",
    }
    record = "".join(f"{p},,\n" for p in files) + f"{dist}.dist-info/RECORD,,\n"
    with zipfile.ZipFile(path, "w") as z:
        for p, text in files.items():
            z.writestr(p, text)
        z.writestr(f"{dist}.dist-info/RECORD", record)
    return path


def simple_index(root: Path, wheels: dict[str, list[Path]]) -> None:
    """A PEP 503 simple index under ``root``: root/<project>/index.html links to its wheels."""
    for project, files in wheels.items():
        page = root / project
        page.mkdir(parents=True, exist_ok=True)
        links = []
        for wheel in files:
            (page / wheel.name).write_bytes(wheel.read_bytes())
            digest = hashlib.sha256(wheel.read_bytes()).hexdigest()
            links.append(f'<a href="{wheel.name}#sha256={digest}">{wheel.name}</a><br>')
        (page / "index.html").write_text("<html><body>" + "".join(links) + "</body></html>")


class Quiet(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args):
        pass


def serve(folder: Path):
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(Quiet, directory=str(folder)))
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server


@pytest.fixture(scope="module")
def indexes(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("indexes")
    wheels = tmp / "wheels"
    wheels.mkdir()
    cuda_torch = make_wheel(wheels, "torch", "2.13.0", ["nvidia-fake-cudnn==9.0"])
    nvidia = make_wheel(wheels, "nvidia-fake-cudnn", "9.0")
    helper = make_wheel(wheels, "lrcourse-fake-dep", "1.0")
    cpu_dir = tmp / "cpu"
    (cpu_dir / "wheels").mkdir(parents=True)
    cpu_torch = make_wheel(cpu_dir / "wheels", "torch", "2.13.0+cpu")
    simple_index(tmp / "default" / "simple", {"torch": [cuda_torch], "nvidia-fake-cudnn": [nvidia],
                                              "lrcourse-fake-dep": [helper]})
    simple_index(cpu_dir / "whl", {"torch": [cpu_torch]})
    default_server, cpu_server = serve(tmp / "default"), serve(cpu_dir)
    requirements = tmp / "requirements.txt"
    requirements.write_text("# as in the repository\ntorch==2.13.0\nlrcourse-fake-dep==1.0\n")
    yield {
        "default": f"http://127.0.0.1:{default_server.server_address[1]}/simple",
        "cpu": f"http://127.0.0.1:{cpu_server.server_address[1]}/whl",
        "requirements": requirements,
    }
    default_server.shutdown()
    cpu_server.shutdown()


def install(tmp_path, indexes, cpu_index: str):
    """Run the install script in a fresh venv against the fake indexes; (venv python, output, seconds)."""
    env_dir = tmp_path / "venv"
    venv.EnvBuilder(with_pip=True).create(env_dir)
    python = env_dir / "bin" / "python"
    env = {k: v for k, v in os.environ.items() if not k.startswith("PIP_")}
    env.update(PIP_CONFIG_FILE=os.devnull, PIP_INDEX_URL=indexes["default"], PIP_DISABLE_PIP_VERSION_CHECK="1",
               PIP_NO_CACHE_DIR="1", TORCH_CPU_INDEX=cpu_index)
    start = time.monotonic()
    result = subprocess.run([str(python), str(SCRIPT), "-r", str(indexes["requirements"])],
                            env=env, capture_output=True, text=True, timeout=300)
    seconds = time.monotonic() - start
    assert result.returncode == 0, result.stdout + result.stderr
    return python, result.stdout + result.stderr, seconds


def installed(python: Path) -> dict[str, str]:
    out = subprocess.run([str(python), "-m", "pip", "list", "--format=freeze"], capture_output=True, text=True,
                         env={**os.environ, "PIP_CONFIG_FILE": os.devnull}).stdout
    return dict(line.split("==") for line in out.split() if "==" in line)


def test_the_cpu_index_wins_when_it_answers(tmp_path, indexes):
    python, output, seconds = install(tmp_path, indexes, indexes["cpu"])
    packages = installed(python)
    assert packages["torch"] == "2.13.0+cpu", output
    assert "nvidia-fake-cudnn" not in packages, output
    assert packages["lrcourse-fake-dep"] == "1.0"
    print(f"install with the CPU index answering: {seconds:.1f} s")


def test_without_the_cpu_index_plain_torch_is_taken_quickly(tmp_path, indexes):
    """Connection refused: no retries against the dead host, the configured index's torch is used."""
    with socket.socket() as s:  # a port with nobody listening
        s.bind(("127.0.0.1", 0))
        dead = f"http://127.0.0.1:{s.getsockname()[1]}/whl"
    python, output, seconds = install(tmp_path, indexes, dead)
    packages = installed(python)
    assert packages["torch"] == "2.13.0"
    assert "did not answer" in output and "WARNING: the torch installed is a CUDA build" in output
    assert seconds < 60, f"took {seconds:.0f} s"
    print(f"install with the CPU index refusing connections: {seconds:.1f} s")


def test_a_cpu_index_that_never_answers_does_not_hang(tmp_path, indexes):
    with socket.socket() as s:  # accepts connections (backlog) but never replies
        s.bind(("127.0.0.1", 0))
        s.listen(8)
        black_hole = f"http://127.0.0.1:{s.getsockname()[1]}/whl"
        python, output, seconds = install(tmp_path, indexes, black_hole)
    assert installed(python)["torch"] == "2.13.0"
    assert "did not answer in 5" in output
    assert seconds < 60, f"took {seconds:.0f} s"
    print(f"install with a silent CPU index: {seconds:.1f} s")


def test_pinned_torch_line_is_read_from_the_requirements():
    sys.path.insert(0, str(SCRIPT.parent))
    try:
        import install_requirements
    finally:
        sys.path.pop(0)
    assert install_requirements.pinned_torch(str(ROOT / "requirements.txt")) == "torch==2.13.0"
