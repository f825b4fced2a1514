"""`expr`, `head`, `model`, `export`: wiring, output files, one-line errors."""

import networkx as nx
import pytest

from microgpt_trace.tracer.export import read_graph

from .runner import assert_one_line_error, invoke


def test_expr_prints_the_worked_example_table():
    result = invoke("expr", "a*b+a")
    assert result.exit_code == 0, result.output
    rows = [line.split() for line in result.stdout.splitlines()]
    assert rows[0] == ["node", "label", "op", "data", "grad"]
    assert rows[1:] == [["0", "a", "2", "4"], ["1", "b", "3", "2"], ["2", "a*b", "*", "6", "1"],
                        ["3", "a*b", "+", "a", "+", "8", "1"]]


def test_expr_set_and_no_backward():
    result = invoke("expr", "a*b", "--set", "a=-1", "--set", "b=0.5", "--no-backward")
    assert result.exit_code == 0, result.output
    assert result.stdout.splitlines()[0].split() == ["node", "label", "op", "data"]
    assert result.stdout.splitlines()[-1].split() == ["2", "a*b", "*", "-0.5"]


@pytest.mark.parametrize("name", ["g.dot", "g.json", "g.graphml", "g.gexf"])
def test_expr_writes_text_outputs_without_dot(tmp_path, name):
    result = invoke("expr", "a*a", "-o", tmp_path / name)
    assert result.exit_code == 0, result.output
    if name.endswith(".dot"):
        text = (tmp_path / name).read_text()
        assert text.startswith("digraph {") and text.count("->") >= 2
    else:
        graph = read_graph(tmp_path / name)
        assert sorted(graph.edges(keys=True)) == [(0, 1, 0), (0, 1, 1)]


@pytest.mark.exe
@pytest.mark.parametrize("suffix, magic", [(".svg", b"<?xml"), (".png", b"\x89PNG"),
                                           (".pdf", b"%PDF")])
def test_expr_renders_with_dot(tmp_path, suffix, magic):
    out = tmp_path / f"graph{suffix}"
    result = invoke("expr", "tanh(a*b + c)", "-o", out, "--edge-labels", "--theme", "colorblind")
    assert result.exit_code == 0, result.output
    assert out.read_bytes().startswith(magic)


def test_expr_to_stdout_writes_dot_text_and_skips_the_table():
    result = invoke("expr", "a+b", "-o", "-", "--format", "dot")
    assert result.exit_code == 0, result.output
    assert result.stdout.startswith("digraph {")
    alone = invoke("expr", "a+b", "-o", "-")
    assert alone.exit_code == 0 and alone.stdout == result.stdout


@pytest.mark.parametrize("args, fragment", [
    (["a*(b"], "never closed"),
    (["__import__('os')"], "unknown function"),
    (["log(a-a)"], "log of 0"),
    (["a/0"], "0"),
    (["exp(1000)"], "exp"),
    (["a+b", "--set", "a"], "a"),
    (["a+b", "--set", "c=1"], "c"),
    (["a+b", "-o", "x.txt"], "unsupported"),
])
def test_expr_bad_input(tmp_path, monkeypatch, args, fragment):
    """Refused in one line, and nothing written to the working folder (where x.txt goes)."""
    monkeypatch.chdir(tmp_path)
    result = invoke("expr", *args)
    assert_one_line_error(result, fragment)
    assert list(tmp_path.iterdir()) == []


def test_expr_over_the_cap_leaves_no_file(tmp_path):
    out = tmp_path / "big.svg"
    result = invoke("expr", "+".join(f"x{i}" for i in range(30)), "-o", out, "--max-nodes", "10")
    assert_one_line_error(result, "over the cap of 10", "--max-nodes")
    assert not out.exists()


def test_head_prints_weights_and_writes_dot(tiny_checkpoint, tmp_path):
    out = tmp_path / "head.dot"
    result = invoke("head", "--checkpoint", tiny_checkpoint, "--text", "anna", "--pos", "3",
                    "--head", "1", "-o", out)
    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    assert lines[0] == "layer 0, head 1, query position 3 ('n')"
    weights = [float(line.split()[-1]) for line in lines[2:]]
    assert len(weights) == 4 and sum(weights) == pytest.approx(1.0, abs=1e-3)
    assert "L0.h1.score" in out.read_text()


@pytest.mark.parametrize("args, fragment", [
    (["--text", "anna", "--head", "7"], "head"),
    (["--text", "anna", "--layer", "3"], "layer"),
    (["--text", "anna", "--pos", "9"], "pos"),
    (["--text", "an<x"], "vocabulary"),
    (["--text", "a" * 20], "block_size"),
])
def test_head_bad_input(tiny_checkpoint, args, fragment):
    assert_one_line_error(invoke("head", "--checkpoint", tiny_checkpoint, *args), fragment)


def test_model_blocks_at_each_depth(tiny_checkpoint, tmp_path):
    counts = []
    for depth in ("1", "2", "3"):
        out = tmp_path / f"m{depth}.json"
        result = invoke("model", "--checkpoint", tiny_checkpoint, "--text", "ab",
                        "--depth", depth, "-o", out)
        assert result.exit_code == 0, result.output
        assert result.stdout.startswith(f"{len(read_graph(out))} blocks at depth {depth}")
        counts.append(len(read_graph(out)))
    assert counts == sorted(counts) and counts[0] < counts[2]


