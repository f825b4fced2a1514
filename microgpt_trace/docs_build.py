"""The diagrams in docs/img: what each one draws, the CLI command that draws the
same thing, and the function that regenerates them or checks they are current.

Each diagram is committed twice: the DOT text and the SVG Graphviz made from it.
SVG bytes depend on the Graphviz version, so the check compares DOT text (exact, and
needs no `dot`) and only asks that the SVG exists. Regenerating writes each SVG
before its DOT: if `dot` fails halfway, the old DOT stays and the check still flags
that diagram.
"""

from dataclasses import dataclass, field
from functools import lru_cache, partial
from pathlib import Path
from typing import Callable

import networkx as nx

from renderers.diagrams.source import dot_source
from renderers.diagrams.render import write_diagram
from tracer.expression.evaluate import trace_expression
from tracer.queries import collapse
from tracer.scope_view import scope_view

from .options import load_head, load_traced_text

__all__ = ["Diagram", "DIAGRAMS", "IMG_DIR", "diagram_dot", "build_docs"]

IMG_DIR = Path("docs") / "img"  # relative to the repository root
TEXT = "anna"  # the document every model diagram runs on
WORKED = {"a": 2.0, "b": 3.0}
# micrograd's neuron: b = 6 + atanh(1/sqrt(2)) puts tanh at 1/sqrt(2), so its local
# gradient 1 - tanh**2 is 0.5; x2 = 0 makes w2 a weight that gets no gradient.
NEURON = {"w1": -3.0, "x1": 2.0, "w2": 1.0, "x2": 0.0, "b": 6.8813735870195432}


@dataclass(frozen=True)
class Diagram:
    """One picture: its file stem in docs/img, the graph it draws, dot_source's
    options, and the CLI words that draw the same DOT (a test holds them equal)."""

    name: str
    build: Callable[[], nx.Graph]
    command: str
    style: dict = field(default_factory=dict)


@lru_cache(maxsize=1)
def traced_text(engine: str) -> nx.MultiDiGraph:
    """The default checkpoint's graph on TEXT; queries never mutate it, so share it."""
    return load_traced_text(None, TEXT, engine)[0]


def head(granularity: str) -> nx.MultiDiGraph:
    return load_head(None, TEXT, granularity, 3, 0, 2)


def blocks(depth: int) -> nx.DiGraph:
    return collapse(traced_text("fused"), depth)


DIAGRAMS = (
    Diagram("worked-forward", partial(trace_expression, "a*b+a", WORKED, backward=False),
            'expr "a*b+a" --set a=2 --set b=3 --no-backward', {"backward": False}),
    Diagram("worked", partial(trace_expression, "a*b+a", WORKED),
            'expr "a*b+a" --set a=2 --set b=3 --edge-labels', {"edge_labels": True}),
    Diagram("reuse", partial(trace_expression, "a*a", {"a": 2.0}),
            'expr "a*a" --set a=2 --edge-labels', {"edge_labels": True}),
    Diagram("neuron", partial(trace_expression, "tanh(w1*x1 + w2*x2 + b)", NEURON),
            'expr "tanh(w1*x1 + w2*x2 + b)" --set w1=-3 --set x1=2 --set w2=1 '
            '--set x2=0 --set b=6.8813735870195432 --edge-labels', {"edge_labels": True}),
    # top to bottom: half as wide as left to right, so a head stays legible at page width
    Diagram("head", partial(head, "atomic"),
            f"head --text {TEXT} --pos 3 --head 2 --rankdir TB", {"rankdir": "TB"}),
    Diagram("head-fused", partial(head, "fused"),
            f"head --text {TEXT} --pos 3 --head 2 --engine fused --rankdir TB",
            {"rankdir": "TB"}),
    Diagram("model", partial(blocks, 1), f"model --text {TEXT} --depth 1"),
    # docs/primer.md, docs/glossary.md, docs/questions.md (chapters-rest)
    Diagram("model-depth2", partial(blocks, 2), f"model --text {TEXT} --depth 2"),
    Diagram("residual", partial(trace_expression, "x + relu(w*x)", {"x": 2.0, "w": -1.0}),
            'expr "x + relu(w*x)" --set x=2 --set w=-1 --edge-labels', {"edge_labels": True}),
    Diagram("no-residual", partial(trace_expression, "relu(w*x)", {"x": 2.0, "w": -1.0}),
            'expr "relu(w*x)" --set x=2 --set w=-1 --edge-labels', {"edge_labels": True}),
    Diagram("glossary-mlp-scope", lambda: scope_view(traced_text("fused"), "pos3/layer0/mlp"),
            f"scope pos3/layer0/mlp --text {TEXT}"),
    Diagram("residual2-scope",
            lambda: scope_view(traced_text("fused"), "pos3/layer0/residual2"),
            f"scope pos3/layer0/residual2 --text {TEXT}"),
)


def diagram_dot(diagram: Diagram) -> str:
    """The DOT text of one diagram, exactly as its CLI command writes it."""
    return dot_source(diagram.build(), **diagram.style)


def build_docs(root, check: bool = False) -> list:
    """Regenerate every diagram in root/docs/img, or check the committed ones.

    Args:
        root: the repository root (the folder holding docs/).
        check: write nothing; report what is missing or out of date instead.

    Returns:
        Paths relative to root, such as "docs/img/worked.dot": with check, the files
        that are missing or stale (empty when all are current); otherwise every file
        written.

    Raises:
        RenderError: when regenerating, `dot` is missing or failed, or a file cannot
            be written (the diagrams before it stay written).
    """
    try:
        return check_diagrams(Path(root)) if check else write_diagrams(Path(root))
    finally:
        traced_text.cache_clear()  # the whole model graph, tens of MB


def paths(diagram: Diagram) -> tuple:
    return tuple(IMG_DIR / f"{diagram.name}.{ext}" for ext in ("dot", "svg"))


def check_diagrams(root: Path) -> list:
    stale = []
    for diagram in DIAGRAMS:
        dot_path, svg_path = paths(diagram)
        if not is_current(root / dot_path, diagram_dot(diagram)):
            stale.append(dot_path.as_posix())
        if not (root / svg_path).is_file():
            stale.append(svg_path.as_posix())
    return stale


def write_diagrams(root: Path) -> list:
    written = []
    for diagram in DIAGRAMS:
        graph = diagram.build()
        for path in reversed(paths(diagram)):  # the DOT last: it is what check compares
            write_diagram(graph, root / path, **diagram.style)
            written.append(path.as_posix())
    return written


def is_current(path: Path, text: str) -> bool:
    try:
        return path.read_text(encoding="utf-8") == text
    except (FileNotFoundError, UnicodeDecodeError):
        return False
