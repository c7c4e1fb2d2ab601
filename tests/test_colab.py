"""Colab and Binder: the launch links of the built site, the Colab copies, the one repository setting.

Every Colab link of the built site must point at an .ipynb in this repository that is up to
date with its chapter and whose first cell (on Colab only) installs lrcourse from the
repository and every package the chapter imports. Which distribution provides an imported
module is asked of importlib.metadata, not of lrcourse.
"""
from __future__ import annotations

import ast
import functools
import json
import os
import re
import shutil
import subprocess
import sys
from importlib import metadata
from pathlib import Path
from types import SimpleNamespace

import pytest
from packaging.requirements import Requirement

from conftest import ROOT, toc_chapters
from lrcourse import launch

COLAB = re.compile(r'https://colab\.research\.google\.com/github/([^/"]+)/([^/"]+)/blob/([^/"]+)/([^"#?]+)')
BINDER = re.compile(r'https://mybinder\.org/v2/gh/([^/"]+)/([^/"]+)/([^/"?]+)\?urlpath=([^"]+)')


def imports_of(md: Path) -> set[str]:
    """Third-party top-level modules imported by a chapter's code cells (independent AST scan)."""
    import jupytext

    modules = set()
    for cell in jupytext.read(md).cells:
        if cell.cell_type == "code":
            code = "\n".join(l for l in cell.source.splitlines() if not l.lstrip().startswith(("%", "!")))
            for node in ast.walk(ast.parse(code)):
                if isinstance(node, ast.Import):
                    modules |= {a.name.split(".")[0] for a in node.names}
                elif isinstance(node, ast.ImportFrom) and node.level == 0:
                    modules.add(node.module.split(".")[0])
    return {m for m in modules if m not in sys.stdlib_module_names}


def installed_by_first_cell(notebook: dict) -> tuple[str, list[Requirement]]:
    cell = next(c for c in notebook["cells"] if c["cell_type"] == "code")
    source = "".join(cell["source"])
    match = re.search(r"\*(\[.*?\])\]", source)
    assert match, source
    return source, [Requirement(r) for r in ast.literal_eval(match.group(1))]


@functools.lru_cache(maxsize=1)
def packages() -> dict[str, list[str]]:
    return metadata.packages_distributions()


