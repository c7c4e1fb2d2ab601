"""Serve the built site on 127.0.0.1 and drive Debian's Chromium with Playwright.

Used by the browser tests and by ``python tests/sitebrowser.py PAGE OUT.png`` for screenshots.
Every request that does not go to the local server is recorded and aborted.
"""
from __future__ import annotations

import contextlib
import functools
import http.server
import os
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


@contextlib.contextmanager
def open_page(path: str, root: Path = SITE, width: int = 1280, height: int = 1400):
    """Yield (page, foreign_requests) for ``path`` of the site served locally."""
    from playwright.sync_api import sync_playwright

    executable = chromium_path()
    if executable is None:
        raise RuntimeError("Chromium not found: install Debian's `chromium` (apt-get install chromium)")
    foreign: list[str] = []
    with serve(root) as base, sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=executable, args=CHROMIUM_ARGS, headless=True)
        try:
            page = browser.new_page(viewport={"width": width, "height": height})

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
    return slider_box.locator(".widget-readout").first.inner_text()


def drag_slider(page, slider_box, fraction: float) -> None:
    """Drag the slider's handle to ``fraction`` (0..1) of its track."""
    track = slider_box.locator(".noUi-target, .slider-container").first.bounding_box()
    handle = slider_box.locator(".noUi-handle").first.bounding_box()
    page.mouse.move(handle["x"] + handle["width"] / 2, handle["y"] + handle["height"] / 2)
    page.mouse.down()
    page.mouse.move(track["x"] + fraction * track["width"], handle["y"] + handle["height"] / 2, steps=8)
    page.mouse.up()


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
