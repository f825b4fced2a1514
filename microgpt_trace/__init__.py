"""microgpt-trace: make backpropagation visible.

The one import name of the package. Its parts are subpackages, each from a folder of
the source checkout:

    microgpt_trace.microgpt    the scalar GPT, stdlib only (microgpt/)
    microgpt_trace.tracer      Value graphs as networkx graphs (tracer/)
    microgpt_trace.renderers   graphs and frames as pictures (renderers/)
    microgpt_trace.data        the shipped datasets and checkpoint (data/)

and here the click command line (cli, commands/), a thin layer over them.
"""

from microgpt_trace.microgpt import __version__

__all__ = ["__version__"]
