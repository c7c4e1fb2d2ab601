"""The book's Sphinx extension: kernel-free sliders that need no CDN.

On ``config-inited`` it

1. sets ``LRCOURSE_WIDGETS=static`` so the kernels the build starts render sliders as
   precomputed frames (:func:`lrcourse.viz.widgets.slider_form`);
2. copies the ipywidgets HTML manager (``embed.js`` and its font files), ``require.js`` and
   MathJax from ``node_modules`` (installed by ``npm ci`` from the pinned ``package.json``)
   into a static folder of the build, and points myst-nb's ``nb_ipywidgets_js`` and Sphinx's
   ``mathjax_path`` at them, so every request of a built page stays on the site. Where those files are missing (no npm), the
   pages fall back to myst-nb's CDN URLs, and the build log says so.

The widget files go to ``_static/jupyter-widgets/`` of the site, never to a ``_static``
folder of the sources (Jupyter Book adds every script found there to every page).
"""
from __future__ import annotations

import os
import shutil
from pathlib import Path

from sphinx.util import logging

from lrcourse._runtime import ENV_VAR

logger = logging.getLogger(__name__)

NODE = Path("node_modules")
HTML_MANAGER = NODE / "@jupyter-widgets/html-manager/dist"
REQUIREJS = NODE / "requirejs/require.js"
MATHJAX = NODE / "mathjax/es5"
FONT_SUFFIXES = {".woff", ".woff2", ".ttf", ".eot", ".svg"}


def _assets(root: Path):
    """(source, destination relative to the static folder) for every file the pages load."""
    dist = root / HTML_MANAGER
    yield dist / "embed.js", Path("jupyter-widgets/embed.js")
    yield root / REQUIREJS, Path("jupyter-widgets/require.js")
    for font in sorted(p for p in dist.iterdir() if p.suffix in FONT_SUFFIXES):
        yield font, Path("jupyter-widgets") / font.name
    mathjax = root / MATHJAX
    yield mathjax / "tex-mml-chtml.js", Path("mathjax/tex-mml-chtml.js")
    for sub in ("input", "output", "ui", "a11y", "adaptors", "sre"):
        for path in sorted((mathjax / sub).rglob("*")):
            if path.is_file():
                yield path, Path("mathjax") / path.relative_to(mathjax)


def copy_site_assets(root: Path, dest: Path) -> bool:
    """Copy the widget manager, require.js and MathJax from ``root/node_modules`` into ``dest``.

    Returns False (and copies nothing) when ``npm ci`` has not installed them.
    """
    needed = [root / HTML_MANAGER / "embed.js", root / REQUIREJS, root / MATHJAX / "tex-mml-chtml.js"]
    if not all(p.is_file() for p in needed):
        return False
    for source, relative in _assets(root):
        out = dest / relative
        if not out.exists() or out.stat().st_size != source.stat().st_size:
            out.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, out)
    return True


def _configure(app, config) -> None:
    os.environ[ENV_VAR] = "static"
    dest = Path(app.outdir).parent / "site-assets"
    if copy_site_assets(Path(app.confdir), dest):
        config.html_static_path = [*config.html_static_path, str(dest)]
        # embed.js is the self-contained widget manager (it needs no AMD loader); require.js
        # is served beside it for pages that bring AMD widget modules, not loaded by default.
        config.nb_ipywidgets_js = {"jupyter-widgets/embed.js": {}}
        config.mathjax_path = "mathjax/tex-mml-chtml.js"
        logger.info("lrcourse: widget manager and MathJax served from the site (%s)", dest)
    else:
        logger.info(
            "lrcourse: node_modules lacks the pinned site assets (run `npm ci`): the built "
            "pages will load the widget manager and MathJax from a CDN"
        )


def _setup_site_build(app) -> None:
    """Frames as files, figure alt texts, lighter pages: see :mod:`lrcourse.viz.sitebuild`."""
    from lrcourse.viz import sitebuild

    sitebuild.setup(app)


def setup(app):
    app.connect("config-inited", _configure, priority=100)
    _setup_site_build(app)
    return {"parallel_read_safe": True, "parallel_write_safe": True, "version": "1"}
