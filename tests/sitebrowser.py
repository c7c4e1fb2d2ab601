"""Serve the built site on 127.0.0.1 and drive Debian's Chromium with Playwright.

Used by the browser tests and by ``python tests/sitebrowser.py PAGE OUT.png`` for screenshots.
Every request that does not go to the local server is recorded and aborted.
"""
from __future__ import annotations

import contextlib
import functools
import gzip
import http.server
import os
import re
import shutil
import sys
import threading
from pathlib import Path
from urllib.parse import urlparse

SITE = Path(__file__).resolve().parents[1] / "_build" / "html"
CHROMIUM_ARGS = [
    "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
]


def chromium_path() -> str | None:
    for name in ("chromium", "chromium-browser", "google-chrome"):
        found = shutil.which(name)
        if found:
            return found
    return None


class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args):
        pass


@contextlib.contextmanager
def serve(root: Path = SITE):
    handler = functools.partial(_QuietHandler, directory=str(root))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


class PageLog:
    """What a page did while open: console errors, uncaught exceptions, responses (for weight)."""

    def __init__(self):
        self.errors: list[str] = []
        self.responses: list = []

    def transfer(self) -> dict:
        """Bytes the page would transfer from a server that gzips (level 6) what compresses:
        {url: min(raw, gzip)} for every response so far."""
        sizes = {}
        for response in list(self.responses):
            try:
                body = response.body()
            except Exception:  # a redirect or an aborted request has no body
                continue
            sizes[response.url] = min(len(body), len(gzip.compress(body, 6)))
        return sizes


@contextlib.contextmanager
def open_page(path: str, root: Path = SITE, width: int = 1280, height: int = 1400, log: PageLog | None = None):
    """Yield (page, foreign_requests) for ``path`` of the site served locally. With ``log``,
    console errors, page errors and responses are recorded in it."""
    from playwright.sync_api import sync_playwright

    executable = chromium_path()
    if executable is None:
        raise RuntimeError("Chromium not found: install Debian's `chromium` (apt-get install chromium)")
    foreign: list[str] = []
    with serve(root) as base, sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=executable, args=CHROMIUM_ARGS, headless=True)
        try:
            page = browser.new_page(viewport={"width": width, "height": height})
            if log is not None:
                page.on("console", lambda m: m.type == "error" and log.errors.append(f"console: {m.text}"))
                page.on("pageerror", lambda e: log.errors.append(f"page error: {e}"))
                page.on("response", lambda r: log.responses.append(r))

            def route(route):
                url = route.request.url
                host = urlparse(url).hostname
                if url.startswith(("data:", "blob:")) or host == "127.0.0.1":
                    route.continue_()
                else:
                    foreign.append(url)
                    route.abort()

            page.route("**/*", route)
            page.goto(f"{base}/{path}", wait_until="load")
            yield page, foreign
        finally:
            browser.close()


def visible_frame(slider_box) -> str:
    """The src of the image currently shown by a static slider's Stack."""
    return slider_box.evaluate(
        """box => { const imgs = [...box.querySelectorAll('img')].filter(i => i.offsetParent !== null);
                    return imgs.length ? imgs[0].src : ''; }"""
    )


def readout(slider_box) -> str:
    """The η shown above the visible frame ("η = 0.1")."""
    return slider_box.locator(".lr-frame .lr-readout").first.inner_text().strip()


def readout_value(slider_box) -> float:
    return float(readout(slider_box).split("=")[-1])


AUDIT_JS = """
() => {
  const vw = window.innerWidth;
  const rect = el => { if (!el) return null; const r = el.getBoundingClientRect();
                       return {left: r.left, right: r.right, top: r.top, bottom: r.bottom}; };
  const shown = el => el && el.offsetParent !== null;
  const sliders = [...document.querySelectorAll('.lr-slider')].map(box => {
    const handle = box.querySelector('.noUi-handle');
    const readout = box.querySelector('.lr-frame .lr-readout');
    const img = [...box.querySelectorAll('img')].find(shown);
    return {readout: readout ? readout.textContent.trim() : null, readoutRect: rect(readout),
            handleRect: rect(handle), ariaLabel: handle && handle.getAttribute('aria-label'),
            ariaValueText: handle && handle.getAttribute('aria-valuetext'),
            alt: img ? img.getAttribute('alt') : null, src: img ? img.getAttribute('src') : null};
  });
  const figures = [...document.querySelectorAll('.cell_output img, figure img')]
    .filter(img => !img.closest('.lr-slider'))
    .map(img => ({alt: img.getAttribute('alt'), src: img.getAttribute('src')}));
  const code = [...document.querySelectorAll('.cell_input pre')].filter(shown)
    .map(pre => pre.textContent.replace(/\\n$/, '').split('\\n').length);
  const nan = [...document.querySelectorAll('td, th')].map(c => c.textContent.trim())
    .filter(t => /^(nan|NaN|<NA>)$/.test(t));
  const wideCode = [...document.querySelectorAll('.cell_input pre')].filter(shown)
    .filter(pre => pre.scrollWidth > pre.clientWidth + 1).length;
  const boldGlued = [...document.querySelectorAll('span.pasted-text')]
    .filter(s => !s.closest('strong, b') && parseInt(getComputedStyle(s).fontWeight) >= 600).length;
  const doc = document.scrollingElement || document.documentElement;
  return {viewport: vw, scrollWidth: doc.scrollWidth, bodyScrollWidth: document.body.scrollWidth,
          sliders, figures, longestCode: Math.max(0, ...code), nanCells: nan.length, wideCode, boldGlued};
}
"""


