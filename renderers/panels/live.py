"""The live training page: one HTML document whose script draws every panel in the
browser from the metrics-log records the server pushes (microgpt_trace.live).

Its frame, stylesheet and script are assets/live.html (a string.Template), live.css
and live.js: no network, no other file, plain SVG and canvas.
"""

import html

from ..assets import asset, page_template

__all__ = ["live_page"]


def live_page(log_name: str) -> str:
    """The page that follows a metrics log, its name (escaped) in the title.

    >>> page = live_page("<run>.jsonl")
    >>> "&lt;run&gt;.jsonl" in page, "<run>" in page, page.count("<script>")
    (True, False, 1)
    """
    return page_template(__package__, "live.html").substitute(
        log=html.escape(log_name), css=asset(__package__, "live.css"),
        js=asset(__package__, "live.js"))
