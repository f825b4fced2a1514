"""networkx graphs and frame data -> DOT, SVG, PNG, PDF, GIF, HTML, text and charts."""

from .dot import dot_source, to_dot
from .render import DEFAULT_MAX_NODES, write_diagram
from .themes import THEMES

__all__ = ["dot_source", "to_dot", "write_diagram", "DEFAULT_MAX_NODES", "THEMES"]
