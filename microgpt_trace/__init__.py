"""microgpt-trace: make backpropagation visible.

The one import name of the package. Its parts are subpackages, each from a folder of
the source checkout:

    microgpt_trace.microgpt    the scalar GPT, stdlib only (microgpt/)
    microgpt_trace.tracer      Value graphs as networkx graphs (tracer/)
    microgpt_trace.renderers   graphs and frames as pictures (renderers/)
    microgpt_trace.data        the shipped datasets and checkpoint (data/)

and here the library face (api: trace, draw, animate, step, explore, for our Values and any
Value-like object such as micrograd's) and the click command line (cli, commands/), a
thin layer over them. The face is imported on first use, so `import microgpt_trace`
stays light:

    import microgpt_trace as mt
    mt.draw(v)  # v: a Value of ours, micrograd's, microgpt.py's...
"""

from microgpt_trace.microgpt import __version__

__all__ = ["__version__", "trace", "draw", "animate", "step", "explore"]

FACE = ("trace", "draw", "animate", "step", "explore")


def __getattr__(name):  # PEP 562: microgpt_trace.api loads on first use
    if name in FACE:
        from microgpt_trace import api

        return getattr(api, name)
    raise AttributeError(f"module 'microgpt_trace' has no attribute {name!r}")
