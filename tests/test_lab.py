"""`make lab` as a learner uses it: JupyterLab from the venv with the repository's settings.

The test starts `make lab` on a copy of the repository's book and settings, with a throwaway
HOME, opens the path the Binder button opens (lab/tree/book/01-gradient-descent.md) in headless
Chromium and checks that it is a notebook (not a text editor), runs every cell, drags the first
slider and sees the picture change; then reloads the page, runs everything again and checks that
the sliders still render (no "model not found"). Saving the chapter writes it back byte for byte
as `make notebooks` formats it, and nothing of Jupyter's lands in HOME.
"""
from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import time
import urllib.request
from pathlib import Path

import pytest

import sitebrowser
from conftest import ROOT
from lrcourse import launch

pytestmark = pytest.mark.slow
CHAPTER = "book/01-gradient-descent.md"
TOKEN = "lrcourse-test"


@pytest.fixture(scope="module")
def lab(tmp_path_factory, chromium):
    """(base URL, copy of the repository, HOME) of a running `make lab`."""
    tmp = tmp_path_factory.mktemp("lab")
    repo, home = tmp / "repo", tmp / "home"
    home.mkdir()
    repo.mkdir()
    for name in ("Makefile", "jupytext.toml", "references.bib", "_config.yml", "_toc.yml"):
        shutil.copy2(ROOT / name, repo / name)
    shutil.copytree(ROOT / ".jupyter" / "labconfig", repo / ".jupyter" / "labconfig")
    shutil.copytree(ROOT / "book", repo / "book", ignore=shutil.ignore_patterns("_*", ".ipynb_checkpoints"))
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    env = {k: v for k, v in os.environ.items() if not k.startswith(("JUPYTER", "IPYTHON"))}
    env.update(HOME=str(home), MPLBACKEND="Agg")
    args = (f"--no-browser --port={port} --ServerApp.ip=127.0.0.1 --ServerApp.token={TOKEN} "
            "--ServerApp.open_browser=False")
    # `-o setup`: the venv is this repository's (VENV=…), already set up by `make test`.
    command = ["make", "-C", str(repo), "-o", "setup", "lab", f"VENV={ROOT / '.venv'}", f"LAB_ARGS={args}"]
    log = open(tmp / "lab.log", "w")
    process = subprocess.Popen(command, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    base = f"http://127.0.0.1:{port}"
    try:
        for _ in range(240):
            try:
                urllib.request.urlopen(f"{base}/api/status?token={TOKEN}", timeout=2).read()
                break
            except OSError:
                assert process.poll() is None, (tmp / "lab.log").read_text()
                time.sleep(0.5)
        else:
            pytest.fail("JupyterLab did not start:\n" + (tmp / "lab.log").read_text())
        yield base, repo, home
    finally:
        os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
        log.close()


def _notebook_ready(page) -> None:
    """The chapter's cells are all in the panel (Run All before that runs only the first few)."""
    page.wait_for_selector(".jp-NotebookPanel .jp-Notebook", timeout=120_000)
    page.wait_for_function("document.querySelectorAll('.jp-Notebook .jp-Cell').length > 3", timeout=60_000)
    page.wait_for_timeout(1000)


def _run_all(page) -> None:
    page.locator(".lm-MenuBar-itemLabel", has_text="Run").first.click()
    page.locator(".lm-Menu-itemLabel", has_text="Run All Cells").first.click()


def _busy(page) -> bool:
    """Some cell waits or runs ([*])."""
    return page.evaluate("() => [...document.querySelectorAll('.jp-InputPrompt')].some(e => e.textContent.includes('*'))")


def _wait_idle(page, timeout_s: float = 300) -> None:
    """Until the kernel has run every cell: no cell waits or runs ([*])."""
    page.wait_for_function(
        """() => { const p = [...document.querySelectorAll('.jp-InputPrompt')].map(e => e.textContent);
                   return p.length > 0 && !p.some(t => t.includes('*')) && p.some(t => /\\d/.test(t)); }""",
        timeout=timeout_s * 1000)


def _first_slider(page, timeout_s: float = 180):
    """The first slider, once it has rendered (the repository's settings render every cell)."""
    deadline = time.monotonic() + timeout_s
    idle_since, reruns = None, 0
    while page.locator(".lr-slider:visible .noUi-handle").count() == 0:
        # a Run All that reached the kernel while it was still starting runs nothing: once the
        # notebook has sat idle for 20 s with no slider, ask again (at most twice)
        if _busy(page):
            idle_since = None
        elif idle_since is None:
            idle_since = time.monotonic()
        elif time.monotonic() - idle_since > 20 and reruns < 2:
            _run_all(page)
            idle_since, reruns = None, reruns + 1
        if time.monotonic() > deadline:
            page.screenshot(path=str(Path(os.environ.get("LAB_SHOTS", "/tmp")) / "lab-no-slider.png"))
            errors = page.locator(".jp-OutputArea-output[data-mime-type*='error'], .jp-RenderedText[data-mime-type*='stderr']")
            texts = [errors.nth(i).inner_text()[-800:] for i in range(min(errors.count(), 3))]
            pytest.fail(f"no slider appeared; errors shown: {texts}")
        page.wait_for_timeout(500)
    box = page.locator(".lr-slider:visible").first
    box.scroll_into_view_if_needed()
    box.locator("img").first.wait_for(timeout=60_000)
    return box


def _widget_errors(page) -> int:
    return page.locator("text=/Error displaying widget|model not found/").count()


def test_binder_path_opens_a_notebook_that_runs_and_survives_a_reload(lab):
    base, repo, home = lab
    original = (repo / CHAPTER).read_text()
    formatted = launch.formatted_chapter(repo / CHAPTER, repo)  # what `make notebooks` writes
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=sitebrowser.chromium_path(), args=sitebrowser.CHROMIUM_ARGS,
                                     headless=True)
        try:
            page = browser.new_page(viewport={"width": 1280, "height": 1400})
            page.goto(f"{base}/lab/tree/{CHAPTER}?token={TOKEN}")
            _notebook_ready(page)
            assert page.locator(".jp-FileEditor:visible").count() == 0, "the chapter opened in the text editor"
            assert page.locator(".lm-TabBar-tab.lm-mod-current", has_text="01-gradient-descent.md").count() == 1

            _run_all(page)
            box = _first_slider(page)
            _wait_idle(page)
            before = sitebrowser.visible_frame(box)
            assert before.startswith("data:image/"), before[:40]
            sitebrowser.drag_slider(page, box, 0.95)
            page.wait_for_function("([box, before]) => [...box.querySelectorAll('img')].some(i => i.src !== before)",
                                   arg=[box.element_handle(), before], timeout=30_000)
            assert sitebrowser.visible_frame(box) not in ("", before)
            assert _widget_errors(page) == 0

            page.keyboard.press("Control+s")
            page.wait_for_timeout(2000)

            page.reload()
            _notebook_ready(page)
            _run_all(page)
            box = _first_slider(page)
            _wait_idle(page)
            n_sliders = original.count("lr_slider(")
            page.wait_for_function(f"document.querySelectorAll('.lr-slider .noUi-handle').length >= {min(n_sliders, 1)}")
            assert sitebrowser.visible_frame(box).startswith("data:image/")
            assert _widget_errors(page) == 0, "a widget failed to render after the reload"
        finally:
            browser.close()

    saved = (repo / CHAPTER).read_text()
    assert saved == formatted, "saving the chapter from JupyterLab changed it beyond `make notebooks`' formatting"
    for place in (".jupyter", ".local/share/jupyter", ".ipython"):
        assert not (home / place).exists(), f"make lab wrote {place} into HOME"
