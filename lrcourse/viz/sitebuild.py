"""What the book build does to the site beyond Sphinx: frames as files, alt text, lighter pages.

Connected by :func:`setup` (called from ``lrcourse.sphinxext``):

* ``config-inited``: the kernels the build starts write slider frames into ``_build/lr-frames``
  (``LRCOURSE_FRAMES_DIR``) and a report of every figure into ``_build/figures.jsonl``
  (``LRCOURSE_FIGURE_LOG``, read by ``tests/test_figures.py``); the site's own script and
  style sheet (``lrcourse/viz/site/``) are added to every page.
* ``html-page-context``: drop sphinx-thebe's scripts (no page has a live-code button; they
  declared ``THEBE_JS_URL`` twice, a console error on every page) and MathJax from pages
  without mathematics.
* ``build-finished``: copy the frames the pages use into ``_static/lr-frames`` and point the
  pages at them; give every figure ``<img>`` the alt text stored inside its PNG
  (``Description``, see :func:`lrcourse.viz.style.figure_png`) instead of its file path;
  replace the theme's 1.5 MB icon script with one that draws only the icons the site uses.
"""
from __future__ import annotations

import html
import json
import os
import re
import shutil
from pathlib import Path

from sphinx.errors import ExtensionError
from sphinx.util import logging

logger = logging.getLogger(__name__)

ASSETS = Path(__file__).resolve().parent / "site"
FRAMES_DIR_VAR = "LRCOURSE_FRAMES_DIR"      # = lrcourse.viz.widgets.FRAMES_DIR_VAR
FIGURE_LOG_VAR = "LRCOURSE_FIGURE_LOG"      # = lrcourse.viz.style.FIGURE_LOG_VAR
FRAME_URL_PREFIX = "lrframes://"            # = lrcourse.viz.widgets.FRAME_URL_PREFIX
FRAMES_URL = "_static/lr-frames/"
IMG_TAG = re.compile(r"<img\b[^>]*>")
ATTR = re.compile(r'\b(alt|src)="([^"]*)"')


def _build_dir(app) -> Path:
    return Path(app.outdir).parent


def configure(app, config) -> None:
    build = _build_dir(app)
    os.environ[FRAMES_DIR_VAR] = str(build / "lr-frames")
    os.environ[FIGURE_LOG_VAR] = str(build / "figures.jsonl")
    config.html_static_path = [*config.html_static_path, str(ASSETS)]
    # pydata-sphinx-theme logs "Got invalid theme mode" (a console error) on a first visit
    # unless a default mode is named
    config.html_context = {"default_mode": "auto", **(config.html_context or {})}
    app.add_js_file("lrcourse-book.js", priority=1)  # before MathJax's configuration
    app.add_css_file("lrcourse-book.css")


# ---- per page ----------------------------------------------------------------------------------

def _name(script) -> str:
    return str(getattr(script, "filename", None) or script or "")


def _body(script) -> str:
    return str(getattr(script, "attributes", {}).get("body", ""))


def lighter_page(app, pagename, templatename, context, doctree) -> None:
    scripts = context.get("script_files")
    if not scripts:
        return
    thebe_on = bool((app.config.html_theme_options or {}).get("launch_buttons", {}).get("thebe"))
    body = context.get("body", "")
    has_math = bool(re.search(r'class="math|\\\(|\\\[|\$\$', body))
    kept = []
    for script in scripts:
        name, text = _name(script), _body(script)
        if not thebe_on and ("sphinx-thebe" in name or "THEBE_JS_URL" in text or "thebe@" in name):
            continue
        if not has_math and ("mathjax" in name.lower() or "window.MathJax" in text):
            continue
        kept.append(script)
    scripts[:] = kept


# ---- after the build -----------------------------------------------------------------------------

def _pages(outdir: Path):
    return sorted(p for p in outdir.rglob("*.html") if "_static" not in p.parts)


def _relative_root(page: Path, outdir: Path) -> str:
    return "../" * (len(page.relative_to(outdir).parts) - 1)


