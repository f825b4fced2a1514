"""SVG frames: each frame of an Animation as a standalone SVG with its caption band.

The same caption band is drawn by the GIF, so its geometry (Band) lives here too.
"""

import re
from dataclasses import dataclass

from microgpt_trace.microgpt.runs.files import write_folder

from ..exceptions import RenderError, TooManyFramesError
from ..quoting import escape_html
from .storyboard import Animation, mark_scale
from .svg_template import text_width

__all__ = ["frame_svgs", "marks_svg", "caption_band", "Band", "write_svg_frames",
           "check_frames_budget", "MAX_FRAME_NODES"]

FRAME_FILE = re.compile(r"frame-\d{4,}\.svg")
# Each SVG frame is the whole drawing again, 1 to 3 KB per node of the layout (a 100-term
# sum: 100 frames of 0.62 MB; pos4/layer0/attn, 241 frames of layout size 831: 226 MB in
# all). A 1,799-node expression's 900 frames would be about 5 GB (they once filled 8 GB
# of memory). 250,000 frames x layout size keeps a folder under about 750 MB; frames are
# written one at a time, so memory holds one.
MAX_FRAME_NODES = 250_000


def check_frames_budget(count: int, size: int, max_frame_nodes: int = MAX_FRAME_NODES) -> None:
    """Refuse a folder of SVG frames whose frames x layout size passes the budget,
    before any layout: each frame repeats the whole drawing.

    Raises:
        TooManyFramesError: over the budget; the message says what to do instead.

    >>> check_frames_budget(100, 1000)
    >>> check_frames_budget(900, 1799)  # doctest: +ELLIPSIS, +NORMALIZE_WHITESPACE
    Traceback (most recent call last):
    ...
    microgpt_trace.renderers.exceptions.TooManyFramesError: 900 SVG frames of a graph of
    layout size 1799 is 1619100 node-frames, over the budget of 250000 for a folder of
    frames (each repeats the whole drawing): write an .html stepper ...
    """
    if count * size > max_frame_nodes:
        raise TooManyFramesError(
            f"{count} SVG frames of a graph of layout size {size} is {count * size} "
            f"node-frames, over the budget of {max_frame_nodes} for a folder of frames (each "
            "repeats the whole drawing): write an .html stepper (one drawing and what each "
            "frame changes), or use --granularity scope or level for fewer frames")


def frame_svgs(anim: Animation) -> list:
    """Every frame as a standalone SVG: the graph, its marks, and the caption below.

    Args:
        anim: from animate().

    Returns:
        One SVG document (str) per frame, all the same size, nodes in the same places.

    >>> from microgpt_trace.tracer.expression.evaluate import trace_expression
    >>> from microgpt_trace.tracer.replay import backward_frames
    >>> from microgpt_trace.renderers.animation.storyboard import animate
    >>> G = trace_expression("a*a")
    >>> svgs = frame_svgs(animate(G, backward_frames(G)))
    >>> len(svgs), "a.grad += 2 × 1 → 4" in svgs[1]
    (2, True)
    """
    return list(each_frame_svg(anim))


def each_frame_svg(anim: Animation):
    """The frames of frame_svgs one at a time, so a writer holds one in memory."""
    band = caption_band(anim)
    head = (f'<svg width="{band.width:.2f}pt" height="{band.height:.2f}pt" viewBox="0 0 '
            f'{band.width:.2f} {band.height:.2f}"{anim.svg_attrs}>\n'
            '<rect width="100%" height="100%" fill="#ffffff"/>\n')
    escaped = {}  # slot values repeat a lot: colours, styles, the same numbers
    for k, values in enumerate(anim.values):
        body = "".join(p if isinstance(p, str) else escaped.get(values[p])
                       or escaped.setdefault(values[p], escape_html(values[p]))
                       for p in anim.parts)
        yield ('<?xml version="1.0" encoding="UTF-8" standalone="no"?>\n' + head + body
               + marks_svg(anim.marks[k], anim.accent, mark_scale(anim)) + band.svg(anim, k)
               + "</svg>\n")