def audit(page) -> dict:
    """The reader-facing facts of the page as it is now (see AUDIT_JS)."""
    return page.evaluate(AUDIT_JS)


def generic_alt(alt: str | None) -> bool:
    """An alt text that says nothing: empty, a file name or path, or a bare word like "image"."""
    if alt is None or len(alt.strip()) < 12:
        return True
    text = alt.strip().lower()
    return bool(re.search(r"\.(png|jpe?g|webp|gif|svg)\b|_images/|/_static/|^(image|figure|plot|chart|output)\.?$", text))


def drag_slider(page, slider_box, fraction: float) -> None:
    """Drag the slider's handle to ``fraction`` (0..1) of its track."""
    track = slider_box.locator(".noUi-target, .slider-container").first.bounding_box()
    handle = slider_box.locator(".noUi-handle").first.bounding_box()
    page.mouse.move(handle["x"] + handle["width"] / 2, handle["y"] + handle["height"] / 2)
    page.mouse.down()
    page.mouse.move(track["x"] + fraction * track["width"], handle["y"] + handle["height"] / 2, steps=8)
    page.mouse.up()


def page_weight(path: str, root: Path = SITE, width: int = 1280) -> dict:
    """What a page transfers on load (gzip where it helps), by kind, plus what its slider frames
    weigh if a reader visits every one of them."""
    log = PageLog()
    with open_page(path, root=root, width=width, log=log) as (page, _):
        page.wait_for_timeout(1500)
        sizes = log.transfer()
    kinds: dict[str, int] = {}
    for url, n in sizes.items():
        name = urlparse(url).path
        kind = ("page" if name.endswith(".html") else "frames" if "/lr-frames/" in name
                else "script" if name.endswith(".js") else "style" if name.endswith(".css")
                else "font" if re.search(r"\.(woff2?|ttf|eot|otf)$", name) else "image")
        kinds[kind] = kinds.get(kind, 0) + n
    html = (root / path).read_text(encoding="utf-8")
    frames = set(re.findall(r"_static/lr-frames/([0-9a-f]+\.webp)", html))
    all_frames = sum((root / "_static/lr-frames" / f).stat().st_size for f in frames)
    return {"on_load": sum(sizes.values()), **kinds, "frame_files": len(frames), "all_frames": all_frames}


if __name__ == "__main__" and sys.argv[1:2] == ["--weights"]:  # python tests/sitebrowser.py --weights SITE PAGE…
    site = Path(sys.argv[2])
    print(f"{'page':<36}{'on load':>10}{'page':>9}{'scripts':>9}{'fonts':>8}{'frames':>8}{'images':>8}{'all frames':>12}")
    for doc in sys.argv[3:]:
        w = page_weight(doc, root=site)
        print(f"{doc:<36}{w['on_load'] / 1e6:>9.2f}M{w.get('page', 0) / 1e3:>8.0f}K{w.get('script', 0) / 1e3:>8.0f}K"
              f"{w.get('font', 0) / 1e3:>7.0f}K{w.get('frames', 0) / 1e3:>7.0f}K{w.get('image', 0) / 1e3:>7.0f}K"
              f"{w['all_frames'] / 1e6:>11.2f}M")
    sys.exit(0)


if __name__ == "__main__":  # python tests/sitebrowser.py book/01-gradient-descent.html out.png [fraction]
    page_path, out = sys.argv[1], sys.argv[2]
    fraction = float(sys.argv[3]) if len(sys.argv) > 3 else None
    with open_page(page_path) as (page, foreign):
        page.wait_for_selector(".lr-slider .noUi-handle", timeout=20000)
        box = page.locator(".lr-slider").first
        box.scroll_into_view_if_needed()
        if fraction is not None:
            drag_slider(page, box, fraction)
            page.wait_for_timeout(300)
        print("readout:", readout(box), "foreign requests:", foreign)
        box.screenshot(path=out)


def widget_models(html: str) -> list[str]:
    """The model names in a page's embedded widget state (e.g. 'StackModel', 'LinkModel')."""
    import json
    import re

    found = re.findall(r'<script type="application/vnd.jupyter.widget-state\+json">(.*?)</script>', html, re.S)
    return [m["model_name"] for m in json.loads(found[0])["state"].values()] if found else []
