"""The rendered report opened in headless Chromium (Debian's ``chromium``): every page loads, is
screenshotted and is not blank, no image is broken, no link points to a missing page.

Chromium is required: ``make test`` installs it when missing; a missing browser fails these tests.
"""
from __future__ import annotations

import html.parser
import json
import shutil
import subprocess
import urllib.parse
from pathlib import Path

import pytest

from test_notebooks import IDS, real_report

pytestmark = [pytest.mark.notebooks, pytest.mark.slow]

FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync",
         "--hide-scrollbars", "--mute-audio"]


@pytest.fixture(scope="module")
def chromium():
    exe = shutil.which("chromium")
    if exe is None:
        pytest.fail("chromium is not installed; `make test` installs Debian's chromium package "
                    "(apt-get install -y chromium)")
    return exe


@pytest.fixture
def built(request):
    return real_report(request)


def run_chromium(exe: str, profile: Path, *args: str, timeout: float = 120) -> str:
    proc = subprocess.run([exe, *FLAGS, f"--user-data-dir={profile}", *args], capture_output=True, text=True,
                          timeout=timeout)
    assert proc.returncode == 0, f"chromium failed ({proc.returncode}): {proc.stderr[-2000:]}"
    return proc.stdout


class Links(html.parser.HTMLParser):
    """Every href and img src of a page."""

    def __init__(self):
        super().__init__()
        self.hrefs: list[str] = []
        self.images: list[str] = []
        self.title = ""
        self._in_title = False

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if tag == "a" and a.get("href"):
            self.hrefs.append(a["href"])
        if tag == "img":
            self.images.append(a.get("src") or "")
        if tag == "title":
            self._in_title = True

    def handle_endtag(self, tag):
        if tag == "title":
            self._in_title = False

    def handle_data(self, data):
        if self._in_title:
            self.title += data


def parse(page: Path) -> Links:
    p = Links()
    p.feed(page.read_text(encoding="utf-8"))
    return p


def html_pages(out: Path) -> list[Path]:
    return sorted(out.glob("*.html"))


def test_every_notebook_has_a_page_and_every_local_link_resolves(built):
    out = built.output_dir
    pages = {p.name for p in html_pages(out)}
    assert {"index.html", "gallery.html", "data.html"} <= pages
    assert {f"{name}.html" for name in IDS} <= pages, "a notebook page is missing"
    index = parse(out / "index.html")
    for name in IDS:
        assert f"{name}.html" in index.hrefs, f"index does not link {name}"
    for page in html_pages(out):
        links = parse(page)
        for ref in links.hrefs + links.images:
            url = urllib.parse.urlsplit(ref)
            if url.scheme in ("http", "https", "data", "mailto") or not url.path:
                continue
            target = (page.parent / urllib.parse.unquote(url.path)).resolve()
            assert target.is_file(), f"{page.name} links to missing {ref}"
            assert out.resolve() in target.parents, f"{page.name} links outside the report: {ref}"
        for ref in links.hrefs:  # http links are provenance links to sources, never to local files
            assert not ref.startswith("file:")


def test_pages_render_and_screenshots_are_not_blank(built, chromium, tmp_path):
    from PIL import Image
    import numpy as np

    out = built.output_dir
    for page in html_pages(out):
        shot = tmp_path / f"{page.stem}.png"
        run_chromium(chromium, tmp_path / "profile", f"--screenshot={shot}", "--window-size=1280,1600",
                     page.as_uri())
        assert shot.is_file(), f"no screenshot of {page.name}"
        pixels = np.asarray(Image.open(shot).convert("L"), dtype=float)
        assert pixels.shape == (1600, 1280)
        dark = (pixels < 128).mean()
        assert 0.002 < dark < 0.6, f"{page.name}: screenshot looks blank or broken ({dark:.4f} dark pixels)"
        dom = run_chromium(chromium, tmp_path / "profile", "--dump-dom", page.as_uri())
        assert "ERR_FILE_NOT_FOUND" not in dom and "<main" in dom, f"{page.name} did not load"
        assert parse(page).title.strip(), f"{page.name} has no title"
    shutil.copy(tmp_path / "index.png", out / "screenshot-index.png")  # kept for a look at the artifact


def test_no_broken_images(built, chromium, tmp_path):
    """Every <img> of every page (files and embedded figures) decodes in the browser."""
    out = built.output_dir
    sources: list[tuple[str, str]] = []
    for page in html_pages(out):
        for src in parse(page).images:
            assert src, f"{page.name} has an <img> without src"
            url = urllib.parse.urlsplit(src)
            if url.scheme == "data":
                sources.append((page.name, src))
            elif url.scheme in ("", "file"):
                sources.append((page.name, (page.parent / urllib.parse.unquote(url.path)).resolve().as_uri()))
            else:
                pytest.fail(f"{page.name} loads an image from the network: {src[:80]}")
    assert any(p == "gallery.html" for p, _ in sources)
    assert sum(1 for p, _ in sources if p.removesuffix(".html") in IDS) >= len(built.figures)
    harness = tmp_path / "images.html"
    harness.write_text(
        "<!DOCTYPE html><html><body><pre id='result'>pending</pre><script>\n"
        f"const srcs = {json.dumps([s for _, s in sources])};\n"
        "Promise.all(srcs.map((s, i) => new Promise(done => { const im = new Image();\n"
        "  im.onload = () => done(im.naturalWidth > 0 && im.naturalHeight > 0 ? null : i);\n"
        "  im.onerror = () => done(i); im.src = s; })))\n"
        ".then(r => { document.getElementById('result').textContent =\n"
        "  JSON.stringify({checked: srcs.length, broken: r.filter(x => x !== null)}); });\n"
        "</script></body></html>", encoding="utf-8")
    dom = run_chromium(chromium, tmp_path / "profile", "--allow-file-access-from-files",
                       "--virtual-time-budget=30000", "--dump-dom", harness.as_uri())
    start = dom.index("<pre id=\"result\">") + len("<pre id=\"result\">")
    result = json.loads(html.unescape(dom[start:dom.index("</pre>", start)]))
    assert result["checked"] == len(sources)
    broken = [f"{sources[i][0]}: {sources[i][1][:80]}" for i in result["broken"]]
    assert not broken, f"broken images: {broken}"
