"""Figures readable where they stand: every inline image in docs/ and docs/ja/ fits a
page column (at most 1,200 px wide, measured on the committed file), carries a caption
quoting the command that draws it, and a cropped part links its whole where it is.
"""

import re
import struct
from pathlib import Path

import pytest

from microgpt_trace.docs_build import DIAGRAMS, EXPLORERS, explorer_scopes, figures

ROOT = Path(__file__).resolve().parents[2]
DOCS = ROOT / "docs"
CHAPTERS = sorted(DOCS.glob("*.md")) + sorted((DOCS / "ja").glob("*.md"))
MAX_WIDTH = 1200  # CSS px
IMAGE = re.compile(r"!\[[^\]]*\]\(([^)\s]+)\)")
LINK = re.compile(r"(?<!!)\[[^\]]*\]\(([^)\s]+)\)")
CAPTION = ("*Drawn by* ", "描画：")
COMMANDS = {(ROOT / image).resolve(): commands
            for figure in figures() for image, commands in figure.rows().items()}


def width_px(path: Path) -> float:
    """CSS pixels: an SVG's width in pt times 4/3 (in px as is), a PNG's or GIF's pixels."""
    data = path.read_bytes()
    if path.suffix == ".svg":
        tag = re.search(rb"<svg\b[^>]*>", data).group(0)
        number, unit = re.search(rb'\swidth="([\d.]+)(pt|px)?"', tag).groups()
        return float(number) * (4 / 3 if unit == b"pt" else 1)
    if path.suffix == ".png":
        return struct.unpack(">I", data[16:20])[0]
    if path.suffix == ".gif":
        return struct.unpack("<H", data[6:8])[0]
    raise ValueError(f"no width rule for {path.name}")


def inline_figures():
    """(chapter, image path, caption text) of every inline image; the caption is the
    paragraph after the image's, or in a table cell the text after its `<br>`."""
    for chapter in CHAPTERS:
        lines = chapter.read_text(encoding="utf-8").split("\n")
        for number, line in enumerate(lines):
            if line.startswith("| !["):
                for cell in line.strip("|").split(" | "):
                    image, _, caption = cell.partition("<br>")
                    for link in IMAGE.findall(image):
                        yield chapter, link, caption
            elif line.startswith("!["):
                (link,) = IMAGE.findall(line)
                rest = [text for text in lines[number + 1:number + 3] if text.strip()]
                yield chapter, link, rest[0] if rest else ""


FIGURES = [pytest.param(chapter, link, caption,
                        id=f"{chapter.relative_to(DOCS).as_posix()}:{Path(link).name}")
           for chapter, link, caption in inline_figures()]


def test_the_chapters_show_figures_in_both_languages():
    shown = {chapter.parent.name for chapter, _, _ in inline_figures()}
    assert shown == {"docs", "ja"} and len(FIGURES) > 100


@pytest.mark.parametrize("chapter, link, caption", FIGURES)
def test_an_inline_figure_fits_a_page_column(chapter, link, caption):
    assert width_px(chapter.parent / link) <= MAX_WIDTH


@pytest.mark.parametrize("chapter, link, caption", FIGURES)
def test_an_inline_figure_is_captioned_with_a_command_that_draws_it(chapter, link, caption):
    commands = COMMANDS.get((chapter.parent / link).resolve())
    assert commands, f"{link} is not a figure docs_build draws"
    assert caption.startswith(CAPTION[chapter.parent.name == "ja"]), caption
    assert any(f"`microgpt-trace {command}`" in caption for command in commands), caption


@pytest.mark.parametrize("chapter, link, caption", FIGURES)
def test_a_captions_links_land(chapter, link, caption):
    """A whole as SVG exists; an explorer address is a view the explorer has."""
    for target in LINK.findall(caption):
        path, _, scope = target.partition("#")
        assert (chapter.parent / path).is_file(), target
        if path.endswith(EXPLORERS[0].images[0].name):
            text = (ROOT / EXPLORERS[0].source).read_text(encoding="utf-8")
            assert scope in explorer_scopes(text), target


@pytest.mark.parametrize("chapter, link, caption", FIGURES)
def test_a_part_links_its_whole(chapter, link, caption):
    name = Path(link).name
    for diagram in DIAGRAMS:
        if name in [image.name for image in diagram.images[1:]]:
            wholes = [Path(target.partition("#")[0]).name for target in LINK.findall(caption)]
            assert diagram.whole.name in wholes, caption
            assert EXPLORERS[0].images[0].name in wholes, caption


def test_every_cropped_diagram_is_narrower_than_its_whole():
    for diagram in DIAGRAMS:
        for part in diagram.images[1:]:
            assert width_px(ROOT / part) < width_px(ROOT / diagram.whole), part.name


def test_the_explorer_lists_the_scopes_the_parts_link():
    scopes = explorer_scopes((ROOT / EXPLORERS[0].source).read_text(encoding="utf-8"))
    assert {"", "pos4/layer0/mlp", "pos3/softmax"} <= scopes


def test_widths_are_read_in_css_pixels(tmp_path):
    svg = tmp_path / "a.svg"
    svg.write_text('<svg width="900pt" height="10pt" viewBox="0 0 900 10"></svg>')
    gif = tmp_path / "a.gif"
    gif.write_bytes(b"GIF89a" + struct.pack("<HH", 1201, 5))
    assert (width_px(svg), width_px(gif)) == (1200, 1201)
