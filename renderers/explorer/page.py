"""The explorer page: every view of a traced graph in one offline HTML file.

Layout happens here, at build time: each view is laid out once by `dot`, through the
animation renderer (microgpt_trace.renderers.animation.storyboard.animate), so the
view and its backward stepper share one layout and one set of ids (a node's DOT
name, "n12", in both). A view is stored as its stepper page (stepper_html: the same
frames, captions and keys as `backward --scope`), the slot values of its last frame
(what the view shows: every grad final), the table of what each id means (from
microgpt_trace.tracer.explorer_views.node_facts) and where each node is drawn.
Each view's JSON is gzipped and base64-encoded on its own; the page inflates one
(DecompressionStream) when it first opens, so a big model's file opens as fast as
a small one's.

The page itself lives in assets/: explorer.html (the template, its $slots filled
here), explorer.css and explorer.js. User text reaches the page as JSON with every
"<" escaped, and the script sets it as text, never as markup.
"""

import base64
import gzip
import html
import json

from microgpt_trace.tracer.explorer_views import (
    ExplorerView,
    explorer_views,
    node_facts,
    search_index,
)

from ..animation.stepper import MIN_TEXT, stepper_html
from ..animation.storyboard import animate, put
from ..assets import asset, page_template, sandboxed_frame
from ..diagrams.render import check_layout_size, layout_size, write_bytes
from ..diagrams.values import node_names
from ..exceptions import FormatError

__all__ = ["explorer_page", "explorer_html", "write_explorer", "notebook_html", "view_record",
           "EXPLORE_MAX_NODES"]

NO_CAP = 10 ** 9  # views are chosen to fit already (explorer_views' max_size)
# A scope larger than this opens as blocks: at 400 a view lays out in well under a
# second, and reads at 11 px text with a few screens of panning (an MLP is 183).
EXPLORE_MAX_NODES = 400


def explorer_page(G, *, max_nodes: int = EXPLORE_MAX_NODES, depth: int | None = None,
                  theme: str = "default", title: str = "") -> str:
    """The explorer page of a traced graph: every view laid out, one HTML document.

    Args:
        G: a model graph (trace_checkpoint_text) or any traced graph (an expression).
        max_nodes: the layout cap (layout_size) of an op-level view; bigger scopes
            open as blocks of their child scopes.
        depth: the model's block view depth (1-3); None: the deepest that fits.
        theme: a name in microgpt_trace.renderers.themes.THEMES.
        title: the heading [default: the graph's source].

    Returns:
        The HTML document (explorer_html).

    Raises:
        GraphTooLargeError: a graph that is not a model (one view) is over max_nodes.
        RenderError: dot failed on a view.
    """
    views = explorer_views(G, max_nodes, layout_size, depth)
    if views[0].kind == "expression":  # one view: nothing to open it in pieces
        check_layout_size(G, max_nodes, "draw a smaller part of the graph or raise max_nodes")
    return explorer_html(views, [node_facts(v) for v in views], search_index(views),
                         title or G.graph.get("source", ""), theme)


def write_explorer(page: str, output) -> None:
    """Write the page to an .html file, all or nothing.

    Raises:
        FormatError: the file name does not end in .html or .htm.
        RenderError: the file cannot be written.
    """
    if not str(output).lower().endswith((".html", ".htm")):
        raise FormatError(f"the explorer is one HTML page: name it .html, not {str(output)!r}")
    write_bytes(output, page.encode("utf-8"))


def explorer_html(views: list, facts: list, index: list, title: str,
                  theme: str = "default") -> str:
    """The explorer page.

    Args:
        views: ExplorerViews, the root first (microgpt_trace.tracer.explorer_views).
        facts: node_facts of each view, in the same order.
        index: search_index(views): (text, scope, node or None) entries.
        title: the page's heading (the text traced, or the expression).
        theme: a name in microgpt_trace.renderers.themes.THEMES.

    Returns:
        The HTML document: no external resource, no network request.

    Raises:
        RenderError: dot failed on a view.

    >>> from microgpt_trace.tracer.expression.evaluate import trace_expression
    >>> from microgpt_trace.tracer.explorer_views import explorer_views, node_facts
    >>> views = explorer_views(trace_expression("a*b + a"), 400, len)
    >>> page = explorer_html(views, [node_facts(v) for v in views], [], "a*b + a")
    >>> page.startswith("<!DOCTYPE html>"), "http" in page.replace("http://www.w3.org/", "")
    (True, False)
    """
    records = [view_record(v, f, theme) for v, f in zip(views, facts)]
    names = {v.scope: node_names(v.graph) for v in views}
    data = {"title": title, "minText": MIN_TEXT,
            "views": [{"scope": v.scope, "kind": v.kind, "nodes": v.graph.number_of_nodes(),
                       "payload": packed(r)} for v, r in zip(views, records)],
            "index": [[text, scope, names[scope].get(node) if node is not None else None]
                      for text, scope, node in index]}
    page = page_template(__package__, "explorer.html")
    return page.substitute(title=html.escape(f"explore · {title}"), data=script_json(data),
                           css=asset(__package__, "explorer.css"),
                           script=asset(__package__, "explorer.js"))


