"""Writing an animation: the output path picks the stepper, the GIF or SVG frames."""

import os
from pathlib import Path

import networkx as nx

from ..diagrams.render import DEFAULT_MAX_NODES, layout_size, write_bytes
from ..exceptions import FormatError
from .gif import check_frame_count, gif_bytes
from .stepper import stepper_html
from .storyboard import animate
from .svg import check_frames_budget, write_svg_frames

__all__ = ["animation_kind", "write_animation"]


def animation_kind(output) -> str:
    """"html", "gif" or "frames" (a folder: a trailing / or an existing folder).

    Args:
        output: the path given with -o.

    Returns:
        The kind of output to write.

    Raises:
        FormatError: anything else.

    >>> [animation_kind(p) for p in ("a.html", "b.GIF", "frames/")]
    ['html', 'gif', 'frames']
    """
    text = str(output)
    if text.endswith(("/", os.sep)) or Path(text).is_dir():
        return "frames"
    suffix = Path(text).suffix.lower()
    if suffix in (".html", ".htm", ".gif"):
        return "gif" if suffix == ".gif" else "html"
    raise FormatError(f"unsupported output {text!r}: use .html (a stepper), .gif, or a "
                      "folder ending in / for SVG frames")


def write_animation(G: nx.Graph, frames: list, output, *, rankdir: str = "LR",
                    theme: str = "default", max_nodes: int = DEFAULT_MAX_NODES) -> str:
    """Animate frames into the stepper, GIF or SVG frames that `output` names.

    Args:
        G, frames, rankdir, theme, max_nodes: as for animate().
        output: "x.html", "x.gif", or a folder (see animation_kind).

    Returns:
        The kind written: "html", "gif" or "frames".

    Raises:
        FormatError: an output animation_kind refuses.
        TooManyFramesError: too many frames for a GIF, or frames x layout size over
            the budget of a folder of SVG frames (checked before any layout).
        GraphTooLargeError, RenderError: as for animate, or the output cannot be
            written; nothing is left half-written.

    >>> import tempfile, os
    >>> from microgpt_trace.tracer.expression.evaluate import trace_expression
    >>> from microgpt_trace.tracer.replay import backward_frames
    >>> G = trace_expression("a*a")
    >>> write_animation(G, backward_frames(G), os.path.join(tempfile.mkdtemp(), "a.html"))
    'html'
    """

    kind = animation_kind(output)
    if kind == "gif":
        check_frame_count(len(frames))
    if kind == "frames":
        check_frames_budget(len(frames), layout_size(G))
    anim = animate(G, frames, rankdir=rankdir, theme=theme, max_nodes=max_nodes)
    if kind == "frames":
        write_svg_frames(anim, output)
    elif kind == "gif":
        write_bytes(output, gif_bytes(anim))
    else:
        write_bytes(output, stepper_html(anim).encode("utf-8"))
    return kind
