"""Book build costs: a build from a clean cache, a no-change rebuild, and each chapter's execution.

    python benchmarks/book.py

Targets: each chapter ≤ 90 s, whole book from a clean cache ≤ 10 min, no-change rebuild
≤ 60 s, a chapter's static frames ≤ 5 MB. Builds into a temporary folder (the repo's own
_build is left alone).
"""
import json
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
JB = str(Path(sys.executable).parent / "jupyter-book")


def build(out: Path) -> float:
    t0 = time.perf_counter()
    subprocess.run([JB, "build", str(ROOT), "-W", "-n", "--builder", "html", "--path-output", str(out)],
                   cwd=ROOT, check=True, capture_output=True)
    return time.perf_counter() - t0


def main():
    from jupyter_cache import get_cache

    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp)
        clean = build(out)
        rebuild = build(out)
        cache = get_cache(out / "_build" / ".jupyter_cache")
        print(f"{'chapter':<40}{'execute':>10}{'frames':>10}")
        for record in sorted(cache.list_cache_records(), key=lambda r: r.uri):
            doc = Path(record.uri).relative_to(ROOT).with_suffix("")
            html = (out / "_build" / "html" / doc).with_suffix(".html").read_text()
            state = re.findall(r'<script type="application/vnd.jupyter.widget-state\+json">(.*?)</script>', html, re.S)
            frames_mb = len(state[0]) / 1e6 if state else 0.0
            print(f"{str(doc):<40}{record.data.get('execution_seconds', float('nan')):>9.1f}s{frames_mb:>8.2f}MB")
        print(f"whole book, clean cache: {clean:.1f} s (target ≤ 600 s); no-change rebuild: {rebuild:.1f} s (target ≤ 60 s)")


if __name__ == "__main__":
    main()
