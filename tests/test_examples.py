"""examples/micrograd_neuron.ipynb runs from top to bottom and shows what it promises."""

import time
from pathlib import Path

import pytest

EXAMPLE = Path(__file__).resolve().parents[1] / "examples" / "micrograd_neuron.ipynb"


@pytest.mark.exe
@pytest.mark.slow  # a kernel starts: about 6 s
def test_micrograd_neuron_notebook():
    nbformat = pytest.importorskip("nbformat")
    nbclient = pytest.importorskip("nbclient")
    pytest.importorskip("micrograd")
    nb = nbformat.read(EXAMPLE, as_version=4)
    start = time.perf_counter()
    nbclient.NotebookClient(nb, timeout=60, kernel_name="python3").execute()
    assert time.perf_counter() - start < 30
    values, drawn, stepper, stepped, traced = [cell.outputs for cell in nb.cells[1:]]
    # x1, x2, w1, w2, b: the neuron is open; b's grad is micrograd's int 1 passed on
    assert values[0]["data"]["text/plain"] == "[-3.0, 1.0, 2.0, 0.0, 1]"
    svg = drawn[0]["data"]["image/svg+xml"]
    for label in ("x1", "x2", "w1", "w2", "b", "n", "o"):
        assert f">{label}<" in svg
    assert "grads not computed" not in svg and ">&#45;3<" in svg
    html = stepper[0]["data"]["text/html"]
    assert html.startswith('<iframe sandbox="allow-scripts"') and "srcdoc=" in html
    text = "".join(out["text"] for out in stepped if out["output_type"] == "stream")
    last = text.split("\n\nframe ")[-1]
    assert last.startswith("6 / 6") and "\x1b" not in text
    assert "x1" in last and "0 → -3" in last and "0 → 2" in last
    assert "'relu', 1.0" in traced[0]["data"]["text/plain"]