def view_record(view: ExplorerView, facts: dict, theme: str = "default") -> dict:
    """One view as the page reads it: the stepper page, the final slot values, and per
    DOT name its facts, the shapes it is drawn as (the stepper's outlines: a table row
    is a box, an op a ring, a value both) and the scope it opens."""
    anim = animate(view.graph, view.frames, theme=theme, max_nodes=NO_CAP)
    names = node_names(view.graph)
    shapes = {names[n]: [[round(x, 2) if isinstance(x, float) else x for x in m]
                         for m in marks] for n, marks in anim.outlines.items()}
    # where the gradient enters: the output furthest along the flow (left to right)
    roots = [mark_box(m) for r in view.graph.graph.get("roots", ())
             for m in anim.outlines.get(r, ())]
    roots = [max(roots, key=lambda b: b[2])] if roots else []
    entry = union(roots) if roots else (0.0, 0.0) + anim.size
    G = view.graph
    nodes = {names[n]: {**renamed(fact, names), "in": [names[u] for u in G.predecessors(n)],
                        "out": [names[v] for v in G.successors(n)]} for n, fact in facts.items()}
    return {"scope": view.scope, "kind": view.kind, "page": stepper_html(anim),
            "slots": anim.slots, "final": final_values(anim), "size": anim.size, "shapes": shapes,
            "entry": [(entry[0] + entry[2]) / 2, (entry[1] + entry[3]) / 2],
            "nodes": nodes, "opens": {names[b]: s for b, s in view.opens.items()},
            "clusters": clusters(view)}


def final_values(anim) -> list:
    """The slot values after the last frame, every edge drawn as done (not flowing)."""
    values = list(anim.values[-1])
    for key, (colour, width) in anim.done.items():
        put(values, anim.edges[key].slots, (colour, colour, f"{width:.2f}"))
    return values


def renamed(fact: dict, names: dict) -> dict:
    """A fact with its node references as DOT names (inputs outside the view: None)."""
    if fact.get("block"):
        return fact
    return {**fact, "inputs": [[names.get(u), name, data, local]
                               for u, name, data, local in fact["inputs"]],
            "outputs": [names[v] for v in fact["outputs"]]}


def clusters(view: ExplorerView) -> dict:
    """A scope view's cluster names (dot's <title> of each) -> the sub-scope it draws."""
    subs = {d.get("cluster") for _, d in view.graph.nodes(data=True)} - {None, ""}
    return {f"cluster_{sub}": f"{view.scope}/{sub}" for sub in sorted(subs)}


def mark_box(mark) -> tuple:
    kind, a, b, c, d = mark
    return (a - c, b - d, a + c, b + d) if kind == "ring" else (a, b, c, d)


def union(boxes) -> tuple:
    x0, y0, x1, y1 = zip(*boxes)
    return (min(x0), min(y0), max(x1), max(y1))


def packed(record: dict) -> str:
    """gzip + base64 of the record's JSON: what the page inflates when the view opens."""
    text = json.dumps(record, ensure_ascii=False, separators=(",", ":"))
    return base64.b64encode(gzip.compress(text.encode("utf-8"), mtime=0)).decode("ascii")


def script_json(data) -> str:
    """JSON safe inside <script>: no "<" can close the element."""
    return json.dumps(data, ensure_ascii=False, separators=(",", ":")).replace("<", "\\u003c")


def notebook_html(page: str, height: int = 720) -> str:
    """The explorer for a notebook cell: the whole page in a sandboxed iframe, so two
    explorers on one notebook page share no ids, no state and no keys.

    >>> notebook_html("<p>x</p>").startswith('<iframe sandbox="allow-scripts"')
    True
    """
    return sandboxed_frame(page, "explorer", height)
