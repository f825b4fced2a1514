"""The scope view's DOT: golden files for one scope of each kind, and the marks a
reader needs (closed gates, the shared scale, pass-through, (p - y)/n) each drawn and
each in the key.

The golden files are drawn from the tiny model of tests/tracer/tiny_models.py on
"abca"; `UPDATE_GOLDEN=1 pytest tests/renderers/diagrams/test_scope.py` rewrites them
(look at them rendered, `dot -Tsvg`, before committing).
"""

import os
import random
import re
from pathlib import Path

import pytest

from microgpt_trace.microgpt.data import Tokenizer
from microgpt_trace.microgpt.model import GPT, Config
from microgpt_trace.renderers.diagrams.render import render
from microgpt_trace.renderers.diagrams.scope import GATE_CLOSED, PASS_FILL
from microgpt_trace.renderers.diagrams.source import dot_source
from microgpt_trace.renderers.themes import get_theme
from microgpt_trace.tracer.model_trace import trace_text
from microgpt_trace.tracer.replay import backward_frames
from microgpt_trace.tracer.scope_notes import scope_summary
from microgpt_trace.tracer.scope_view import scope_seeds, scope_view, seeded_from_the_loss

from ...tracer.tiny_models import TOKENIZER, tiny_graph

GOLDEN = Path(__file__).parent / "golden"
CASES = {  # golden name -> scope of the tiny model on "abca"
    "scope_mlp": "pos3/layer0/mlp",
    "scope_rmsnorm": "pos3/layer0/attn/rmsnorm",
    "scope_residual": "pos2/layer0/residual1",
    "scope_embed": "pos0/embed",
    "scope_lm_head": "pos3/lm_head",
    "scope_softmax": "pos3/softmax",
    "scope_loss": "pos3/loss",
}


def view(scope):
    return scope_view(tiny_graph("fused", "abca"), scope)


@pytest.mark.parametrize("name", CASES)
def test_golden(name):
    text = dot_source(view(CASES[name]))
    path = GOLDEN / f"{name}.dot"
    if os.environ.get("UPDATE_GOLDEN") == "1":
        path.write_text(text, encoding="utf-8")
    assert text == path.read_text(encoding="utf-8")


def key_of(text):
    """The title's key: the label of the graph, up to the first node."""
    return text[:text.index("\n\tnode")]


def test_closed_gates_are_drawn_counted_and_in_the_key():
    H = view("pos3/layer0/mlp")
    text = dot_source(H)
    closed = H.graph["relu_total"] - H.graph["relu_active"]
    assert closed > 0
    assert text.count(f'bgcolor="{GATE_CLOSED}"><font color="#ffffff" point-size="10">off') \
        == closed
    assert text.count(">on</font>") == H.graph["relu_active"]
    assert "off: relu closed, passes nothing" in key_of(text)
    assert f"relu {H.graph['relu_active']}/32 active" in text


def test_the_shared_scale_is_one_ringed_node_in_the_key():
    text = dot_source(view("pos3/layer0/attn/rmsnorm"))
    assert len(re.findall(r'label="scale"[^\n]*color="#e66100", penwidth="3"', text)) == 1
    assert "scale: rmsnorm&#39;s one shared scale" in key_of(text)
    assert "rmsnorm: one scale = (mean(x²) + 1e-5)^-0.5" in key_of(text)


def test_residual_edges_say_what_they_pass_back():
    H = view("pos2/layer0/residual1")
    text = dot_source(H)
    first = min(n for n, d in H.nodes(data=True) if d.get("mark") == "passthrough")
    g = H.nodes[first]["grad"]
    assert text.count(f'label="grad back {g:.4g}"') == 2  # both operands get g
    assert text.count(f'fillcolor="{PASS_FILL}"') == 8
    assert "+ passing its grad to both operands" in key_of(text)
    assert "from here" in text


def test_logits_show_p_and_p_minus_y_over_n():
    for scope in ("pos3/lm_head", "pos3/softmax"):
        text = dot_source(view(scope))
        assert ">(p − y)/n<" in text and ">p<" in text
        assert text.count("← target") == 1
        assert "(p − 1)/n" in key_of(text) and "p/n elsewhere" in key_of(text)


def test_bundles_say_what_their_edges_are():
    """A bundle into one op says how many values it reads and how often, in words."""
    text = dot_source(view("pos3/layer0/attn/rmsnorm"))
    labels = re.findall(r'class="bundle", label="([^"]*)"', text)
    assert "one op reads each of 8 values twice" in labels  # the sum of squares x·x
    assert not any(re.fullmatch(r"\d+ edges from \d+", label) for label in labels)


def test_softmax_names_its_steps():
    text = dot_source(view("pos3/softmax"))
    assert text.count('label="−max"') == 4 and 'label="1/Σ"' in text and 'label="+0"' in text


