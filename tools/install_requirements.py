"""Install requirements.txt into this Python with PyTorch's CPU-only build of torch.

    python tools/install_requirements.py [-r requirements.txt] [more pip arguments]

`pip install -r requirements.txt` alone takes torch from the configured indexes. On the public
package index, `torch==2.13.0` for Linux x86_64 is a CUDA build (a ~527 MB wheel that pulls
several GB of nvidia-* wheels); this book needs only the CPU. So this script

1. asks PyTorch's CPU wheel index (``$TORCH_CPU_INDEX``, default
   https://download.pytorch.org/whl/cpu) for its torch page, once, with a short timeout;
2. if it answers, installs the pinned torch with that index added: its ``2.13.0+cpu`` sorts
   above a plain ``2.13.0``, so pip takes the CPU build. If it does not answer (no network, a
   firewall, an offline mirror), it says so and takes torch from the configured indexes, as a
   local mirror that serves the CPU build under the plain version does (and warns if the build
   it got needs CUDA wheels);
3. installs the requirements file; torch is already satisfied (``2.13.0+cpu`` satisfies
   ``torch==2.13.0``), so nothing else is fetched from the CPU index and no request waits on it.
"""
from __future__ import annotations

import argparse
import os
import re
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request

DEFAULT_CPU_INDEX = "https://download.pytorch.org/whl/cpu"
PROBE_TIMEOUT = 5.0  # seconds: one request, no retries


def pinned_torch(requirements: str) -> str | None:
    """The torch requirement line of a requirements file (e.g. 'torch==2.13.0'), or None."""
    with open(requirements, encoding="utf-8") as f:
        for line in f:
            line = line.split("#", 1)[0].strip()
            if re.match(r"torch\s*([=<>!~]=|$)", line):
                return line
    return None


def index_answers(index: str, timeout: float = PROBE_TIMEOUT) -> tuple[bool, str]:
    """(True, "") if ``index``/torch/ answers with a page within ``timeout`` s, else (False, why).

    The request runs in a daemon thread joined with the timeout, so that a name lookup that
    hangs (which a socket timeout does not cover) cannot hold the install up either.
    """
    url = index.rstrip("/") + "/torch/"
    outcome: list[tuple[bool, str]] = []

    def probe() -> None:
        try:
            with urllib.request.urlopen(url, timeout=timeout) as response:
                response.read(1)
                outcome.append((True, ""))
        except (urllib.error.URLError, OSError, ValueError) as exc:
            outcome.append((False, str(getattr(exc, "reason", exc))))

    thread = threading.Thread(target=probe, daemon=True)
    thread.start()
    thread.join(timeout)
    return outcome[0] if outcome else (False, f"no answer within {timeout:.0f} s")


def needs_cuda() -> bool:
    """Whether the installed torch declares nvidia-* (CUDA) dependencies."""
    from importlib import metadata

    try:
        requires = metadata.requires("torch") or []
    except metadata.PackageNotFoundError:
        return False
    return any(r.lower().startswith("nvidia-") for r in requires)


def pip(*args: str) -> None:
    command = [sys.executable, "-m", "pip", "install", *args]
    result = subprocess.run(command)
    if result.returncode != 0:
        sys.exit(f"install failed: {' '.join(command)}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("-r", "--requirements", default="requirements.txt")
    args, extra = parser.parse_known_args(argv)
    torch = pinned_torch(args.requirements)
    if torch is not None:
        index = os.environ.get("TORCH_CPU_INDEX", DEFAULT_CPU_INDEX)
        start = time.monotonic()
        reachable, why = index_answers(index)
        if reachable:
            print(f"install: {torch} from PyTorch's CPU index {index}", flush=True)
            pip(*extra, "--extra-index-url", index, torch)
        else:
            print(f"install: PyTorch's CPU index {index} did not answer in "
                  f"{time.monotonic() - start:.1f} s ({why}); taking {torch} from the configured "
                  "indexes", flush=True)
            pip(*extra, torch)
        if needs_cuda():
            print("install: WARNING: the torch installed is a CUDA build (it pulls nvidia-* "
                  f"wheels, several GB). For the CPU build, make {index} reachable, or set "
                  "TORCH_CPU_INDEX to a mirror of it, and run again.", flush=True)
    pip(*extra, "-r", args.requirements)
    return 0


if __name__ == "__main__":
    sys.exit(main())
