import doctest

import pytest

from microgpt_trace.renderers import quoting, themes
from microgpt_trace.renderers.diagrams import render
from microgpt_trace.renderers.diagrams import source as dot
from microgpt_trace.renderers.exceptions import RenderError
from microgpt_trace.renderers.quoting import escape_html, quote
from microgpt_trace.renderers.themes import THEMES, get_theme, text_on


@pytest.mark.parametrize("module", [quoting, themes, dot])
def test_doctests(module):
    result = doctest.testmod(module)
    assert result.attempted > 0 and result.failed == 0


@pytest.mark.exe
def test_render_doctests():
    result = doctest.testmod(render)
    assert result.attempted > 0 and result.failed == 0


@pytest.mark.parametrize("text, expected", [
    ("a*b + a", "a*b + a"),
    ("<script>", "&lt;script&gt;"),
    ("a&b", "a&amp;b"),
    ("a\"b'c", "a&quot;b&#39;c"),
    ("&amp;", "&amp;amp;"),
    ("a\nb\x00", "a\\nb\\x00"),
    ("名前 ×", "名前 ×"),
    (1.5, "1.5"),
])
def test_escape_html(text, expected):
    assert escape_html(text) == expected


@pytest.mark.parametrize("text, expected", [
    ("plain", '"plain"'),
    ('a"b', '"a\\"b"'),
    ("back\\slash \\N", '"back\\\\slash \\\\N"'),
    ("tab\there", '"tab\\\\there"'),
    ("", '""'),
])
def test_quote(text, expected):
    assert quote(text) == expected


def test_themes_differ_and_colourblind_signs_are_blue_and_orange():
    default, colorblind = THEMES["default"], THEMES["colorblind"]
    assert colorblind.negative == "#0072b2" and colorblind.positive == "#e69f00"
    assert default.negative != colorblind.negative
    for theme in THEMES.values():
        assert len({theme.param, theme.input, theme.const, theme.op}) == 4


def test_signed_fill_by_sign_and_size():
    theme = THEMES["default"]
    assert theme.signed_fill(0.0, 5.0) == "#ffffff"
    assert theme.signed_fill(1.0, 0.0) == "#ffffff"
    strong, weak = theme.signed_fill(-4.0, 4.0), theme.signed_fill(-0.4, 4.0)
    red_of = lambda colour: int(colour[1:3], 16)  # noqa: E731
    assert red_of(strong) < red_of(weak) < 255  # deeper blue for the larger gradient
    assert theme.signed_fill(4.0, 4.0) != strong


def test_text_on_picks_readable_ink():
    assert text_on("#ffffff") == "#000000"
    assert text_on("#2166ac") == "#ffffff"


def test_unknown_theme_names_the_choices():
    with pytest.raises(RenderError, match=r"unknown theme 'neon': use one of default, colorblind"):
        get_theme("neon")
