"""dot_source: golden files, structure, escaping, determinism. No `dot` needed."""

import os
import re
import subprocess
import sys
from pathlib import Path

import networkx as nx
import pytest

from microgpt_trace.renderers.diagrams.source import dot_source, to_dot
from microgpt_trace.renderers.exceptions import RenderError
from microgpt_trace.renderers.themes import get_theme
from microgpt_trace.tracer.text import number

from . import diagram_graphs as graphs

GOLDEN = Path(__file__).parent / "golden"

CASES = {
    "expr_default": (graphs.a_times_b_plus_a, {}),
    "expr_square_edge_labels": (graphs.a_times_a, {"edge_labels": True}),
    "expr_forward_tb": (graphs.a_times_b_plus_a, {"backward": False, "rankdir": "TB"}),
    "expr_ten_ops_colorblind": (graphs.ten_ops, {"theme": "colorblind"}),
    "head_tiny": (graphs.tiny_head, {}),
    "blocks_tiny": (graphs.tiny_blocks, {}),
    "model_tiny": (graphs.tiny_model, {}),
}


@pytest.mark.parametrize("name", CASES)
def test_golden(name):
    """UPDATE_GOLDEN=1 rewrites the files; look at them rendered before committing."""
    build, style = CASES[name]
    text = dot_source(build(), **style)
    path = GOLDEN / f"{name}.dot"
    if os.environ.get("UPDATE_GOLDEN") == "1":
        path.parent.mkdir(exist_ok=True)
        path.write_text(text, encoding="utf-8")
    assert text == path.read_text(encoding="utf-8")


def edges(text):
    return re.findall(r"^\t+(\S+) -> (\S+)", text, flags=re.M)


def test_square_has_one_edge_per_argument():
    text = dot_source(graphs.a_times_a(), edge_labels=True)
    assert edges(text) == [("opn1", "n1"), ("n0", "opn1"), ("n0", "opn1")]
    both = 'label=<local ∂ = 3<br align="left"/>grad back = 3<br align="left"/>>'
    assert text.count(both) == 2  # one label per edge, each on its own edge
    assert "edge labels: local ∂ = ∂ op / ∂ this operand" in text
    assert "grad back = local ∂ × grad of the op" in text  # the key's next line


def test_expression_boxes_ops_and_root():
    text = dot_source(graphs.a_times_b_plus_a())
    assert re.findall(r'^\t(\w+) \[id="\1", class="\w+", shape="(\w+)"', text, flags=re.M) == [
        ("n0", "plain"), ("n1", "plain"), ("n2", "plain"), ("opn2", "circle"),
        ("n3", "plain"), ("opn3", "circle")]
    assert 'label="×"' in text and 'label="+"' in text
    assert text.count('border="2"') == 1  # the root, where backward starts
    assert "<b>a*b + a</b>" in text and ">grad<" in text


def test_gradient_colours_follow_sign_and_size():
    # a*b+a at a=2, b=3: grads a=4, b=2, a*b=1, root=1 -> a is the deepest red
    text = dot_source(graphs.a_times_b_plus_a())
    fills = re.findall(r'>grad</font></td><td align="right" bgcolor="(#\w+)"', text)
    assert fills == ["#be3b4b", "#d88c95", "#e6b4ba", "#e6b4ba"]
    widths = re.findall(r'penwidth="([\d.]+)"', text)
    assert widths == ["4.00", "2.00", "3.00", "2.00"]  # contributions 3, 1, 2, 1


def test_forward_only_has_no_gradients():
    text = dot_source(graphs.a_times_b_plus_a(), backward=False, edge_labels=True)
    assert ">grad<" not in text and "grad &lt;" not in text
    assert "penwidth" not in text and "grad back" not in text
    # local gradients are part of the forward pass
    assert 'label=<local ∂ = 3<br align="left"/>>' in text
    assert 'rankdir="LR"' in text


def test_power_shows_its_exponent_and_constants_their_number():
    text = dot_source(graphs.ten_ops())
    assert 'label="**-1"' in text and 'label="tanh"' in text and 'label="exp"' in text
    assert "<b>-1</b>" in text and "<b>2</b>" in text  # the constants of -a and b + 2


