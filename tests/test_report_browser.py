"""The rendered report opened in headless Chromium (Debian's ``chromium``): every page loads, is
screenshotted and is not blank, no image is broken, no link points to a missing page; and, at 1400 and
1024 px, what a reader sees: no page scrolls sideways, no raw "NaN"/"None"/"<NA>"/"Traceback"/"Warning"
text, every image described, the index opening with the key findings. Both the real report and the
small report of tests/test_report.py (which uses every display of the report API) are checked.

Chromium is required: ``make test`` installs it when missing; a missing browser fails these tests.
"""
from __future__ import annotations

import html
import html.parser
import json
import re
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


# ---- what a reader sees, at 1400 and 1024 px -------------------------------------------------

#: Text that must never reach a reader: raw missing values, Python tracebacks and warning classes.
#: ("None of the trials..." is English; "None", "None," or "= None" is a raw Python value.)
FORBIDDEN = {"NaN": r"\bNaN\b", "None": r"\bNone\b(?! [a-z])", "<NA>": r"<NA>", "Traceback": r"Traceback",
             "Warning": r"Warning"}
DEFAULT_ALT = "No description has been provided for this image"
WIDTHS = (1400, 1024)

#: Run in each page once it has loaded: the page's horizontal overflow (and the elements that cause
#: it), then, with every table disclosure opened (not the folded code), the visible text, the images and
#: the section headings; written into the DOM for --dump-dom.
CHECK_JS = """
<script>
window.addEventListener('load', function () {
  var se = document.scrollingElement, cw = se.clientWidth;
  var r = {innerWidth: window.innerWidth, scrollWidth: se.scrollWidth, clientWidth: cw, wide: []};
  document.querySelectorAll('main *').forEach(function (e) {
    var b = e.getBoundingClientRect();
    if (b.right > cw + 1 && r.wide.length < 5 && e.closest('.mg-scroll, .output_subarea, pre') === null) {
      r.wide.push(e.tagName + '.' + e.className + ' ' + Math.round(b.right));
    }
  });
  document.querySelectorAll('details:not(.mg-code)').forEach(function (d) { d.open = true; });
  r.scrollWidthOpen = se.scrollWidth;
  r.text = document.body.innerText;
  r.images = Array.prototype.map.call(document.images, function (i) {
    return {alt: i.getAttribute('alt'), src: i.getAttribute('src').slice(0, 60)}; });
  r.headings = Array.prototype.map.call(document.querySelectorAll('main h2'), function (h) {
    return h.textContent.trim(); });
  var src = document.querySelectorAll('table.mg-trials th:last-child, table.mg-trials td:last-child');
  r.sourceRight = Math.max.apply(null, [0].concat(Array.prototype.map.call(src, function (c) {
    return c.getBoundingClientRect().right; })));
  var pre = document.createElement('pre');
  pre.id = 'mg-check';
  pre.textContent = JSON.stringify(r);
  document.body.appendChild(pre);
});
</script>
"""


@pytest.fixture(scope="module")
def small_report(tmp_path_factory):
    """The small report of tests/test_report.py (every display of the report API): the machinery is
    checked to the full standard whatever the state of the real notebooks."""
    from test_report import build_small_report
    return build_small_report(tmp_path_factory.mktemp("small-report"))[0]


@pytest.fixture(params=["small", "real"])
def report_dir(request):
    if request.param == "small":
        return request.getfixturevalue("small_report").output_dir
    return real_report(request).output_dir


def seen(exe: str, out: Path, tmp: Path, width: int) -> dict[str, dict]:
    """What Chromium shows of every page of a report at this window width (see CHECK_JS)."""
    copy = tmp / f"site-{width}"
    if not copy.exists():
        shutil.copytree(out, copy)
        for page in html_pages(copy):
            text = page.read_text(encoding="utf-8")
            page.write_text(text.replace("</body>", CHECK_JS + "</body>"), encoding="utf-8")
    result = {}
    for page in html_pages(copy):
        dom = run_chromium(exe, tmp / "profile", f"--window-size={width},900", "--virtual-time-budget=20000",
                           "--dump-dom", page.as_uri())
        m = re.search(r'<pre id="mg-check">(.*?)</pre>', dom, re.S)
        assert m, f"{page.name}: the check script did not run"
        result[page.name] = json.loads(html.unescape(m.group(1)))
    return result


@pytest.mark.parametrize("width", WIDTHS)
def test_what_a_reader_sees(report_dir, chromium, tmp_path, width):
    problems = []
    for name, r in seen(chromium, report_dir, tmp_path, width).items():
        assert r["innerWidth"] == width, f"{name}: the window is {r['innerWidth']} px, not {width}"
        if r["scrollWidth"] > r["clientWidth"] or r["scrollWidthOpen"] > r["clientWidth"]:
            problems.append(f"{name}: the page scrolls sideways ({max(r['scrollWidth'], r['scrollWidthOpen'])} "
                            f"> {r['clientWidth']} px; {r['wide']})")
        for word, pattern in FORBIDDEN.items():
            for m in re.finditer(pattern, r["text"]):
                context = r["text"][max(0, m.start() - 60):m.end() + 60].replace("\n", " | ")
                problems.append(f"{name}: {word!r} in the text: ...{context}...")
                break
        for img in r["images"]:
            if not (img["alt"] or "").strip() or img["alt"] == DEFAULT_ALT:
                problems.append(f"{name}: <img src={img['src']!r}> has no description (alt={img['alt']!r})")
        if name == "data.html" and r["sourceRight"] > r["clientWidth"]:
            problems.append(f"data.html: the source column ends at {r['sourceRight']:.0f} px, off-screen")
    assert not problems, "\n".join(problems)


def test_index_opens_with_key_findings(report_dir, chromium, tmp_path):
    r = seen(chromium, report_dir, tmp_path, 1400)["index.html"]
    assert r["headings"] and r["headings"][0] == "Key findings", r["headings"][:3]


def test_every_link_resolves_and_nothing_loads_from_the_network(report_dir):
    """Relative links point to files of the report (and to an id of the page when they have a
    fragment); images, scripts and style sheets are local or embedded."""
    ids: dict[Path, set[str]] = {}

    def anchors(page: Path) -> set[str]:
        if page not in ids:
            ids[page] = set(re.findall(r'\bid="([^"]+)"', page.read_text(encoding="utf-8")))
        return ids[page]

    problems = []
    for page in html_pages(report_dir):
        text = page.read_text(encoding="utf-8")
        for tag, attr, ref in re.findall(r'<(a|img|script|link|iframe|source)\b[^>]*?\b(href|src)="([^"]*)"', text):
            ref = html.unescape(ref)
            url = urllib.parse.urlsplit(ref)
            if tag != "a" and url.scheme not in ("", "data"):
                problems.append(f"{page.name}: <{tag}> loads {ref[:80]} from outside the report")
                continue
            if url.scheme in ("http", "https", "mailto", "data"):
                continue
            if url.scheme:
                problems.append(f"{page.name}: link {ref[:80]} has scheme {url.scheme!r}")
                continue
            target = (page.parent / urllib.parse.unquote(url.path)).resolve() if url.path else page
            if not target.is_file():
                problems.append(f"{page.name}: {ref} does not exist")
            elif report_dir.resolve() not in target.parents:
                problems.append(f"{page.name}: {ref} is outside the report")
            elif url.fragment and target.suffix == ".html" and url.fragment not in anchors(target):
                problems.append(f"{page.name}: {ref}: no id {url.fragment!r} in {target.name}")
    assert not problems, "\n".join(problems)
