"""The microgpt-trace command line: thin click commands over the library packages."""

from microgpt_trace.microgpt import __version__

__all__ = ["__version__"]
