"""The site build's own steps (lrcourse.viz.sitebuild) on small made-up sites."""
import pytest
from PIL import Image
from PIL.PngImagePlugin import PngInfo
from sphinx.errors import ExtensionError

from lrcourse.viz import sitebuild


def test_frames_are_published_and_pages_point_at_them(tmp_path):
    site, frames = tmp_path / "html", tmp_path / "frames"
    (site / "book").mkdir(parents=True)
    frames.mkdir()
    (frames / "ab12.webp").write_bytes(b"RIFF-frame")
    (frames / "unused.webp").write_bytes(b"other")
    (site / "book/ch.html").write_text('<img src="lrframes://ab12.webp"><img src="lrframes://ab12.webp">')
    (site / "index.html").write_text('<img src="lrframes://ab12.webp">')
    assert sitebuild.publish_frames(site, frames) == 1
    assert (site / "book/ch.html").read_text() == ('<img src="../_static/lr-frames/ab12.webp">' * 2)
    assert (site / "index.html").read_text() == '<img src="_static/lr-frames/ab12.webp">'
    assert sorted(p.name for p in (site / "_static/lr-frames").iterdir()) == ["ab12.webp"]


def test_a_missing_frame_fails_the_build_with_a_remedy(tmp_path):
    site = tmp_path / "html"
    site.mkdir()
    (site / "ch.html").write_text('<img src="lrframes://ff00.webp">')
    with pytest.raises(ExtensionError, match=r"ch.html uses 1 slider frame\(s\) missing .*rm -rf _build/.jupyter_cache"):
        sitebuild.publish_frames(site, tmp_path / "nothing")


def test_figure_alt_text_comes_from_the_png(tmp_path):
    site = tmp_path / "html"
    (site / "_images").mkdir(parents=True)
    (site / "book").mkdir()
    info = PngInfo()
    info.add_text("Description", 'Loss against epoch: "train" < 0.1 & falling')
    Image.new("RGB", (4, 4)).save(site / "_images/abc.png", pnginfo=info)
    Image.new("RGB", (4, 4)).save(site / "_images/plain.png")
    page = site / "book/ch.html"
    page.write_text('<img alt="../_images/abc.png" src="../_images/abc.png" />'
                    '<img alt="../_images/plain.png" src="../_images/plain.png" />')
    assert sitebuild.alt_texts(site) == 1
    text = page.read_text()
    assert 'alt="Loss against epoch: &quot;train&quot; &lt; 0.1 &amp; falling"' in text
    assert 'alt="../_images/plain.png"' in text  # no stored text: left for the browser test to flag


def test_icons_are_read_from_the_theme_bundle():
    bundle = sitebuild.theme_icon_bundle()
    if bundle is None:
        pytest.skip("pydata-sphinx-theme is not installed")
    icons = sitebuild.icon_paths(bundle.read_text(), {("fas", "bars"), ("fab", "github"), ("fas", "no-such-icon")})
    width, height, path = icons["fas"]["bars"]
    assert (width, height) == (448, 512) and path.startswith("M0 96")
    assert icons["fab"]["github"][0] > 0 and icons["fab"]["github"][2].startswith("M")
    assert "no-such-icon" not in icons["fas"]


class Script(str):
    def __new__(cls, filename, body=""):
        obj = super().__new__(cls, filename)
        obj.filename, obj.attributes = filename, ({"body": body} if body else {})
        return obj


class App:
    class config:
        html_theme_options = {"launch_buttons": {"binderhub_url": "https://mybinder.org"}}


def scripts():
    return [Script("_static/sphinx-thebe.js"), Script("", "const THEBE_JS_URL = 'x'"),
            Script("mathjax/tex-mml-chtml.js"), Script("", "window.MathJax = {}"), Script("_static/doctools.js")]


def test_pages_lose_thebe_and_keep_mathjax_only_with_math():
    plain = {"script_files": scripts(), "body": "<p>no maths</p>"}
    sitebuild.lighter_page(App, "p", "page.html", plain, None)
    assert [s.filename for s in plain["script_files"]] == ["_static/doctools.js"]
    maths = {"script_files": scripts(), "body": '<span class="math notranslate">\\(x\\)</span>'}
    sitebuild.lighter_page(App, "p", "page.html", maths, None)
    assert [s.filename for s in maths["script_files"]] == ["mathjax/tex-mml-chtml.js", "", "_static/doctools.js"]
