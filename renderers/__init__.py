"""networkx graphs and frame data -> DOT, SVG, PNG, PDF, GIF, HTML, text and charts."""

from .animate import frame_svgs, write_animation, write_svg_frames
from .dot import dot_source, to_dot
from .gif import gif_bytes
from .render import DEFAULT_MAX_NODES, write_diagram
from .stepper_html import stepper_html
from .themes import THEMES

__all__ = ["dot_source", "to_dot", "write_diagram", "DEFAULT_MAX_NODES", "THEMES",
           "frame_svgs", "write_svg_frames", "write_animation", "gif_bytes",
           "stepper_html"]
