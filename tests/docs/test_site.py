"""The docs site (`make docs-site`): Sphinx builds docs/ with warnings as errors, every
chapter of both languages has its page, every link and image in the built pages lands,
and the generated steppers work inside the pages, offline."""

import re
import shutil
import subprocess
import sys
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import unquote, urlsplit

import pytest

from microgpt_trace.docs_build import EXPLORERS, explorer_scopes

from .transcripts import ROOT

DOCS = ROOT / "docs"
pytestmark = pytest.mark.slow


def build(source: Path, out: Path) -> subprocess.CompletedProcess:
    """The Makefile's docs-site commands, English then Japanese, into `out`."""
    sphinx = [sys.executable, "-m", "sphinx", "-W", "--keep-going", "-q", "-b", "html",
              "-c", str(source)]
    english = subprocess.run([*sphinx, str(source), str(out)],
                             capture_output=True, text=True, timeout=300)
    if english.returncode:
        return english
    return subprocess.run([*sphinx, "-D", "language=ja", str(source / "ja"), str(out / "ja")],
                          capture_output=True, text=True, timeout=300)


@pytest.fixture(scope="module")
def site(tmp_path_factory):
    out = tmp_path_factory.mktemp("site")
    result = build(DOCS, out)
    assert result.returncode == 0, result.stderr
    assert result.stderr == ""
    return out


class Targets(HTMLParser):
    """Every href and src of a page, and its element ids."""

    def __init__(self):
        super().__init__()
        self.targets, self.ids = [], set()

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        self.ids.update(v for k, v in attrs.items() if k == "id" and v)
        self.targets += [v for k, v in attrs.items() if k in ("href", "src") and v]


def parsed(page: Path) -> Targets:
    parser = Targets()
    parser.feed(page.read_text(encoding="utf-8"))
    return parser


def chapters(folder: Path) -> list:
    return sorted(p.stem for p in folder.glob("*.md"))


def test_each_language_has_its_index(site):
    english = (site / "index.html").read_text(encoding="utf-8")
    japanese = (site / "ja" / "index.html").read_text(encoding="utf-8")
    assert '<html class="no-js" lang="en"' in english
    assert '<html class="no-js" lang="ja"' in japanese
    assert "microgpt-trace docs" in english
    assert (DOCS / "ja" / "README.md").read_text(encoding="utf-8").splitlines()[0].lstrip("# ") \
        in japanese


@pytest.mark.parametrize("folder", ["", "ja"])
def test_every_chapter_has_a_page(site, folder):
    assert chapters(DOCS / folder) == sorted(
        p.stem for p in (site / folder).glob("*.html")
        if p.stem not in ("index", "genindex", "search"))


def test_every_link_and_image_lands(site):
    broken = []
    for page in sorted(site.rglob("*.html")):
        if "_static" in page.parts or page.parent.name == "img":
            continue
        for target in parsed(page).targets:
            url = urlsplit(target)
            if url.scheme in ("http", "https"):  # the theme's credits; no network here
                continue
            linked = (page.parent / unquote(url.path)).resolve() if url.path else page
            if not linked.is_file():
                broken.append(f"{page.relative_to(site)}: {target}")
            elif url.fragment and linked.suffix == ".html" and not lands(linked, url.fragment):
                broken.append(f"{page.relative_to(site)}: {target} (no such anchor)")
    assert broken == []


def lands(page: Path, address: str) -> bool:
    """An element id of the page, or in an explorer a view its listing names."""
    for explorer in EXPLORERS:
        if page.name == explorer.images[0].name:
            listing = (ROOT / explorer.source).read_text(encoding="utf-8")
            return unquote(address) in explorer_scopes(listing)
    return address in parsed(page).ids


def test_generated_pages_are_framed_where_they_are_linked(site):
    linked = {name for page in DOCS.rglob("*.md")
              for name in re.findall(r"\]\([./]*img/([\w-]+\.html)\)",
                                     page.read_text(encoding="utf-8"))}
    assert linked, "no chapter links a generated page"
    for name in linked:
        assert (site / "img" / name).read_bytes() == (DOCS / "img" / name).read_bytes()
    framed = re.findall(r'<iframe class="generated-page" src="(?:\.\./)*img/([\w-]+\.html)[#"]',
                        "".join(p.read_text(encoding="utf-8") for p in site.rglob("*.html")))
    assert set(framed) == linked


def test_a_broken_link_fails_the_build(tmp_path):
    source = tmp_path / "docs"
    shutil.copytree(DOCS, source, ignore=shutil.ignore_patterns("*.gif", "*.png", "*.jsonl"))
    for image in DOCS.joinpath("img").glob("*.*"):  # images referenced stay, as empty files
        (source / "img" / image.name).touch()
    chapter = source / "primer.md"
    chapter.write_text(chapter.read_text(encoding="utf-8") + "\n[gone](no-such-chapter.md)\n",
                       encoding="utf-8")
    result = build(source, tmp_path / "site")
    assert result.returncode != 0
    assert "no-such-chapter" in result.stderr


def first_frame(page, chapter: Path):
    """The chapter at 1280x720, scrolled to its first framed page; every URL requested."""
    requests = []
    page.on("request", lambda request: requests.append(request.url))
    page.set_viewport_size({"width": 1280, "height": 720})
    page.goto(chapter.as_uri())
    frame_element = page.locator("iframe.generated-page").first
    frame_element.scroll_into_view_if_needed()
    return frame_element.content_frame, requests


@pytest.mark.browser
def test_a_stepper_steps_inside_its_chapter_offline(site, page):
    frame, requests = first_frame(page, site / "training.html")
    counter = frame.get_by_text(re.compile(r"^frame \d+ / \d+$"))
    first = counter.inner_text(timeout=10_000)
    frame.get_by_role("button", name="▶", exact=True).click()
    assert counter.inner_text() != first
    assert page.errors == []
    assert [url for url in requests if not url.startswith(("file:", "data:"))] == []


def test_a_page_frames_a_generated_page_once_and_keeps_the_addresses(site):
    """gpt.html links the explorer under a dozen figures, each at its view: one frame."""
    html = (site / "gpt.html").read_text(encoding="utf-8")
    assert html.count('<iframe class="generated-page" src="img/explore-anna.html') == 1
    assert 'href="img/explore-anna.html#pos4/layer0/mlp"' in html


@pytest.mark.browser
def test_the_explorer_opens_inside_its_chapter_and_at_a_captions_view_offline(site, page):
    frame, requests = first_frame(page, site / "gpt.html")
    frame.locator("#canvas svg").first.wait_for(timeout=20_000)
    page.goto((site / "img" / "explore-anna.html").as_uri() + "#pos4/layer0/mlp")
    page.locator("#canvas svg").first.wait_for(timeout=20_000)
    assert page.locator("#view").get_attribute("data-scope") == "pos4/layer0/mlp"
    assert page.errors == []
    assert [url for url in requests if not url.startswith(("file:", "data:"))] == []