@pytest.mark.parametrize("cap, first_line", [
    ("55", "55 blocks at depth 3"),  # 25, 34 and 55 blocks at depths 1, 2 and 3
    ("54", "34 blocks at depth 2"),
    ("34", "34 blocks at depth 2"),
    ("33", "25 blocks at depth 1"),
    ("10", "25 blocks at depth 1"),  # even depth 1 is over: the shallowest view
])
def test_model_auto_depth_respects_the_cap(tiny_checkpoint, cap, first_line):
    """Auto depth is the deepest view with at most --max-nodes blocks."""
    result = invoke("model", "--checkpoint", tiny_checkpoint, "--text", "ab", "--max-nodes", cap)
    assert result.exit_code == 0, result.output
    assert result.stdout.splitlines()[0] == first_line


@pytest.mark.exe
@pytest.mark.parametrize("text", ["christopher", "alexander"])
def test_model_auto_depth_is_the_deepest_that_lays_out(text, tmp_path):
    from microgpt_trace.renderers.diagrams.render import DEFAULT_MAX_NODES, layout_size
    from microgpt_trace.tracer.checkpoint_trace import trace_checkpoint_text
    from microgpt_trace.tracer.queries import collapse

    result = invoke("model", "--text", text, "-o", tmp_path / "m.svg")
    assert result.exit_code == 0, result.output
    depth = int(result.stdout.split()[4])
    assert depth > 1 and (tmp_path / "m.svg").exists()
    if depth < 3:  # the next depth would have been refused
        graph = trace_checkpoint_text(text=text, engine="fused")
        assert layout_size(collapse(graph, depth + 1)) > DEFAULT_MAX_NODES


@pytest.mark.exe
def test_backward_model_auto_depth_lays_out(tmp_path):
    result = invoke("backward", "--text", "christopher", "--model", "-o", tmp_path / "b.html")
    assert result.exit_code == 0, result.output


@pytest.mark.parametrize("args", [["expr", "a*b", "-o", "{box}/x.dot"],
                                  ["export", "a*b", "-o", "{box}/g.json"],
                                  ["backward", "a*b", "-o", "{box}/b.html"],
                                  ["backward", "a*b", "-o", "{box}/frames/"],
                                  ["train", "--steps", "1", "-o", "{box}/ck.json"]])
def test_a_missing_folder_is_named_the_same_everywhere(tmp_path, args):
    box = tmp_path / "out"
    result = invoke(*[a.replace("{box}", str(box)) for a in args])
    assert result.exit_code == 1
    assert result.stderr.strip().endswith(f"the folder {str(box)!r} does not exist")
    assert not box.exists()


def test_export_text_round_trips(tiny_checkpoint, tmp_path):
    out = tmp_path / "anna.graphml"
    result = invoke("export", "--text", "ab", "--checkpoint", tiny_checkpoint, "-o", out)
    assert result.exit_code == 0, result.output
    graph = read_graph(out)
    loaded = nx.read_graphml(out, force_multigraph=True)
    assert len(graph) == len(loaded) > 100
    assert graph.graph["view"] == "model"
    assert "loss" in {d["label"] for _, d in graph.nodes(data=True)}


def test_export_needs_exactly_one_source(tmp_path):
    assert_one_line_error(invoke("export", "-o", tmp_path / "g.json"), "EXPRESSION or --text")
    assert_one_line_error(invoke("export", "a", "--text", "ab", "-o", tmp_path / "g.json"),
                          "EXPRESSION or --text")
    assert not (tmp_path / "g.json").exists()


@pytest.mark.parametrize("command", [["expr", "a*b+a"], ["head", "--text", "ab"],
                                     ["model", "--text", "ab"]])
def test_one_grammar_of_flags(command, tiny_checkpoint, tmp_path):
    """Gradients by default and --no-backward everywhere; a refused run prints nothing."""
    model = [] if command[0] == "expr" else ["--checkpoint", tiny_checkpoint]
    shown = invoke(*command, *model, "-o", tmp_path / "g.dot")
    hidden = invoke(*command, *model, "--no-backward", "-o", tmp_path / "f.dot")
    assert shown.exit_code == hidden.exit_code == 0, shown.output + hidden.output
    assert "grad" in (tmp_path / "g.dot").read_text()
    assert (tmp_path / "g.dot").read_text() != (tmp_path / "f.dot").read_text()
    refused = invoke(*command, *model, "--max-nodes", "1", "-o", tmp_path / "x.svg")
    assert refused.exit_code == 1 and refused.stdout == ""
    assert refused.stderr.startswith("Error: graph of")
    if command[0] != "expr":
        assert invoke(*command, *model, "--engine", "fused", "-o", "-", "--format",
                      "dot").exit_code == 0


def test_stdout_takes_json_with_format():
    result = invoke("expr", "a*b", "-o", "-", "--format", "json")
    assert result.exit_code == 0, result.output
    assert result.stdout.lstrip().startswith("{")