def test_themes_change_the_colours():
    default = dot_source(graphs.a_times_b_plus_a())
    colorblind = dot_source(graphs.a_times_b_plus_a(), theme="colorblind")
    assert '"#d4ecd0"' in default and '"#d4ecd0"' not in colorblind  # input fill
    assert '"#b3e2d5"' in colorblind  # Okabe-Ito bluish green tint
    assert '"#eaad26"' in colorblind  # the largest positive grad, in orange


@pytest.mark.parametrize("label, html, quoted", [
    ('<script>alert("x")</script>', "&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;",
     '<script>alert(\\"x\\")</script>'),
    ("a&b", "a&amp;b", "a&b"),
    ("it's", "it&#39;s", "it's"),
    ('a"b\\N', "a&quot;b\\N", 'a\\"b\\\\N'),
])
def test_labels_are_escaped(label, html, quoted):
    """HTML-like labels get entities; quoted strings (cluster ids and labels) escapes."""
    G = nx.MultiDiGraph(source=label, view="model")
    G.add_node(0, op="", data=1.0, grad=0.0, label=label, scope=label, kind="input")
    text = dot_source(G)
    assert f"<b>{html}</b></font>" in text  # the title
    assert f"<b>{html}</b></td>" in text  # the value box
    assert f'subgraph "cluster_{quoted}" {{\n\t\tgraph [label="{quoted}"' in text
    assert label == quoted or label not in text  # never pasted raw


def test_head_view_tables_clusters_and_title():
    text = dot_source(graphs.tiny_head())
    for title in ("q · pos 1 &#39;a&#39;", "k · t=0 BOS", "v · t=1 &#39;a&#39;"):
        assert f"<b>{title}</b>" in text
    # a cluster's step is the heading of its result's table: no cluster title to cross
    for title in ("scores  q·k / √d", "softmax weights", "weighted sum of v"):
        assert f"<b>{title}</b>" in text
    assert not re.search(r'subgraph "cluster_(?!strip)[^"]*" \{\n\t\tgraph \[label="[^"]', text)
    assert "layer 0 · head 1 · query position 1 &#39;a&#39;" in text
    rows = re.findall(r'port="inn\d+" bgcolor="#\w+" id="l_n\d+">(L0\.h1\.\w+\[t=\d\])', text)
    assert rows == ["L0.h1.score[t=0]", "L0.h1.score[t=1]", "L0.h1.w[t=0]", "L0.h1.w[t=1]"]


def test_head_attention_strip_shows_the_softmax_weights_in_order():
    G = graphs.tiny_head()
    text = dot_source(G)
    weights = [d["data"] for n, d in sorted(G.nodes(data=True)) if d["role"] == "weight"]
    labels = re.findall(r'strip_q -> strip_k(\d+) \[id="strip_e\1", class="strip", '
                        r'label="([^"]+)"', text)
    assert labels == [(str(t), number(w)) for t, w in enumerate(weights)]
    assert 'strip_q [id="strip_q", class="strip", label="pos 1 \'a\'"' in text
    assert 'strip_k0 [id="strip_k0", class="strip", label="t=0 BOS"' in text
    assert abs(sum(weights) - 1) < 1e-12


def test_head_softmax_spells_its_steps():
    text = dot_source(graphs.tiny_head())
    assert text.count('label="−max = ') == 2  # one per score
    assert text.count('label="1/Σ"') == 2 and "**-1" not in text
    assert text.count('label="Σ"') == 1  # the total, one for both weights


@pytest.mark.parametrize("backward", [True, False])
def test_head_key_lists_every_fill_used(backward):
    text = dot_source(graphs.tiny_head(), backward=backward)
    key, body = text.split("\n\tnode", 1)
    key_fills = set(re.findall(r'bgcolor="(#\w+)"', key))
    used = set(re.findall(r'fillcolor="(#\w+)"', body)) | set(
        re.findall(r'<td[^>]*bgcolor="(#\w+)"[^>]*id="l_', body))
    theme = get_theme("default")
    grad_fills = set(re.findall(r'bgcolor="(#\w+)" id="g_', body)) | set(
        re.findall(r'class="compact"[^\n]*fillcolor="(#\w+)"', body))
    # grads are shaded by size between the two ends the key shows
    assert used - key_fills - {theme.cluster} <= (grad_fills if backward else set())
    assert "grad: whole text&#39;s loss" in key if backward else "grad:" not in key


