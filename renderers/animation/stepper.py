"""A self-contained HTML stepper for a backward animation: one file, works offline.

The page holds the laid-out SVG once, as frame 0 shows it, and per frame only what
changes (slot values), the marks and the caption, as JSON that a small script applies:
previous, next, play/pause, a slider, and the arrow, Home, End and space keys.

The page is sized for a projector: the caption stays at the bottom of the window,
the graph scrolls in the space above it and follows the nodes sending their grad
(their outlines carry the class `sending`: all of them when they fit in the view, else
the first with as many others as fit, and a note says how many are out of view), a
small graph grows to fill that space,
and a big one is never shrunk below the scale that shows its smallest text at
MIN_TEXT px. Frames count from 1. Text
from users (labels, the expression) reaches the page escaped, and captions are set
with textContent, never as markup.

The page itself lives in assets/: stepper.html (the template, its $slots filled here),
stepper.css and stepper.js, copied into every page.
"""

import html
import json
from dataclasses import dataclass

from ..assets import asset, page_template, sandboxed_frame
from ..quoting import escape_html
from .storyboard import Animation, mark_scale

__all__ = ["stepper_html", "notebook_html", "Stepper", "MIN_TEXT"]

MIN_TEXT = 11  # px: the smallest text the page shows, whatever the graph's size


def stepper_html(anim: Animation, interval_ms: int = 800) -> str:
    """The stepper page for an animation: one HTML file with no external resource.

    Args:
        anim: from microgpt_trace.renderers.animation.storyboard.animate.
        interval_ms: time per frame while playing.

    Returns:
        The HTML document.

    >>> from microgpt_trace.tracer.expression.evaluate import trace_expression
    >>> from microgpt_trace.tracer.replay import backward_frames
    >>> from microgpt_trace.renderers.animation.storyboard import animate
    >>> G = trace_expression("a*a", {"a": 3.0})
    >>> page = stepper_html(animate(G, backward_frames(G)))
    >>> page.startswith("<!DOCTYPE html>"), "http" in page.replace(
    ...     "http://www.w3.org/", "")
    (True, False)
    """
    width, height = anim.size
    body = "".join(p if isinstance(p, str) else escape_html(anim.values[0][p])
                   for p in anim.parts)
    svg = (f'<svg width="{width:.2f}pt" height="{height:.2f}pt" viewBox="0 0 {width:.2f} '
           f'{height:.2f}"{anim.svg_attrs}>\n{body}<g id="marks" fill="none" '
           f'stroke="{anim.accent}" stroke-width="{2.5 * mark_scale(anim):.2f}"></g>\n</svg>')
    last = len(anim.values) - 1
    title = html.escape(f"backward · {anim.title}" if anim.title else "backward")
    page = page_template(__package__, "stepper.html")
    return page.substitute(
        title=title, legend=html.escape(anim.legend), last=last, count=last + 1, svg=svg,
        caption=html.escape(anim.captions[0]), frames=frames_json(anim, interval_ms),
        css=asset(__package__, "stepper.css"), script=asset(__package__, "stepper.js"))


def notebook_html(anim: Animation, height: int = 640, interval_ms: int = 800) -> str:
    """The stepper for a notebook cell: the whole page in a sandboxed iframe.

    The iframe isolates it: two steppers in one notebook share no ids, and the keys
    move only the one that has the focus (click it first).

    Args:
        anim: from microgpt_trace.renderers.animation.storyboard.animate.
        height: of the iframe, in px; it is as wide as the cell.
        interval_ms: time per frame while playing.

    Returns:
        One <iframe> element, its srcdoc the escaped page.

    >>> from microgpt_trace.tracer.expression.evaluate import trace_expression
    >>> from microgpt_trace.tracer.replay import backward_frames
    >>> from microgpt_trace.renderers.animation.storyboard import animate
    >>> G = trace_expression("a*a", {"a": 3.0})
    >>> cell = Stepper(animate(G, backward_frames(G)))._repr_html_()
    >>> cell.startswith("<iframe"), cell.count("<"), 'id=&quot;caption&quot;' in cell
    (True, 2, True)
    """
    title = f"backward · {anim.title}" if anim.title else "backward"
    return sandboxed_frame(stepper_html(anim, interval_ms), title, height)


@dataclass(frozen=True)
class Stepper:
    """An animation that a notebook displays as its stepper, inline (notebook_html)."""

    anim: Animation
    height: int = 640  # px
    interval_ms: int = 800

    def _repr_html_(self) -> str:
        return notebook_html(self.anim, self.height, self.interval_ms)


def frames_json(anim: Animation, interval_ms: int) -> str:
    """Per frame, the slots that change from the frame before, its marks and caption.

    Every "<" is written as \\u003c, so no text can close the <script> element.
    """
    frames, before = [], anim.values[0]
    for k, values in enumerate(anim.values):
        changes = [[i, v] for i, (v, old) in enumerate(zip(values, before)) if v != old]
        marks = [[x if isinstance(x, str) else round(x, 2) for x in m] for m in anim.marks[k]]
        frames.append({"changes": changes, "marks": marks, "caption": anim.captions[k],
                       "nodes": [str(n) for n in anim.active[k]]})
        before = values
    data = {"slots": anim.slots, "initial": anim.values[0], "frames": frames,
            "accent": anim.accent, "scale": round(mark_scale(anim), 3),
            "interval": interval_ms, "minText": MIN_TEXT}
    return json.dumps(data, ensure_ascii=False, separators=(",", ":")).replace("<", "\\u003c")
