"""Colours for diagrams: node kinds and a diverging scale for the sign of a gradient.

The colour-blind theme uses the Okabe-Ito palette; its gradient colours (blue for
negative, orange for positive) stay apart for deuteranopes and protanopes, and the
kind colours are light tints so black text on them stays readable in print.
"""

from dataclasses import dataclass

from .exceptions import RenderError

__all__ = ["Theme", "THEMES", "get_theme"]

# A tint of at least this much keeps a tiny non-zero gradient visibly coloured.
MIN_TINT = 0.15
MAX_TINT = 0.85


@dataclass(frozen=True)
class Theme:
    """Colours as "#rrggbb" strings; `negative`/`positive` end the gradient scale."""

    name: str
    param: str  # model weights
    input: str  # named leaves (expression variables)
    const: str  # unnamed leaves (numbers)
    op: str  # computed values
    op_symbol: str  # the small node holding an op's symbol
    negative: str  # gradient < 0
    positive: str  # gradient > 0
    magnitude: str  # unsigned sizes (gradient norms of blocks)
    edge: str
    text: str
    muted: str  # secondary text: "data", "grad", op counts
    cluster: str  # cluster background
    cluster_border: str
    fontname: str = "Helvetica,Arial,DejaVu Sans,Noto Sans CJK JP,sans-serif"

    def kind_fill(self, kind: str) -> str:
        """Fill colour of a value box by node kind (unknown kinds look like ops)."""
        return getattr(self, kind) if kind in ("param", "input", "const") else self.op

    def signed_fill(self, value: float, max_abs: float) -> str:
        """Diverging colour: hue by sign, depth by |value| relative to max_abs."""
        if not value or not max_abs:
            return "#ffffff"
        end = self.positive if value > 0 else self.negative
        return blend(end, tint_amount(abs(value) / max_abs))

    def magnitude_fill(self, value: float, max_value: float) -> str:
        """Sequential colour for a non-negative size such as a gradient norm."""
        if not value or not max_value:
            return "#ffffff"
        return blend(self.magnitude, tint_amount(value / max_value))


def tint_amount(fraction: float) -> float:
    return MIN_TINT + (MAX_TINT - MIN_TINT) * min(1.0, fraction)


def blend(colour: str, amount: float) -> str:
    """Mix `colour` into white: 0 gives white, 1 gives the colour itself."""
    rgb = [int(colour[i:i + 2], 16) for i in (1, 3, 5)]
    mixed = [round(255 + (c - 255) * amount) for c in rgb]
    return "#" + "".join(f"{c:02x}" for c in mixed)


def text_on(fill: str) -> str:
    """Black or white, whichever reads better on `fill` (WCAG relative luminance)."""
    def channel(c):
        c /= 255
        return c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4
    r, g, b = (channel(int(fill[i:i + 2], 16)) for i in (1, 3, 5))
    luminance = 0.2126 * r + 0.7152 * g + 0.0722 * b
    return "#000000" if luminance > 0.179 else "#ffffff"


THEMES = {
    "default": Theme(
        name="default", param="#fde2b8", input="#d4ecd0", const="#eeeeee", op="#e3ecf7",
        op_symbol="#ffffff", negative="#2166ac", positive="#b2182b", magnitude="#762a83",
        edge="#555555", text="#111111", muted="#666666", cluster="#f7f7f7",
        cluster_border="#bbbbbb"),
    # Okabe-Ito: blue #0072B2, orange #E69F00, bluish green #009E73, yellow #F0E442,
    # reddish purple #CC79A7 (the kind colours are light tints of these).
    "colorblind": Theme(
        name="colorblind", param="#f9f3b4", input="#b3e2d5", const="#eeeeee", op="#ffffff",
        op_symbol="#ffffff", negative="#0072b2", positive="#e69f00", magnitude="#cc79a7",
        edge="#444444", text="#000000", muted="#555555", cluster="#f5f5f5",
        cluster_border="#999999"),
}


def get_theme(name: str) -> Theme:
    """The theme called `name`.

    Args:
        name: a key of THEMES.

    Returns:
        The Theme.

    Raises:
        RenderError: no such theme; the message names the themes that exist.

    >>> get_theme("colorblind").signed_fill(-0.5, 1.0)  # half of the largest |grad|, negative
    '#80b8d8'
    """
    try:
        return THEMES[name]
    except (KeyError, TypeError):
        raise RenderError(f"unknown theme {name!r}: use one of {', '.join(THEMES)}") from None