def test_blocks_view_positions_params_and_widths():
    text = dot_source(graphs.tiny_blocks())
    # each row headed by its title as a node (flow labels keep clear of nodes)
    assert 'title_pos0 [id="title_pos0", class="title", shape="plain", label="pos 0 BOS"' in text
    assert "label=\"pos 1 'a'\"" in text and 'graph [label=""' in text
    assert 'shape="cylinder"' in text and text.count('class="block", shape="box"') == 5
    # the weight's edge starts at a tag beside the block it enters, under its own id
    assert re.search(r'w_n1 \[id="w_n1", class="weights", [^\n]*label="wte"\]', text)
    assert 'w_n1 -> n1 [id="e_n0_n1_0", class="arg"' in text
    assert 'subgraph "column_w_n1" {\n\t\t\tgraph [rank="same"]\n\t\t\tw_n1\n\t\t\tn1\n' in text
    assert "grad norm 4.5" in text and "166 dot products · 42 products · 42 sums" in text
    assert re.findall(r'n1 -> n2 \[id="e_n1_n2_0", class="arg", penwidth="([\d.]+)"\]',
                      text) == ["5.00"]


def test_blocks_heads_in_order_and_relus_counted():
    from microgpt_trace.tracer.queries import collapse

    from ...tracer.tiny_models import tiny_graph
    B = collapse(tiny_graph("atomic"), 3)
    text = dot_source(B)
    names = {d["scope"]: f"n{i}" for i, d in B.nodes(data=True)}
    for t in range(1, 4):
        heads = [names[f"pos{t}/layer0/attn/head{h}"] for h in (0, 1)]
        # inside the position's cluster, one rank, head0 on top
        cluster = text[text.index(f'subgraph "cluster_pos{t}"'):]
        cluster = cluster[:cluster.index('subgraph "cluster_pos', 1)] if t < 3 else cluster
        assert (f'subgraph "heads_pos{t}/layer0/attn" {{\n\t\t\tgraph [rank="same"]\n'
                f'\t\t\t{heads[1]} -> {heads[0]}') in cluster
    relus = [f"relu: {d['relu_active']}/{d['relu_total']} active"
             for _, d in B.nodes(data=True) if "relu_total" in d]
    assert relus and all(r in text for r in relus)
    assert "grad norm = √(sum of grad²) over the block&#39;s values" in text


@pytest.mark.parametrize("engine", ["atomic", "fused"])
def test_block_footers_name_their_ops_in_words(engine):
    """No footer holds a bare `op:count`; each op a block holds is named in words."""
    from microgpt_trace.renderers.diagrams.blocks import OP_WORDS
    from microgpt_trace.tracer.queries import collapse

    from ...tracer.tiny_models import tiny_graph
    B = collapse(tiny_graph(engine), 3)
    text = dot_source(B)
    footers = re.findall(r'point-size="9">([^<]*)</font></td></tr></table>', text)
    counted = [d for _, d in B.nodes(data=True) if d["op_counts"]]
    assert counted and len([f for f in footers if " · " in f or f[0].isdigit()]) == len(counted)
    for d in counted:
        words = []
        for item in d["op_counts"].split():
            op, _, n = item.rpartition(":")
            one, many = OP_WORDS[op]
            words.append(f"{n} {one if n == '1' else many}")
        assert " · ".join(words) in footers
    assert not any(re.search(r"\S:\d", f) for f in footers)


def test_blocks_forward_sizes_by_count():
    text = dot_source(graphs.tiny_blocks(), backward=False, edge_labels=True)
    assert "grad" not in text and "data norm 2.25" in text
    assert 'label="weights"' in text
    # the same block at a later position: left out of the ranking, rows stay aligned
    assert ('n2 -> n4 [id="e_n2_n4_0", class="arg", penwidth="5.00", xlabel="32 edges", '
            'constraint="false"]') in text
    # a label of its own (dot makes room for it) on every edge the ranking uses
    assert 'n2 -> n5 [id="e_n2_n5_0", class="arg", penwidth="1.12", label="1 edge"]' in text
    # a weight's flow in its tag, one line per weight, not on the short edges
    assert 'label=<wte: 16 edges<br align="left"/>>' in text
    assert 'w_n1 -> n1 [id="e_n0_n1_0", class="arg", penwidth="3.00"]' in text


