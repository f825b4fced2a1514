"""The browser code the HTML pages carry, kept as .js, .css and .html files.

Each room that writes a page keeps its script, stylesheet and page template in its own
assets/ folder (package data, no __init__.py), so they read, lint and diff as what they
are, not as Python strings. A page template is a string.Template: its $name slots are
filled with text the caller has already escaped.
"""

import html
from functools import cache
from importlib.resources import files
from string import Template

__all__ = ["asset", "page_template", "sandboxed_frame"]


@cache
def asset(package: str, name: str) -> str:
    """The text of package's assets/name, read once however many pages are written.

    >>> asset("microgpt_trace.renderers.panels", "report.js").startswith("const slider")
    True
    """
    return files(package).joinpath("assets", name).read_text(encoding="utf-8")


def page_template(package: str, name: str) -> Template:
    """package's assets/name as a template whose $name slots substitute() fills."""
    return Template(asset(package, name))


def sandboxed_frame(page: str, title: str, height: int) -> str:
    """A whole page as one <iframe> for a notebook cell, as wide as the cell: its own
    document, so two pages in one notebook share no ids, no state and no keys.

    >>> sandboxed_frame("<p>x</p>", "a & b", 100)[:62]
    '<iframe sandbox="allow-scripts" title="a &amp; b" srcdoc="&lt;'
    """
    return (f'<iframe sandbox="allow-scripts" title="{html.escape(title)}" '
            f'srcdoc="{html.escape(page, quote=True)}" '
            f'style="width: 100%; height: {int(height)}px; border: 1px solid #ddd"></iframe>')
