"""The package layout holds: imports point one way, no cycles, leaves import little.

Read from the source with ast, so a new module is checked the moment it exists:
every import, at the top or inside a function, counts.
"""

import ast
import subprocess
import sys
from pathlib import Path

import networkx as nx
import pytest

ROOT = Path(__file__).resolve().parent.parent
# microgpt <- tracer <- renderers <- microgpt_trace: a package may import only lower ones
LAYERS = ("microgpt", "tracer", "renderers", "microgpt_trace")
SHARED = ("renderers.quoting", "renderers.themes", "renderers.exceptions")
ROOMS = ("renderers.diagrams", "renderers.animation", "renderers.panels", "renderers.terminal")


def module_name(path):
    parts = path.relative_to(ROOT).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def imported_modules(path):
    """Absolute names of every project module `path` imports (relative ones resolved)."""
    name = module_name(path)
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    found = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")[:len(package.split(".")) - node.level + 1]
                base = ".".join(anchor + ([base] if base else []))
            found.add(base)
            found.update(f"{base}.{alias.name}" for alias in node.names)
    return {m for m in found if m.split(".")[0] in LAYERS}


def import_graph():
    modules = {module_name(p): p for layer in LAYERS for p in (ROOT / layer).rglob("*.py")}
    G = nx.DiGraph()
    G.add_nodes_from(modules)
    for name, path in modules.items():
        # `from pkg import mod` names a module; `from mod import func` names its module
        G.add_edges_from((name, m) for m in imported_modules(path) if m in modules and m != name)
    return G


def layer(module):
    return LAYERS.index(module.split(".")[0])


def test_no_import_cycle():
    cycles = list(nx.simple_cycles(import_graph()))
    assert cycles == [], f"import cycles: {cycles}"


def test_imports_point_one_way():
    upward = [(a, b) for a, b in import_graph().edges if layer(b) > layer(a)]
    assert upward == [], f"upward imports: {upward}"


def test_shared_renderer_modules_import_no_room():
    G = import_graph()
    bad = [(a, b) for a in SHARED for b in G.successors(a) if b.startswith(ROOMS)]
    assert bad == []


def test_renderers_never_need_the_model():
    G = import_graph()
    bad = [(a, b) for a, b in G.edges
           if a.startswith("renderers") and b.startswith(("microgpt.model", "microgpt.engine"))]
    assert bad == []


def test_the_layering_test_sees_relative_imports():
    G = import_graph()
    assert G.has_edge("renderers.animation.write", "renderers.animation.gif")
    assert G.has_edge("renderers.diagrams.source", "renderers.exceptions")
    assert G.has_edge("tracer.expression.evaluate", "tracer.graph")
    assert G.has_edge("microgpt_trace.commands.backward", "renderers.animation.write")


def test_dot_is_run_in_one_place():
    runs = sorted(str(p.relative_to(ROOT)) for layer_ in LAYERS
                  for p in (ROOT / layer_).rglob("*.py")
                  if '"dot"' in p.read_text(encoding="utf-8")
                  and "subprocess" in p.read_text(encoding="utf-8"))
    assert runs == ["renderers/diagrams/render.py"]


@pytest.mark.parametrize("leaf, heavy", [
    ("renderers.quoting", ("matplotlib", "PIL", "numpy", "networkx", "microgpt.model")),
    ("renderers.themes", ("matplotlib", "PIL", "numpy", "microgpt.model")),
    ("microgpt.engine", ("microgpt.model", "networkx")),
    ("tracer.expression.parse", ("networkx", "microgpt.model", "matplotlib")),
    ("renderers.diagrams.source", ("matplotlib", "PIL", "numpy", "microgpt.model")),
    ("microgpt_trace.cli", ("matplotlib", "PIL", "numpy", "networkx", "microgpt.model")),
])
def test_a_leaf_import_costs_a_leaf(leaf, heavy):
    code = f"import sys, {leaf}; print(' '.join(sorted(sys.modules)))"
    loaded = set(subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True,
                                text=True, check=True).stdout.split())
    assert [m for m in heavy if m in loaded] == []