def test_same_graph_same_bytes():
    assert dot_source(graphs.ten_ops()) == dot_source(graphs.ten_ops())
    assert dot_source(graphs.tiny_head()) == dot_source(graphs.tiny_head())


def test_same_bytes_across_processes_and_hash_seeds():
    code = ("from tests.renderers.diagrams import diagram_graphs as g; "
            "from microgpt_trace.renderers.diagrams.source import "
            "dot_source; import sys; sys.stdout.write(dot_source(g.tiny_head()) + "
            "dot_source(g.tiny_blocks()) + dot_source(g.tiny_model()))")
    root = Path(__file__).resolve().parents[3]
    outputs = {subprocess.run([sys.executable, "-c", code], cwd=root, capture_output=True,
                              check=True, env={**os.environ, "PYTHONHASHSEED": seed}).stdout
               for seed in ("1", "2")}
    assert len(outputs) == 1


def test_node_ids_of_any_type_are_sorted():
    G = nx.DiGraph(view="blocks")
    for node in ("b", 10, "a", 2):
        G.add_node(node, label=str(node), position=-1, kind="block")
    G.add_edge("a", 2)
    text = dot_source(G)
    assert re.findall(r"<b>(\w+)</b>", text) == ["2", "10", "a", "b"]
    assert edges(text) == [("n2", "n0")]


def test_empty_graph_and_to_dot():
    assert dot_source(nx.MultiDiGraph()).startswith("digraph {\n")
    source = to_dot(graphs.a_times_a(), rankdir="TB")
    assert source.source == dot_source(graphs.a_times_a(), rankdir="TB")


@pytest.mark.parametrize("style, message", [
    ({"rankdir": "RL"}, "unknown rankdir 'RL': use LR or TB"),
    ({"theme": "dark"}, "unknown theme 'dark': use one of default, colorblind"),
])
def test_bad_style(style, message):
    with pytest.raises(RenderError, match=re.escape(message)):
        dot_source(graphs.a_times_a(), **style)


def test_unknown_view():
    G = graphs.a_times_a()
    G.graph["view"] = "3d"
    with pytest.raises(RenderError, match="unknown view '3d': use one of expression, model"):
        dot_source(G)


def test_a_model_view_names_embedding_rows_by_character():
    G = graphs.tiny_model()
    assert "<b>wte[0][0]</b>" in dot_source(G)  # no vocabulary: the model's name
    G.graph["vocab"] = ("a", "BOS")
    text = dot_source(G)
    assert "<b>wte &#39;a&#39;[0]</b>" in text and "wte[0]" not in text
    assert G.nodes[0]["label"] == "wte[0][0]"


@pytest.mark.parametrize("rankdir", ["LR", "TB"])
def test_the_head_view_names_its_grads_and_shows_from_here(rankdir):
    """grad is the whole text's; q, k and v's `from here` is this position's share,
    each in its own cell, the last (where edges leave and an animation counts up)."""
    from microgpt_trace.renderers.diagrams.values import node_names
    from microgpt_trace.tracer.queries import head_view

    from ...tracer.tiny_models import tiny_graph

    H = head_view(tiny_graph("fused"), 2, 0, 1)
    text = dot_source(H, rankdir=rankdir)
    key = text.split("\n\tnode", 1)[0]
    assert "grad: whole text&#39;s loss" in key
    assert "from here: this position&#39;s share, what this head sends q, k, v" in key
    names = node_names(H)
    inputs = [n for n, d in H.nodes(data=True) if d["role"] in ("q", "k", "v")]
    assert text.count(">from here</font>") == 1 + 2 * 3  # the q table, k and v per position
    for n in inputs:
        d = H.nodes[n]
        cell = re.search(rf'<td [^>]*port="{names[n]}"[^>]*id="g_{names[n]}"[^>]*>'
                         r'<font [^>]*>([^<]*)</font>', text)
        assert cell.group(1) == number(d["from_here"])
        assert f">{number(d['grad'])}</font>" in text
    assert any(H.nodes[n]["from_here"] != H.nodes[n]["grad"] for n in inputs)
    others = [n for n, d in H.nodes(data=True) if d["role"] in ("score", "weight", "out")]
    for n in others:  # the rest have one grad, the whole text's, in their last cell
        grad = re.escape(number(H.nodes[n]["grad"]))
        assert re.search(rf'id="g_{names[n]}"[^>]*><font [^>]*>{grad}<', text)