def test_weights_are_rows_of_the_table_they_feed():
    text = dot_source(view("pos3/layer0/mlp"))
    assert "weights layer0.mlp_fc1[i]" in text and "weights layer0.mlp_fc2[i]" in text
    assert "L0.fc1[i] = dot(weights row i, L0.xn2)" in text
    assert "weights: a row per matrix row, its L2 norms" in key_of(text)
    # the dense wiring is one edge each way, not 8 x 32
    assert len(re.findall(r'class="bundle", label="each of 32 reads all 8"', text)) == 1
    assert len(re.findall(r'class="bundle", label="each of 8 reads all 32"', text)) == 1


def test_every_fill_is_in_the_key():
    """Each fill a node or cell uses is in the key, or a grad's colour (the key shows
    both signs)."""
    theme = get_theme("default")
    for scope in CASES.values():
        H = view(scope)
        text = dot_source(H)
        key = key_of(text)
        top = max(abs(d["grad"]) for _, d in H.nodes(data=True))
        grads = {theme.signed_fill(d.get(k, 0.0), top) for _, d in H.nodes(data=True)
                 for k in ("grad", "from_here", "softmax_grad")}
        fills = set(re.findall(r'(?:bgcolor|fillcolor)="(#\w+)"', text[len(key):]))
        assert fills - {"#ffffff", theme.cluster} - grads <= set(re.findall(r"#\w+", key))
        assert fills & {GATE_CLOSED, PASS_FILL, theme.param} <= set(re.findall(r"#\w+", key))


def test_forward_only_has_no_grads():
    text = dot_source(view("pos3/layer0/mlp"), backward=False)
    assert ">grad<" not in text and "from here" not in text and "grad norm" not in text
    assert "off: relu closed" in key_of(text)


def test_deterministic():
    assert dot_source(view("pos3/layer0/mlp")) == dot_source(view("pos3/layer0/mlp"))


@pytest.mark.exe
@pytest.mark.parametrize("scope", ["pos3/layer0/mlp", "pos3/softmax"])
def test_dot_lays_it_out(scope):
    assert render(dot_source(view(scope)), "svg").startswith(b"<?xml")


# Vectors with a row per token name their character (logit 'a', wte 'b'[0]), never an id.

BY_ID = re.compile(r"\b(?:logit|wte|lm_head)\[")


@pytest.mark.parametrize("scope", ["pos3/lm_head", "pos0/embed", "pos2/embed", "pos3/softmax",
                                   "pos3/loss"])
def test_no_vocabulary_index_is_left_in_a_view(scope):
    """Picture, frame captions and the printed summary: `logit 'a'`, not `logit[0]`."""
    H = view(scope)
    frames = seeded_from_the_loss(H, backward_frames(H, seeds=scope_seeds(H)))
    shown = [dot_source(H), scope_summary(H)] + [f.caption for f in frames]
    assert not [s for s in shown if BY_ID.search(s)]
    text = dot_source(H)
    if scope.endswith(("lm_head", "softmax")):
        assert all(f">logit &#39;{c}&#39;" in text for c in TOKENIZER.chars)
        assert "logit BOS" in text
    if scope == "pos3/lm_head":
        assert "logit c = dot(weights row c, L0.res2) for each token c" in text
        assert "weights lm_head c" in text
    if scope == "pos2/embed":  # position 2 reads 'b' (BOS a b c a BOS)
        assert "input wte &#39;b&#39;<" in text and ">wte &#39;b&#39;[7]<" in text
        assert "inputs: wte 'b', wpe[2]" in scope_summary(H)


def hostile_view(chars, text):
    """The lm_head scope of an untrained model whose vocabulary is `chars`."""
    tokenizer = Tokenizer(chars)
    model = GPT.init(Config(tokenizer.vocab_size, n_embd=4, n_head=2, block_size=8),
                     random.Random(0))
    return scope_view(trace_text(model, tokenizer, text), "pos1/lm_head"), tokenizer


@pytest.mark.exe
@pytest.mark.parametrize("chars, text", [
    ("\"&'<>]ab", "a'<"),  # DOT's and HTML's own characters
    ("あいうえおかきくけこ", "かき"),  # names-ja's script
])
def test_characters_are_quoted_safely_in_dot_and_svg(chars, text):
    """Every logit row's name reaches the SVG as the text `logit 'c'` (well-formed XML)."""
    import xml.etree.ElementTree as ET

    H, tokenizer = hostile_view(chars, text)
    svg = ET.fromstring(render(dot_source(H), "svg"))
    texts = {"".join(t.itertext()) for t in svg.iter("{http://www.w3.org/2000/svg}text")}
    wanted = {f"logit {c!r}" for c in chars} | {"logit BOS"}
    assert wanted <= {t.replace(" ← target", "") for t in texts}
