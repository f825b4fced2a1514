"""How numbers and user text are written in every label, caption and table.

One rule each, so a number reads the same in a diagram, a frame caption and the
terminal, and a label cannot break a terminal, a caption line or an SVG file.
"""

import unicodedata

__all__ = ["number", "printable", "token_text"]

# control, format (bidi overrides), surrogate and line-break characters
INVISIBLE = ("Cc", "Cf", "Cs", "Zl", "Zp")


def number(x: float) -> str:
    """Four significant digits; 0 and -0 both print as 0.

    >>> [number(x) for x in (0.0, -0.0, 1 / 3, -2.5e-7, 12345.0)]
    ['0', '0', '0.3333', '-2.5e-07', '1.234e+04']
    """
    return "0" if x == 0 else f"{x:.4g}"


def printable(text: str) -> str:
    r"""The text with each invisible character shown as its Python escape.

    Control and format characters (bidi overrides) could drive a terminal, split a
    caption line or make an SVG invalid XML; escaped, they read as what they are.

    >>> printable("a\x1b[31mb\n\u202e")
    'a\\x1b[31mb\\n\\u202e'
    """
    return "".join(c.encode("unicode_escape").decode("ascii")
                   if unicodedata.category(c) in INVISIBLE else c for c in text)


def token_text(token: str) -> str:
    """A single character in quotes ('a'); a special token such as BOS as it is."""
    return repr(token) if len(token) == 1 else token
