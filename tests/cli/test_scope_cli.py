"""`scope`: the scopes of the issue on the default checkpoint, --list, the summary,
the refusals. The numbers are tested in tests/tracer/test_scope_view.py."""

import pytest

from .runner import assert_one_line_error, invoke

EXAMPLES = ["pos3/layer0/mlp", "pos3/layer0/attn/rmsnorm", "pos3/layer0/residual1",
            "pos0/embed", "pos3/lm_head", "pos3/softmax", "pos3/loss", "loss"]


def test_list_prints_every_scope_in_order():
    result = invoke("scope", "--list", "--text", "anna")
    assert result.exit_code == 0, result.output
    names = result.stdout.splitlines()
    assert names[:2] == ["pos0", "pos0/embed"] and names[-1] == "loss"
    assert all(name in names for name in EXAMPLES)
    assert names.index("pos3/loss") < names.index("pos4") < names.index("pos4/embed")


@pytest.mark.parametrize("scope", EXAMPLES)
def test_the_examples_draw_on_the_default_checkpoint(scope, tmp_path):
    result = invoke("scope", scope, "--text", "anna", "-o", tmp_path / "s.dot")
    assert result.exit_code == 0, result.output
    assert result.stdout.startswith(f"scope {scope} · ")
    assert (tmp_path / "s.dot").read_text().startswith("digraph {")


def test_the_dead_mlp_of_anna():
    """At position 3 of 'anna' every ReLU of the default checkpoint is off."""
    result = invoke("scope", "pos3/layer0/mlp", "--text", "anna")
    assert result.exit_code == 0, result.output
    assert "relu: 0/64 active." in result.stdout
    assert "weights: layer0.mlp_fc1 (64×16), layer0.mlp_fc2 (16×64)" in result.stdout


def test_softmax_summary_gives_p_minus_one_over_n():
    result = invoke("scope", "pos3/softmax", "--text", "anna")
    assert "mean over n = 5 positions" in result.stdout and "(p − 1)/n" in result.stdout


@pytest.mark.exe
def test_svg_with_the_shared_options(tiny_checkpoint, tmp_path):
    result = invoke("scope", "pos2/layer0/mlp", "--text", "anna", "--checkpoint",
                    tiny_checkpoint, "-o", tmp_path / "m.svg", "--rankdir", "TB",
                    "--theme", "colorblind", "--edge-labels", "--no-backward")
    assert result.exit_code == 0, result.output
    assert (tmp_path / "m.svg").read_bytes().startswith(b"<?xml")


def test_json_graph_round_trips(tiny_checkpoint, tmp_path):
    from microgpt_trace.tracer.export import read_graph

    result = invoke("scope", "pos1/layer0/residual2", "--text", "anna", "--checkpoint",
                    tiny_checkpoint, "-o", tmp_path / "s.json")
    assert result.exit_code == 0, result.output
    graph = read_graph(tmp_path / "s.json")
    assert graph.graph["view"] == "scope" and len(graph.graph["roots"]) == 8


@pytest.mark.parametrize("args, fragments", [
    (["pos3/layer0/mlpp"], ["no ops in scope 'pos3/layer0/mlpp'", "mlp, residual1"]),
    (["params"], ["holds the weights"]),
    ([], ["give a SCOPE", "--list"]),
    (["pos3/layer0/mlp", "--max-nodes", "20", "-o", "{tmp}/m.svg"],
     ["over the cap of 20", "--list shows them"]),
    (["pos3/layer0/mlp", "--engine", "atomic", "-o", "{tmp}/m.svg"],
     ["--engine fused"]),
])
def test_refusals_are_one_line(tiny_checkpoint, tmp_path, monkeypatch, args, fragments):
    """One line, nothing on stdout, no file in the working folder nor at -o."""
    monkeypatch.chdir(tmp_path)
    args = [a.replace("{tmp}", str(tmp_path)) for a in args]
    result = invoke("scope", *args, "--text", "anna", "--checkpoint", tiny_checkpoint,
                    *(["--max-nodes", "300"] if "atomic" in args else []))
    assert_one_line_error(result, *fragments)
    assert result.stdout == "" and list(tmp_path.iterdir()) == []


@pytest.mark.exe
@pytest.mark.parametrize("output", ["b.html", "b.gif", "frames/"])
def test_backward_through_a_scope(tiny_checkpoint, tmp_path, output):
    result = invoke("backward", "--text", "anna", "--checkpoint", tiny_checkpoint,
                    "--scope", "pos2/layer0/residual1", "-o", f"{tmp_path}/{output}")
    assert result.exit_code == 0, result.output
    assert result.stderr.startswith(f"wrote {tmp_path}/{output} (9 ")
    if output == "b.html":
        page = (tmp_path / output).read_text()
        assert "starts from the grads its outputs receive from the loss of the whole text" \
            in page


@pytest.mark.parametrize("args, fragments", [
    (["--scope", "pos3/layer0/mlp"], ["--scope needs --text"]),
    (["--scope", "loss", "--text", "anna", "--model"], ["--scope draws one scope"]),
    (["--scope", "loss", "--text", "anna", "--pos", "2"], ["--scope draws one scope"]),
    (["--scope", "pos3/layer0/mlpp", "--text", "anna"], ["no ops in scope", "mlp"]),
])
def test_backward_scope_refusals(tiny_checkpoint, tmp_path, args, fragments):
    result = invoke("backward", *args, "--checkpoint", tiny_checkpoint,
                    "-o", tmp_path / "b.html")
    assert_one_line_error(result, *fragments)
    assert list(tmp_path.iterdir()) == []
