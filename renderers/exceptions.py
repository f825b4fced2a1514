"""Errors a user can cause in rendering; the CLI prints each as one line."""

__all__ = ["RenderError", "GraphTooLargeError", "DotNotFoundError", "FormatError",
           "TooManyFramesError"]


class RenderError(Exception):
    """Base class for rendering errors caused by user input or the environment."""


class GraphTooLargeError(RenderError, ValueError):
    """More nodes than the layout cap; the message says how to shrink the graph."""


class DotNotFoundError(RenderError, OSError):
    """The Graphviz `dot` binary is not on PATH; the message gives the install hint."""


class FormatError(RenderError, ValueError):
    """An output format or file extension that is not supported."""


class TooManyFramesError(RenderError, ValueError):
    """More frames than an animated format allows; the message says how to get fewer."""
