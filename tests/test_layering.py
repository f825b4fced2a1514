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
# Each folder of the checkout and its import name in the one package users install.
FOLDERS = {"data": "microgpt_trace.data", "microgpt": "microgpt_trace.microgpt",
           "tracer": "microgpt_trace.tracer", "renderers": "microgpt_trace.renderers",
           "microgpt_trace": "microgpt_trace"}
# data <- microgpt <- tracer <- renderers <- the face: a layer may import only lower ones
LAYERS = tuple(FOLDERS.values())
SHARED = tuple(f"microgpt_trace.renderers.{m}"
               for m in ("quoting", "themes", "exceptions", "assets"))
ROOMS = tuple(f"microgpt_trace.renderers.{m}"
              for m in ("diagrams", "animation", "explorer", "panels", "terminal"))


def module_name(path):
    folder, *parts = path.relative_to(ROOT).with_suffix("").parts
    parts = parts[:-1] if parts[-1:] == ["__init__"] else parts
    return ".".join([FOLDERS[folder], *parts])


def imported_modules(path):
    """Absolute names of every module `path` imports (relative ones resolved)."""
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
    return found


def project_files():
    return [p for folder in FOLDERS for p in (ROOT / folder).rglob("*.py")]


def import_graph():
    modules = {module_name(p): p for p in project_files()}
    G = nx.DiGraph()
    G.add_nodes_from(modules)
    for name, path in modules.items():
        # `from pkg import mod` names a module; `from mod import func` names its module
        G.add_edges_from((name, m) for m in imported_modules(path) if m in modules and m != name)
    return G


def layer(module):
    return max(i for i, prefix in enumerate(LAYERS)
               if module == prefix or module.startswith(prefix + "."))


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
    bad = [(a, b) for a, b in G.edges if a.startswith("microgpt_trace.renderers")
           and b.startswith(("microgpt_trace.microgpt.model", "microgpt_trace.microgpt.engine"))]
    assert bad == []


def test_nothing_imports_a_folder_by_its_checkout_name():
    """`import tracer` would work inside the checkout only (and clash with PyPI's tracer)."""
    bad = sorted((module_name(p), m) for p in project_files() for m in imported_modules(p)
                 if m.split(".")[0] in ("microgpt", "tracer", "renderers", "data"))
    assert bad == []


def test_the_layering_test_sees_relative_imports():
    G = import_graph()
    r = "microgpt_trace.renderers"
    assert G.has_edge(f"{r}.animation.write", f"{r}.animation.gif")
    assert G.has_edge(f"{r}.diagrams.source", f"{r}.exceptions")
    assert G.has_edge("microgpt_trace.tracer.expression.evaluate", "microgpt_trace.tracer.graph")
    assert G.has_edge("microgpt_trace.commands.backward", f"{r}.animation.write")


def test_dot_is_run_in_one_place():
    runs = sorted(str(p.relative_to(ROOT)) for p in project_files()
                  if '"dot"' in p.read_text(encoding="utf-8")
                  and "subprocess" in p.read_text(encoding="utf-8"))
    assert runs == ["renderers/diagrams/render.py"]


MODEL = "microgpt_trace.microgpt.model"


@pytest.mark.parametrize("leaf, heavy", [
    ("microgpt_trace.renderers.quoting", ("matplotlib", "PIL", "numpy", "networkx", MODEL)),
    ("microgpt_trace.renderers.themes", ("matplotlib", "PIL", "numpy", MODEL)),
    ("microgpt_trace.microgpt.engine", (MODEL, "networkx")),
    ("microgpt_trace.tracer.expression.parse", ("networkx", MODEL, "matplotlib")),
    ("microgpt_trace.renderers.diagrams.source", ("matplotlib", "PIL", "numpy", MODEL)),
    ("microgpt_trace.cli", ("matplotlib", "PIL", "numpy", "networkx", MODEL)),
])
def test_a_leaf_import_costs_a_leaf(leaf, heavy):
    code = f"import sys, {leaf}; print(' '.join(sorted(sys.modules)))"
    loaded = set(subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True,
                                text=True, check=True).stdout.split())
    assert [m for m in heavy if m in loaded] == []
