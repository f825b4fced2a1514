"""Backward replay frames as text: one screen per frame, for a pager-like stepper.

Labels come from users, so every string shown passes through `printable`: a label
like "\\x1b[31m" appears as those characters and cannot recolour or move the cursor
of the terminal it is printed on. Colour is ANSI and optional; without it the output
holds no escape sequence at all.
"""

import unicodedata
from typing import Callable, Iterable

from microgpt_trace.tracer.names import node_name
from microgpt_trace.tracer.text import number, printable

__all__ = ["frame_text", "frames_text", "step_through", "printable"]

NAME_WIDTH = 32  # longer node names are cut with "…"
MAX_ROWS = 24  # table rows per frame before "… and N more nodes"

BOLD, DIM, GREEN, YELLOW = "1", "2", "32", "1;33"
PROCESSED, FINAL = "▶", "✓"
LEGEND = f"{PROCESSED} sends its grad   {FINAL} grad is final"

# Keys as click.getchar returns them in raw mode, or as typed lines ("" is Enter).
NEXT = ("", "\r", "\n", " ", "n", "\x1b[C")  # the last is the right arrow
BACK = ("p", "\x1b[D")  # p or the left arrow
QUIT = ("q", "\x1b")


def width(text):
    """Terminal columns: wide East Asian characters take two, combining marks none."""
    return sum(0 if unicodedata.combining(c) else
               2 if unicodedata.east_asian_width(c) in "WF" else 1 for c in text)


def fit(text, columns):
    """Cut text to at most `columns` cells (ending in "…") and pad it to exactly that."""
    if width(text) > columns:
        text = text[:columns]
        while width(text) > columns - 1:
            text = text[:-1]
        text += "…"
    return text + " " * (columns - width(text))


def painter(color):
    """A function wrapping text in an ANSI style, or leaving it alone without colour."""
    if not color:
        return lambda style, text: text
    return lambda style, text: f"\x1b[{style}m{text}\x1b[0m"


def rows(G, frame):
    """(mark, node, grad text) for the nodes a frame processes, then those it changes."""
    before, upstream = {}, {}
    for flow in frame.flows:
        before.setdefault(flow.child, flow.before)
        upstream[flow.parent] = flow.upstream
    final, changed = set(frame.final), dict(frame.grads)
    out = []
    for node in frame.nodes:
        grad = (f"{number(before[node])} → {number(changed[node])}" if node in changed
                else number(upstream[node]))
        out.append((PROCESSED, node, grad))
    for node, grad in frame.grads:
        if node not in upstream:
            mark = FINAL if node in final else " "
            out.append((mark, node, f"{number(before.get(node, 0.0))} → {number(grad)}"))
    return out


def table(G, frame, paint):
    """The nodes a frame touches: name, op, data, grad (before → after)."""
    every = rows(G, frame)
    shown = every[:MAX_ROWS]
    names = [printable(node_name(G, node)) for _, node, _ in shown]
    ops = [printable(G.nodes[node]["op"] or G.nodes[node]["kind"]) for _, node, _ in shown]
    data = [number(G.nodes[node]["data"]) for _, node, _ in shown]
    columns = (min(NAME_WIDTH, max(map(width, names + ["node"]))),
               max(map(width, ops + ["op"])), max(map(len, data + ["data"])))

    def cells(name, op, x):
        return f"{fit(name, columns[0])}  {fit(op, columns[1])}  {x:>{columns[2]}}"

    lines = [paint(DIM, f"   {cells('node', 'op', 'data')}  grad")]
    for (mark, _, grad), *row in zip(shown, names, ops, data):
        if mark == PROCESSED:
            lines.append(paint(YELLOW, f" {mark} {cells(*row)}  {grad}"))
        else:
            lines.append(f" {paint(GREEN, mark) if mark == FINAL else mark} {cells(*row)}  {grad}")
    if len(every) > MAX_ROWS:
        lines.append(f"   … and {len(every) - MAX_ROWS} more nodes")
    return lines


def frame_text(G, frames, k, color=True) -> str:
    """Frame k as text: header, the caption's chain-rule arithmetic, a node table.

    Args:
        G: the graph the frames were replayed on (microgpt_trace.tracer.graph schema).
        frames: the list from microgpt_trace.tracer.backward_frames.
        k: the frame to show, 0 (the seed) to len(frames) - 1.
        color: ANSI bold and colours; False gives plain text without any escape.

    Returns:
        The text, lines joined with "\\n", no trailing newline.

    >>> from types import SimpleNamespace as F
    >>> import networkx as nx
    >>> G = nx.MultiDiGraph()
    >>> G.add_node(0, label="x", op="", kind="input", data=2.0)
    >>> seed = F(nodes=(), flows=(), grads=((0, 1.0),), final=(0,), caption="seed: x.grad = 1")
    >>> print(frame_text(G, [seed], 0, color=False))
    frame 1 / 1   ▶ sends its grad   ✓ grad is final
    seed: x.grad = 1
    <BLANKLINE>
       node  op     data  grad
     ✓ x     input     2  0 → 1
    """
    frame, paint = frames[k], painter(color)
    header = paint(BOLD, f"frame {k + 1} / {len(frames)}") + "   " + paint(DIM, LEGEND)
    caption = [printable(line) for line in frame.caption.split("\n")]
    return "\n".join([header, *caption, "", *table(G, frame, paint)])


def frames_text(G, frames, color=True) -> str:
    """Every frame, separated by blank lines: the non-interactive view."""
    return "\n\n".join(frame_text(G, frames, k, color) for k in range(len(frames)))


def prompt(k, last, paint):
    keys = "Enter/q quit · p back" if k == last else "Enter/n next · p back · q quit"
    return paint(DIM, f"[{keys}]")


def step_through(G, frames, keys: Iterable[str], show: Callable[[str], None],
                 color=True) -> int:
    """Show frame 0, then move one frame per key until `q`, Enter on the last, or no keys.

    Args:
        G, frames, color: as for frame_text.
        keys: the keys pressed: Enter, space, `n` or → for next, `p` or ← back,
            `q` or Esc to quit; others are ignored.
        show: called with each screen (a frame and the key hint) to display.

    Returns:
        The index of the frame shown last.

    >>> import networkx as nx
    >>> from types import SimpleNamespace as F
    >>> G = nx.MultiDiGraph(); G.add_node(0, label="x", op="", kind="input", data=2.0)
    >>> seed = F(nodes=(), flows=(), grads=((0, 1.0),), final=(0,), caption="seed")
    >>> screens = []
    >>> step_through(G, [seed, seed], ["n", "x", "p", "q"], screens.append, False)
    0
    >>> [screen.split()[1] for screen in screens]  # the frame numbers shown
    ['1', '2', '1']
    """
    k, last, paint = 0, len(frames) - 1, painter(color)
    show(frame_text(G, frames, k, color) + "\n\n" + prompt(k, last, paint))
    for key in keys:
        if key in QUIT or (key in NEXT and k == last):
            break
        if key in NEXT or key in BACK:
            k = k + 1 if key in NEXT else max(k - 1, 0)
            show(frame_text(G, frames, k, color) + "\n\n" + prompt(k, last, paint))
    return k
