"""Every doctest in the installed package, found by import (not by file path), so each
runs under the one name users import: `microgpt_trace.tracer.graph`, never `tracer.graph`.
"""

import doctest
import importlib
import pkgutil

# The doctests that run Graphviz's `dot` (to render, or to lay out an animation).
# tests/test_markers.py checks that they are exactly the doctests that fail without it.
DOCTESTS_NEEDING_DOT = frozenset({
    "microgpt_trace.api.explore",
    "microgpt_trace.renderers.animation.geometry.read_geometry",
    "microgpt_trace.renderers.animation.gif.gif_bytes",
    "microgpt_trace.renderers.animation.storyboard.animate",
    "microgpt_trace.renderers.animation.stepper.notebook_html",
    "microgpt_trace.renderers.animation.stepper.stepper_html",
    "microgpt_trace.renderers.animation.svg.frame_svgs",
    "microgpt_trace.renderers.animation.svg.write_svg_frames",
    "microgpt_trace.renderers.animation.write.write_animation",
    "microgpt_trace.renderers.diagrams.render.render",
    "microgpt_trace.renderers.diagrams.render.render_formats",
    "microgpt_trace.renderers.explorer.page.explorer_html",
})


# The package and the subpackages mapped into it from other folders (an editable
# install does not list those under microgpt_trace's own folder).
PACKAGES = ("microgpt_trace", "microgpt_trace.microgpt", "microgpt_trace.tracer",
            "microgpt_trace.renderers")


def module_names():
    """Every module once, in a fixed order; not __main__, whose import runs the CLI."""
    names = {}
    for package in PACKAGES:
        names[package] = None
        for module in pkgutil.walk_packages(importlib.import_module(package).__path__,
                                            package + "."):
            names[module.name] = None
    return [name for name in names if not name.endswith(".__main__")]


def package_doctests():
    """(name, DocTest) for every doctest with examples, in module order."""
    finder = doctest.DocTestFinder()
    for name in module_names():
        for test in finder.find(importlib.import_module(name)):
            if test.examples:
                yield test.name, test