def publish_frames(outdir: Path, frames_dir: Path) -> int:
    """Point every page's frames at ``_static/lr-frames/`` and copy the frames used there."""
    dest = outdir / FRAMES_URL
    used: set[str] = set()
    pattern = re.compile(re.escape(FRAME_URL_PREFIX) + r"([0-9a-f]+\.[a-z]+)")
    for page in _pages(outdir):
        text = page.read_text(encoding="utf-8")
        if FRAME_URL_PREFIX not in text:
            continue
        names = set(pattern.findall(text))
        missing = sorted(n for n in names if not (frames_dir / n).is_file())
        if missing:
            raise ExtensionError(
                f"lrcourse: {page.relative_to(outdir)} uses {len(missing)} slider frame(s) missing from "
                f"{frames_dir} (e.g. {missing[0]}); clear the execution cache (rm -rf _build/.jupyter_cache) and rebuild")
        used |= names
        page.write_text(text.replace(FRAME_URL_PREFIX, _relative_root(page, outdir) + FRAMES_URL), encoding="utf-8")
    if used:
        dest.mkdir(parents=True, exist_ok=True)
        for name in used:
            if not (dest / name).exists():
                shutil.copyfile(frames_dir / name, dest / name)
    return len(used)


def png_description(path: Path) -> str | None:
    """The alt text stored in a PNG (its ``Description`` text chunk), if any."""
    from PIL import Image

    try:
        with Image.open(path) as im:
            text = getattr(im, "text", {}) or {}
            return text.get("Description") or None
    except OSError:
        return None


def alt_texts(outdir: Path) -> int:
    """Replace file-path alt texts of figure images with the text stored in their PNG."""
    cache: dict[Path, str | None] = {}
    changed = 0
    for page in _pages(outdir):
        text = page.read_text(encoding="utf-8")

        def fix(match):
            nonlocal changed
            tag = match.group(0)
            attrs = dict(ATTR.findall(tag))
            src = attrs.get("src", "")
            if not src.endswith(".png") or src.startswith(("data:", "http")):
                return tag
            target = (page.parent / src).resolve()
            if target not in cache:
                cache[target] = png_description(target)
            alt = cache[target]
            if not alt:
                return tag
            changed += 1
            new = html.escape(alt, quote=True)
            if 'alt="' in tag:
                return re.sub(r'\balt="[^"]*"', lambda _: f'alt="{new}"', tag, count=1)
            return tag.replace("<img", f'<img alt="{new}"', 1)

        new_text = IMG_TAG.sub(fix, text)
        if new_text != text:
            page.write_text(new_text, encoding="utf-8")
    return changed


# ---- icons ---------------------------------------------------------------------------------------

ICON_CLASS = re.compile(r'class="([^"]*\bfa-[^"]*)"')
STYLES = {"fa-solid": "fas", "fas": "fas", "fa-regular": "far", "far": "far", "fa-brands": "fab", "fab": "fab"}
NOT_ICONS = {"fa-solid", "fa-regular", "fa-brands", "fa-fw", "fa-lg", "fa-sm", "fa-xs", "fa-2x", "fa-spin",
             "fa-pulse", "fa-border", "fa-inverse", "fa-flip-horizontal", "fa-rotate-90"}
# icons the theme's scripts may switch to after load (full screen, theme switcher)
DYNAMIC = [("fas", n) for n in ("expand", "compress", "sun", "moon", "circle-half-stroke", "bars", "xmark",
                                "magnifying-glass", "list", "chevron-down", "chevron-right", "chevron-up",
                                "angle-right", "angle-left", "arrow-up", "copy", "check")]


def used_icons(outdir: Path) -> set[tuple[str, str]]:
    found = set(DYNAMIC)
    for page in _pages(outdir):
        for classes in ICON_CLASS.findall(page.read_text(encoding="utf-8")):
            parts = classes.split()
            style = next((STYLES[c] for c in parts if c in STYLES), "fas")
            for c in parts:
                if c.startswith("fa-") and c not in NOT_ICONS and c not in STYLES:
                    found.add((style, c[3:]))
    return found


def icon_paths(bundle: str, wanted: set[tuple[str, str]]) -> dict:
    """{style: {name: [width, height, path]}} for the wanted icons, read from Font Awesome's bundle."""
    spans, start = {}, 0
    for style in ("fab", "far", "fas"):
        at = bundle.find(f'd("{style}",')
        if at < 0:
            raise ValueError(f"Font Awesome bundle without the {style} icons")
        spans[style] = (start, at)
        start = at
    out: dict = {}
    for style, name in sorted(wanted):
        lo, hi = spans[style]
        m = re.compile(r'(?:"' + re.escape(name) + r'"|[,{]' + re.escape(name) + r')'
                       r':\[(\d+),(\d+),\[[^\]]*\],"[0-9a-f]+",("(?:[^"\\]|\\.)*")\]').search(bundle, lo, hi)
        if m:
            out.setdefault(style, {})[name] = [int(m.group(1)), int(m.group(2)), json.loads(m.group(3))]
    return out


