"""The only place text is escaped for DOT: every label and string passes through here.

Labels come from users (expression variable names, dataset characters), so a label
like `<script>` or `a"b` must reach the diagram as text, never as markup or syntax.
"""

from microgpt_trace.tracer.text import printable

__all__ = ["escape_html", "quote"]

_HTML = {"&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;"}


def escape_html(text: object) -> str:
    """Escape text for the inside of a DOT HTML-like label (`label=<...>`).

    Args:
        text: any object; it is converted with str() first.

    Returns:
        The text with `& < > " '` as entities and control characters made visible.

    >>> escape_html('<script>a&"b"</script>')
    '&lt;script&gt;a&amp;&quot;b&quot;&lt;/script&gt;'
    """
    # control characters would make invalid XML in the SVG Graphviz writes, so they
    # are shown the way Python prints them instead (a newline label reads "\n")
    return "".join(_HTML.get(c, c) for c in printable(str(text)))


def quote(text: object) -> str:
    r"""Quote text as a DOT string (IDs, tooltips, colours, font names).

    Backslashes are doubled because Graphviz reads `\N`, `\G`, `\l` and friends in
    strings as escapes; doubling keeps them literal.

    Args:
        text: any object; it is converted with str() first.

    Returns:
        The text in double quotes, safe to paste into DOT as one token.

    >>> print(quote('a"b\\N'))
    "a\"b\\N"
    """
    body = printable(str(text))
    return '"' + body.replace("\\", "\\\\").replace('"', '\\"') + '"'