def marks_svg(marks, accent: str, scale: float = 1.0) -> str:
    """The marks of one frame: outlines ("box", "ring", class `sending`: they surround
    the nodes sending their grad) and flow labels ("label").

    Args:
        marks: ("box", x0, y0, x1, y1), ("ring", cx, cy, rx, ry) or ("label", x, y,
            text) tuples in absolute SVG units.
        accent: their colour.
        scale: line widths and font size grow with it (big graphs are shown shrunk).

    Returns:
        An SVG <g> element.

    >>> print(marks_svg([("label", 1, 2, "<3")], "#000000"))  # doctest: +NORMALIZE_WHITESPACE
    <g class="marks" fill="none" stroke="#000000" stroke-width="2.50">
    <text x="1.00" y="-1.00" text-anchor="middle" font-family="DejaVu Sans,sans-serif"
    font-size="10.00" font-weight="bold" fill="#000000" stroke="#ffffff" stroke-width="3.00"
    paint-order="stroke">&lt;3</text>
    </g>
    """
    out = [f'<g class="marks" fill="none" stroke="{accent}" stroke-width="{2.5 * scale:.2f}">']
    for kind, a, b, c, *d in marks:
        if kind == "box":
            out.append(f'<rect class="sending" x="{a:.2f}" y="{b:.2f}" width="{c - a:.2f}" '
                       f'height="{d[0] - b:.2f}" rx="3"/>')
        elif kind == "ring":
            out.append(f'<ellipse class="sending" cx="{a:.2f}" cy="{b:.2f}" rx="{c:.2f}" '
                       f'ry="{d[0]:.2f}"/>')
        else:
            out.append(f'<text x="{a:.2f}" y="{b - 3 * scale:.2f}" text-anchor="middle" '
                       f'font-family="DejaVu Sans,sans-serif" font-size="{10 * scale:.2f}" '
                       f'font-weight="bold" fill="{accent}" stroke="#ffffff" '
                       f'stroke-width="{3 * scale:.2f}" paint-order="stroke">'
                       f'{escape_html(c)}</text>')
    return "\n".join(out) + "\n</g>\n"


@dataclass(frozen=True)
class Band:
    """The caption area under the graph: frame number, legend, then the caption."""

    width: float
    height: float
    top: float  # where it starts, below the graph
    size: float  # font size

    def lines(self, anim, k):
        """(indent in characters, text, style: "bold", "muted" or "") per line."""
        caption = [(len(line) - len(line.lstrip(" ")), line.lstrip(" "), "")
                   for line in anim.captions[k].split("\n")]
        return [(0, f"frame {k + 1} / {len(anim.values)}", "bold"),
                (0, anim.legend, "muted")] + caption

    def svg(self, anim, k):
        step, x = self.size * 1.35, self.size * 0.8
        styles = {"bold": ' font-weight="bold"', "muted": ' fill="#666666"', "": ""}
        out = [f'<g class="caption" font-family="DejaVu Sans,Helvetica,sans-serif" '
               f'font-size="{self.size:.1f}" fill="#111111">',
               f'<line x1="0" y1="{self.top:.2f}" x2="{self.width:.2f}" y2="{self.top:.2f}" '
               'stroke="#bbbbbb"/>']
        for i, (indent, text, style) in enumerate(self.lines(anim, k)):
            out.append(f'<text x="{x + indent * self.size * 0.5:.2f}" '
                       f'y="{self.top + step * (i + 1):.2f}"{styles[style]}>'
                       f'{escape_html(text)}</text>')
        return "\n".join(out) + "\n</g>\n"


def caption_band(anim: Animation) -> Band:
    """One size for every frame: wide and tall enough for the longest caption."""
    width, height = anim.size
    size = min(20.0, max(11.0, width / 90))
    rows = max(len(c.split("\n")) for c in anim.captions) + 2
    longest = max([anim.legend] + [line for c in anim.captions for line in c.split("\n")],
                  key=len)
    wide = text_width(longest, size) * 1.15 + 2 * size
    return Band(max(width, wide), height + size * 1.35 * (rows + 0.7), height, size)


def write_svg_frames(anim: Animation, folder) -> list:
    """Write frame-0000.svg, frame-0001.svg, ... into a folder, all or nothing.

    The frames are written to a new folder beside it that is then renamed, so a
    failure leaves no partial set; a folder holding only frames is replaced.

    Args:
        anim: from animate().
        folder: a new folder, an empty one, or one holding only frame-*.svg files.

    Returns:
        The paths written.

    Raises:
        RenderError: the folder holds other files, or cannot be written.

    >>> import tempfile, os
    >>> from microgpt_trace.tracer.expression.evaluate import trace_expression
    >>> from microgpt_trace.tracer.replay import backward_frames
    >>> from microgpt_trace.renderers.animation.storyboard import animate
    >>> G = trace_expression("a*a")
    >>> out = os.path.join(tempfile.mkdtemp(), "frames")
    >>> [p.name for p in write_svg_frames(animate(G, backward_frames(G)), out)]
    ['frame-0000.svg', 'frame-0001.svg']
    """
    files = ((f"frame-{k:04d}.svg", svg) for k, svg in enumerate(each_frame_svg(anim)))
    try:
        return write_folder(folder, files, FRAME_FILE.fullmatch)
    except FileExistsError:
        raise RenderError(f"{str(folder)!r} is not a folder of frames: write them into a "
                          "new or empty folder") from None
    except OSError as e:
        raise RenderError(f"cannot write {str(folder)!r}: {e.strerror or e}") from None