ICON_SCRIPT = """/* Font Awesome, trimmed by lrcourse to the icons this site uses (Font Awesome Free, icons
 * CC BY 4.0, https://fontawesome.com/license/free). Replaces <i class="fa-… fa-NAME"> with an
 * inline SVG, also for elements added later. */
(function () {
  "use strict";
  var ICONS = %s;
  var STYLES = {"fa-solid": "fas", "fas": "fas", "fa-regular": "far", "far": "far", "fa-brands": "fab", "fab": "fab"};
  function draw(el) {
    if (el.tagName.toLowerCase() === "svg" || el.getAttribute("data-lr-icon")) { return; }
    var style = "fas", names = [], classes = el.classList, icon = null, name = null;
    for (var i = 0; i < classes.length; i++) {
      var c = classes[i];
      if (STYLES[c]) { style = STYLES[c]; } else if (c.indexOf("fa-") === 0) { names.push(c.slice(3)); }
    }
    for (var j = 0; j < names.length && !icon; j++) {
      icon = (ICONS[style] || {})[names[j]] || (ICONS.fas || {})[names[j]] || (ICONS.fab || {})[names[j]] || null;
      name = names[j];
    }
    if (!icon) { return; }
    el.setAttribute("data-lr-icon", name);
    var svg = document.createElementNS("http://www.w3.org/2000/svg", "svg");
    svg.setAttribute("viewBox", "0 0 " + icon[0] + " " + icon[1]);
    svg.setAttribute("class", "svg-inline--fa lr-icon-" + name);
    svg.setAttribute("aria-hidden", "true");
    svg.setAttribute("focusable", "false");
    var path = document.createElementNS("http://www.w3.org/2000/svg", "path");
    path.setAttribute("fill", "currentColor");
    path.setAttribute("d", icon[2]);
    svg.appendChild(path);
    el.textContent = "";
    el.appendChild(svg);
  }
  function drawAll(root) {
    var found = (root.querySelectorAll ? root.querySelectorAll("i[class*='fa-'], span[class*='fa-']") : []);
    for (var i = 0; i < found.length; i++) { draw(found[i]); }
  }
  function start() {
    drawAll(document);
    new MutationObserver(function (records) {
      records.forEach(function (r) {
        if (r.type === "attributes") { r.target.removeAttribute("data-lr-icon"); draw(r.target); }
        r.addedNodes && r.addedNodes.forEach(function (n) { if (n.nodeType === 1) { drawAll(n); if (n.matches && n.matches("i[class*='fa-']")) { draw(n); } } });
      });
    }).observe(document.documentElement, { childList: true, subtree: true, attributes: true, attributeFilter: ["class"] });
  }
  if (document.readyState === "loading") { document.addEventListener("DOMContentLoaded", start); } else { start(); }
})();
"""


def theme_icon_bundle() -> Path | None:
    try:
        import pydata_sphinx_theme
    except ImportError:
        return None
    path = Path(pydata_sphinx_theme.__file__).parent / "theme/pydata_sphinx_theme/static/scripts/fontawesome.js"
    return path if path.is_file() else None


def trim_icons(outdir: Path) -> int | None:
    """Overwrite the site's ``fontawesome.js`` with a script holding only the icons used."""
    target = outdir / "_static/scripts/fontawesome.js"
    source = theme_icon_bundle()
    if not target.is_file() or source is None:
        return None
    icons = icon_paths(source.read_text(encoding="utf-8"), used_icons(outdir))
    script = ICON_SCRIPT % json.dumps(icons, separators=(",", ":"))
    target.write_text(script, encoding="utf-8")
    for extra in (target.with_suffix(".js.map"), target.with_name("fontawesome.js.LICENSE.txt")):
        if extra.exists() and extra.suffix == ".map":
            extra.unlink()
    return len(script)


def finish(app, exception) -> None:
    if exception is not None or app.builder.format != "html":
        return
    outdir = Path(app.outdir)
    n_frames = publish_frames(outdir, Path(os.environ.get(FRAMES_DIR_VAR, _build_dir(app) / "lr-frames")))
    n_alt = alt_texts(outdir)
    icons = trim_icons(outdir)
    logger.info("lrcourse: %d slider frames published, %d figure alt texts set, icon script %s",
                n_frames, n_alt, f"trimmed to {icons / 1e3:.1f} KB" if icons else "left as is")


def setup(app) -> None:
    app.connect("config-inited", configure, priority=200)
    app.connect("html-page-context", lighter_page, priority=900)
    app.connect("build-finished", finish)
