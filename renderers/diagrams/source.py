"""Graphs -> DOT text: a pure function, byte-deterministic, no Graphviz needed.

`G.graph["view"]` picks the drawing: "expression" (the default), "model" (the same,
clustered by scope), "head" (one attention head), "blocks" (a collapsed model) or
"scope" (any scope at op level, from microgpt_trace.tracer.scope_view).
Running `dot` on the text is microgpt_trace.renderers.diagrams.render's job alone.
"""

from dataclasses import replace
from typing import TYPE_CHECKING

import networkx as nx

from ..exceptions import RenderError
from ..themes import get_theme
from .blocks import blocks_lines, blocks_title
from .head import head_lines, head_title
from .scope import scope_lines, scope_title
from .values import Frames, Style, digraph, key_label, value_lines

if TYPE_CHECKING:
    import graphviz

__all__ = ["dot_source", "to_dot", "VIEWS", "RANKDIRS"]

VIEWS = ("expression", "model", "head", "blocks", "scope")
RANKDIRS = ("LR", "TB")
KIND_ORDER = ("param", "input", "const", "op")
NOT_COMPUTED = "not computed"  # the graph attribute `grads` before backward (tracer.graph)
GRADS_NOTE = "grads not computed yet: call backward()"


def make_style(rankdir: str, edge_labels: bool, backward: bool, theme: str,
               frames: Frames = None) -> Style:
    if rankdir not in RANKDIRS:
        raise RenderError(f"unknown rankdir {rankdir!r}: use LR or TB")
    return Style(rankdir, bool(edge_labels), bool(backward), get_theme(theme), frames)


def dot_source(G: nx.Graph, *, rankdir: str = "LR", edge_labels: bool = False,
               backward: bool = True, theme: str = "default", frames: Frames = None) -> str:
    """Draw a traced graph as DOT text, chosen by its "view" graph attribute.

    Args:
        G: a graph following microgpt_trace.tracer.graph's schema (or a blocks graph).
        rankdir: "LR" (left to right) or "TB" (top to bottom).
        edge_labels: put each argument's local gradient (and what flowed back
            along it, when drawing backward) on its edge.
        backward: show gradients; False draws the forward pass only, as does a graph
            traced before backward() (its `grads` attribute is "not computed"), with
            a note saying so.
        theme: a name in microgpt_trace.renderers.themes.THEMES ("default" or "colorblind").
        frames: drawing the base of an animation (microgpt_trace.renderers.diagrams.values.Frames):
            grad cells as links of a set width, argument edges idle.

    Returns:
        The DOT text; the same graph and options always give the same bytes.

    Raises:
        RenderError: an unknown view, rankdir or theme.

    >>> G = nx.MultiDiGraph(source="-a", roots=(2,))
    >>> G.add_node(0, op="", data=2.0, grad=-1.0, label="a", scope="", kind="input")
    >>> G.add_node(1, op="", data=-1.0, grad=2.0, label="", scope="", kind="const")
    >>> G.add_node(2, op="*", data=-2.0, grad=1.0, label="-a", scope="", kind="op")
    >>> G.add_edge(0, 2, 0, arg=0, local_grad=-1.0, contribution=-1.0)
    0
    >>> G.add_edge(1, 2, 1, arg=1, local_grad=2.0, contribution=2.0)
    1
    >>> [line.strip() for line in dot_source(G).splitlines() if "->" in line]
    ['opn2 -> n2 [id="e_opn2_n2", class="result"]', 'n0 -> opn2 [id="e_n0_n2_0", \
class="arg", penwidth="2.50"]', 'n1 -> opn2 [id="e_n1_n2_1", class="arg", penwidth="4.00"]']
    """
    style = make_style(rankdir, edge_labels, backward, theme, frames)
    view = G.graph.get("view", "expression")
    # newrank: dot 2.43's older ranking took minutes on some 500-node clustered model
    # graphs that the newer one lays out in 0.2 s. Blocks keep the older one, which
    # keeps each position's cluster compact, and skip crossing reduction, which would
    # shuffle the positions: pos 0, 1, 2... top to bottom is what a reader looks for.
    if view == "head":
        return digraph(head_lines(G, style), style, head_title(G, style), newrank="true")
    if view == "blocks":
        return digraph(blocks_lines(G, style), style, blocks_title(G, style), mclimit="0.01")
    if view == "scope":
        return digraph(scope_lines(G, style), style, scope_title(G, style), newrank="true")
    if view not in VIEWS:
        raise RenderError(f"unknown view {view!r}: use one of {', '.join(VIEWS)}")
    kinds = {d.get("kind", "op") for _, d in G.nodes(data=True)}
    note = ()
    if style.backward and G.graph.get("grads") == NOT_COMPUTED:
        # zeros drawn as grads would read as "nothing depends on this"
        style, note = replace(style, backward=False), ((GRADS_NOTE, ""),)
    title = key_label(G.graph.get("source", ""), style,
                      [k for k in KIND_ORDER if k in kinds], flows=G.number_of_edges() > 0,
                      extra=note)
    return digraph(value_lines(G, style, clustered=view == "model"), style, title,
                   newrank="true")


def to_dot(G: nx.Graph, **style) -> "graphviz.Source":
    """The diagram as a graphviz.Source, which a Jupyter notebook displays inline.

    Args:
        G: as for dot_source.
        **style: dot_source's keyword options.

    Returns:
        graphviz.Source wrapping dot_source(G, **style).

    Raises:
        RenderError: as for dot_source.

    >>> to_dot(nx.MultiDiGraph()).source.startswith("digraph {")
    True
    """
    import graphviz

    return graphviz.Source(dot_source(G, **style))
