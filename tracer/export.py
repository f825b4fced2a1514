"""Write traced graphs as GraphML, GEXF or node-link JSON, and read them back exactly.

Floats are written with repr, so every data, grad and contribution reads back to
the same bits; the schema's float attributes (data, grad, exponent, local_grad,
contribution) are always written as floats, even where the engine left an int (the
constant -1 of a negation). What each format cannot hold natively:

- GraphML has no tuples: a tuple graph attribute (roots, tokens) is written as a JSON
  list string, and the graph attribute `json_attrs` (itself a JSON list) names them.
- GEXF has no graph attributes at all (networkx reads and writes only the graph's
  name): all of them travel as one JSON object in the graph's `name`.
- JSON keeps lists natively.

read_graph undoes all of this: it returns a MultiDiGraph (edge keys as written; for a
simple graph, the `arg` attribute or 0) with tuple graph attributes restored.
"""

import io
import json
import re
from pathlib import Path
from xml.etree.ElementTree import ParseError

import networkx as nx

from microgpt_trace.microgpt.runs.files import write_output

from .exceptions import ExportError

__all__ = ["FORMATS", "write_graph", "read_graph"]

FORMATS = ("graphml", "gexf", "json")
FLOAT_ATTRS = ("data", "grad", "local_grad", "contribution", "exponent")
JSON_ATTRS = "json_attrs"  # GraphML graph attribute naming the JSON-encoded ones


def format_of(path, fmt):
    name = (fmt or Path(path).suffix.lstrip(".")).lower()
    if name not in FORMATS:
        given = f"format {fmt!r}" if fmt else f"extension {Path(path).suffix!r} of {str(path)!r}"
        raise ExportError(f"unsupported graph {given}: use {', '.join(FORMATS)}")
    return name


def floats(attrs):
    return {k: float(v) if k in FLOAT_ATTRS and type(v) is int else v for k, v in attrs.items()}


def portable(G, graph_attrs):
    """A copy of G with the schema floats as floats and the given graph attributes."""
    H = G.__class__()
    H.graph.update(graph_attrs)
    H.add_nodes_from((n, floats(d)) for n, d in G.nodes(data=True))
    if G.is_multigraph():
        H.add_edges_from((u, v, k, floats(d)) for u, v, k, d in G.edges(keys=True, data=True))
    else:
        H.add_edges_from((u, v, floats(d)) for u, v, d in G.edges(data=True))
    return H


def encode(G, fmt):
    """The whole file as bytes, so a failure never leaves a partial file."""
    attrs = {k: list(v) if isinstance(v, tuple) else v for k, v in G.graph.items()}
    buffer = io.BytesIO()
    if fmt == "json":
        data = nx.node_link_data(portable(G, attrs), edges="edges")
        return json.dumps(data, ensure_ascii=False, separators=(",", ":")).encode("utf-8")
    if fmt == "graphml":
        listed = [k for k, v in attrs.items() if isinstance(v, list)]
        attrs.update({k: json.dumps(attrs[k], ensure_ascii=False) for k in listed})
        if listed:
            attrs[JSON_ATTRS] = json.dumps(listed)
        nx.write_graphml_xml(portable(G, attrs), buffer)
    else:
        name = json.dumps(attrs, ensure_ascii=False)
        nx.write_gexf(portable(G, {"name": name}), buffer)
    check_xml_text(buffer.getvalue().decode("utf-8"))
    return buffer.getvalue()


# characters XML 1.0 cannot hold, even escaped: most C0 controls, surrogates, U+FFFE/F
NOT_XML = re.compile("[^\t\n\r\x20-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")


def check_xml_text(text):
    """Refuse a label the file could not hold: a reader would reject the whole file."""
    bad = NOT_XML.search(text)
    if bad:
        raise ValueError(f"a label holds {bad.group()!r}, which XML cannot hold; "
                         "use json")


def write_graph(G: nx.MultiDiGraph, path, fmt: str = None) -> None:
    """Write G atomically (a temporary file renamed into place).

    Args:
        G: a traced graph (or any view from microgpt_trace.tracer.queries).
        path: the output file, or "-" for stdout (then fmt is required).
        fmt: "graphml", "gexf" or "json" [default: from the extension of path].

    Raises:
        ExportError: unknown format, an attribute the format cannot hold, or the
            file cannot be written.

    >>> import os, tempfile
    >>> from microgpt_trace.tracer.expression.evaluate import trace_expression
    >>> with tempfile.TemporaryDirectory() as folder:
    ...     write_graph(trace_expression("a*a"), os.path.join(folder, "g.gexf"))
    ...     read_graph(os.path.join(folder, "g.gexf")).graph
    {'roots': (1,), 'source': 'a*a', 'view': 'expression'}
    """
    fmt = format_of(path, fmt)
    try:
        data = encode(G, fmt)
    except (nx.NetworkXError, TypeError, ValueError) as e:
        raise ExportError(f"cannot write this graph as {fmt}: {e}") from None
    try:
        write_output(path, data)
    except OSError as e:
        raise ExportError(f"cannot write {str(path)!r}: {e.strerror or e}") from None


def read_graph(path, fmt: str = None) -> nx.MultiDiGraph:
    """Read a file written by write_graph, restoring every attribute exactly.

    Args:
        path: a .graphml, .gexf or .json file.
        fmt: the format [default: from the extension of path].

    Returns:
        A MultiDiGraph with int node ids and the original node, edge and graph
        attributes (tuple graph attributes as tuples).

    Raises:
        ExportError: unknown format, missing file, or a file that does not parse.

    >>> read_graph("graph.dot")  # doctest: +NORMALIZE_WHITESPACE
    Traceback (most recent call last):
    ...
    microgpt_trace.tracer.exceptions.ExportError: unsupported graph extension '.dot' of
    'graph.dot': use graphml, gexf, json
    """
    fmt = format_of(path, fmt)
    try:
        if fmt == "json":
            with open(path, encoding="utf-8") as f:
                G = nx.node_link_graph(json.load(f), edges="edges")
        elif fmt == "graphml":
            G = nx.read_graphml(path, node_type=int, edge_key_type=int, force_multigraph=True)
            for extra in ("node_default", "edge_default"):  # added by the reader
                G.graph.pop(extra, None)
            for name in json.loads(G.graph.pop(JSON_ATTRS, "[]")):
                G.graph[name] = json.loads(G.graph[name])
        else:
            G = nx.read_gexf(path, node_type=int)
            G.graph = json.loads(G.graph.get("name", "{}"))
    except FileNotFoundError:
        raise ExportError(f"graph file not found: {str(path)!r}") from None
    except (OSError, ParseError, ValueError, KeyError, TypeError, nx.NetworkXError) as e:
        raise ExportError(f"{str(path)!r} is not a readable {fmt} graph ({e})") from None
    return as_multidigraph(G, drop_edge_attr="id" if fmt == "gexf" else None)


def as_multidigraph(G, drop_edge_attr=None):
    """G as a new MultiDiGraph with tuple graph attributes; simple graphs key by `arg`."""
    H = nx.MultiDiGraph()
    H.graph.update({k: tuple(v) if isinstance(v, list) else v for k, v in G.graph.items()})
    H.add_nodes_from(G.nodes(data=True))
    edges = (G.edges(keys=True, data=True) if G.is_multigraph()
             else ((u, v, d.get("arg", 0), d) for u, v, d in G.edges(data=True)))
    for u, v, k, d in edges:
        H.add_edge(u, v, k, **{a: x for a, x in d.items() if a != drop_edge_attr})
    return H