def canonical(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def check_copy(path: str) -> None:
    """The repository file behind a Colab link is a current copy that installs what it imports."""
    assert path.startswith("notebooks/") and path.endswith(".ipynb"), path
    copy = ROOT / path
    assert copy.is_file(), f"{path} does not exist in the repository"
    doc = f"book/{copy.stem}"
    assert copy.read_text() == launch.colab_notebook(doc), f"{path} is out of date with {doc}.md: run `make notebooks`"
    source, requirements = installed_by_first_cell(json.loads(copy.read_text()))
    assert 'if "google.colab" in sys.modules:' in source
    names = {canonical(r.name) for r in requirements}
    lrcourse_req = next(r for r in requirements if r.name == "lrcourse")
    assert lrcourse_req.url == launch.repository().pip_url
    assert "torch" not in names, f"{path}: Colab's own torch (a GPU build) must be kept, not replaced"
    for module in imports_of(ROOT / f"{doc}.md"):
        if module in ("lrcourse", "torch"):  # torch: Colab ships it
            continue
        dists = {canonical(d) for d in packages().get(module, [])}
        assert dists & names, f"{path}: the first cell does not install {module} ({dists})"


@pytest.mark.parametrize("doc", toc_chapters())
def test_each_chapter_has_a_current_colab_copy(doc):
    check_copy(launch.notebook_path(doc))


def test_no_stray_colab_copies():
    expected = {launch.notebook_path(d) for d in toc_chapters()}
    assert {f"notebooks/{p.name}" for p in (ROOT / "notebooks").glob("*.ipynb")} == expected


@pytest.mark.parametrize("doc", toc_chapters())
def test_colab_copies_show_no_raw_myst(doc):
    notebook = json.loads((ROOT / launch.notebook_path(doc)).read_text())
    for cell in notebook["cells"]:
        if cell["cell_type"] == "markdown":
            text = "".join(cell["source"])
            assert not re.search(r"\{[a-z:-]+\}`|^(```|:::)\{", text, re.M), f"{doc}: raw MyST in {text[:200]!r}"


@pytest.mark.parametrize("doc", toc_chapters())
def test_chapters_are_written_as_jupyterlab_saves_them(doc):
    """Saving a chapter from JupyterLab (jupytext, jupytext.toml) must leave `git diff` empty."""
    path = ROOT / f"{doc}.md"
    assert path.read_text() == launch.formatted_chapter(path), f"{doc}.md: run `make notebooks`"


def test_exercises_readme_links_are_current():
    text = (ROOT / "exercises" / "README.md").read_text()
    assert launch.exercises_readme_block() in text
    for folder in sorted((ROOT / "exercises").glob("[0-9][0-9]-*")):
        assert launch.repository().colab_url(f"exercises/{folder.name}/{folder.name}.ipynb") in text


def test_placeholder_repository_refuses_publishing(tmp_path):
    result = subprocess.run([sys.executable, "-m", "lrcourse.launch", "check-repository"], cwd=ROOT,
                            capture_output=True, text=True)
    if launch.repository().is_placeholder:
        assert result.returncode == 1
        assert "repository.url" in result.stderr and "_config.yml" in result.stderr
        assert "Traceback" not in result.stderr
    (tmp_path / "_config.yml").write_text("repository:\n  url: https://github.com/REPOSITORY_OWNER/lrcourse\n")
    with pytest.raises(launch.PublishError, match="Set it to your fork's GitHub URL"):
        launch.check_publishable(launch.repository(tmp_path))
    (tmp_path / "_config.yml").write_text("repository:\n  url: https://github.com/someone/lrcourse\n  branch: main\n")
    launch.check_publishable(launch.repository(tmp_path))  # a real URL passes
    assert launch.repository(tmp_path).colab_url("notebooks/x.ipynb") == \
        "https://colab.research.google.com/github/someone/lrcourse/blob/main/notebooks/x.ipynb"


def test_sphinx_publishing_build_fails_on_the_placeholder(tmp_path, monkeypatch):
    from sphinx.errors import ConfigError

    (tmp_path / "_config.yml").write_text("repository:\n  url: https://github.com/REPOSITORY_OWNER/lrcourse\n")
    app = SimpleNamespace(confdir=str(tmp_path))
    monkeypatch.delenv("LRCOURSE_PUBLISH", raising=False)
    launch._config_inited(app, None)  # an ordinary build: fine
    monkeypatch.setenv("LRCOURSE_PUBLISH", "1")
    with pytest.raises(ConfigError, match="repository.url"):
        launch._config_inited(app, None)


@pytest.mark.slow
def test_every_colab_link_of_the_site_opens_a_current_copy(built_site):
    repo = launch.repository()
    seen = set()
    for page in built_site.rglob("*.html"):
        for owner, name, branch, path in COLAB.findall(page.read_text()):
            assert f"{owner}/{name}" == repo.github_path and branch == repo.branch
            seen.add(path)
    chapters = {launch.notebook_path(d) for d in toc_chapters()}
    assert chapters <= seen, f"chapters without a Colab button: {sorted(chapters - seen)}"
    for path in sorted(seen):
        if path.startswith("exercises/"):
            assert (ROOT / path).is_file(), path
        else:
            check_copy(path)


@pytest.mark.slow
def test_chapters_link_their_exercise_sets_on_binder_and_colab(built_site):
    for doc in toc_chapters():
        source = (ROOT / f"{doc}.md").read_text()
        html = (built_site / f"{doc}.html").read_text()
        for name in set(re.findall(r"`exercises/(\d\d[a-z]?-[\w-]+)/`", source)):
            path = f"exercises/{name}/{name}.ipynb"
            assert (ROOT / path).is_file()
            assert launch.repository().colab_url(path) in html, f"{doc}: no Colab link to {name}"
            assert any(p.endswith(path) for *_, p in BINDER.findall(html)), f"{doc}: no Binder link to {name}"


def test_binder_postbuild_installs_the_lab_settings_make_lab_uses(tmp_path):
    """repo2docker runs binder/postBuild from the repository's root; on mybinder.org that root is HOME."""
    repo = tmp_path / "repo"
    shutil.copytree(ROOT / ".jupyter" / "labconfig", repo / ".jupyter" / "labconfig")
    shutil.copytree(ROOT / "binder", repo / "binder")
    settings = ROOT / ".jupyter" / "labconfig" / "default_setting_overrides.json"
    viewers = json.loads(settings.read_text())["@jupyterlab/docmanager-extension:plugin"]["defaultViewers"]
    assert viewers["markdown"] == viewers["myst"] == "Jupytext Notebook"
    for home in (tmp_path / "home", repo):  # a separate HOME, and the repository as HOME
        home.mkdir(exist_ok=True)
        env = {k: v for k, v in os.environ.items() if not k.startswith("JUPYTER")} | {"HOME": str(home)}
        result = subprocess.run(["bash", "binder/postBuild"], cwd=repo, env=env, capture_output=True, text=True)
        assert result.returncode == 0, result.stderr
        installed = home / ".jupyter" / "labconfig" / "default_setting_overrides.json"
        assert installed.read_text() == settings.read_text()
