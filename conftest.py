"""Markers for doctests, which cannot carry `@pytest.mark` (the markers themselves are
described in tests/conftest.py).

This file sits at the root so that it applies to every doctest however pytest is
invoked (`pytest renderers -m "not exe"` too).
"""

import pytest

# The doctests that run Graphviz's `dot` (to render, or to lay out an animation).
# tests/test_markers.py checks that they are exactly the doctests that fail without it.
DOCTESTS_NEEDING_DOT = frozenset({
    "renderers.animation.geometry.read_geometry",
    "renderers.animation.gif.gif_bytes",
    "renderers.animation.model.animate",
    "renderers.animation.stepper.notebook_html",
    "renderers.animation.stepper.stepper_html",
    "renderers.animation.svg.frame_svgs",
    "renderers.animation.svg.write_svg_frames",
    "renderers.animation.write.write_animation",
    "renderers.diagrams.render.render",
    "renderers.diagrams.render.render_formats",
})


@pytest.hookimpl(tryfirst=True)  # mark before `-m` deselects by marker
def pytest_collection_modifyitems(items):
    for item in items:
        if item.name in DOCTESTS_NEEDING_DOT:
            item.add_marker(pytest.mark.exe)
