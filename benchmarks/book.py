"""Book build costs: a build from a clean cache, a no-change rebuild, and each chapter's execution.

    python benchmarks/book.py

Targets: each chapter ≤ 90 s, whole book from a clean cache ≤ 10 min, no-change rebuild
≤ 60 s. Page weight: each chapter's HTML (gzip), and its slider frames (WebP files, fetched
one at a time as the reader moves a slider; "all frames" is what a reader who visits every
frame of every slider downloads). The browser's view of a page's weight (scripts, fonts, on
load) is ``python tests/sitebrowser.py --weights _build/html book/…``. Builds into a temporary
folder (the repo's own _build is left alone).
"""
import gzip
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
        site = out / "_build" / "html"
        print(f"{'chapter':<40}{'execute':>10}{'HTML gz':>10}{'frames':>8}{'all frames':>12}")
        for record in sorted(cache.list_cache_records(), key=lambda r: r.uri):
            doc = Path(record.uri).relative_to(ROOT).with_suffix("")
            html = (site / doc).with_suffix(".html").read_bytes()
            frames = set(re.findall(rb"_static/lr-frames/([0-9a-f]+\.webp)", html))
            frames_mb = sum((site / "_static/lr-frames" / f.decode()).stat().st_size for f in frames) / 1e6
            print(f"{str(doc):<40}{record.data.get('execution_seconds', float('nan')):>9.1f}s"
                  f"{len(gzip.compress(html)) / 1e3:>8.0f}KB{len(frames):>8}{frames_mb:>10.2f}MB")
        print(f"whole book, clean cache: {clean:.1f} s (target ≤ 600 s); no-change rebuild: {rebuild:.1f} s (target ≤ 60 s)")


if __name__ == "__main__":
    main()
