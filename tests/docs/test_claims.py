"""Every number the prose of docs/ quotes from a run, and every general claim it
makes ("more than lr_t", "from step 14 on", "every weight with a gradient"), is
computed again here from the library and compared with what the page says.

A claim is the text quoted on each page that states it (English and Japanese point
at the same check when they quote the same number; whitespace and line breaks in a
page do not matter) and a function computing what the text says, formatted as the
text prints it. Numbers in ```console transcripts are checked by test_transcripts.py;
these are the numbers in the sentences around them, and in alt texts. An alt text of
a figure drawn from a .dot must also quote only numbers its figure shows.

The sources: the metrics logs of the two short runs under docs/img (`docs --check`
keeps them current), the default checkpoint's trace of `anna` (one shared trace),
and a few real runs: the default 1000-step schedule replayed (the Adam claims), the
lr 0.1 run read over every name, the lr 0.001 run. Those take seconds and are slow.
"""

import html
import math
import re
import subprocess
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from statistics import mean
from typing import Callable

import networkx as nx
import pytest

from microgpt_trace.docs_build import DIAGRAMS, traced_text
from microgpt_trace.microgpt import floats
from microgpt_trace.microgpt.adam_explained import next_update
from microgpt_trace.microgpt.data import DEFAULT_DATA, load_docs
from microgpt_trace.microgpt.model import param_shapes
from microgpt_trace.microgpt.runs.checkpoint import load_model
from microgpt_trace.microgpt.runs.metrics import read_log
from microgpt_trace.microgpt.train import TrainConfig, start, train_steps
from microgpt_trace.renderers.panels.data import moving_average
from microgpt_trace.tracer.checkpoint_trace import trace_checkpoint_text
from microgpt_trace.tracer.queries import collapse
from microgpt_trace.tracer.scope_view import scope_names

from .transcripts import ROOT

UNIFORM = math.log(27)  # the dashed line: the loss of a uniform guess over 27 tokens
WINDOW = 10  # the panels' moving average


@dataclass(frozen=True)
class Claim:
    quotes: dict  # page (relative to the repository) -> the text it says it in
    fact: Callable  # () -> what the text says, formatted as the text prints it
    shown: object  # what fact() must return
    marks: tuple = ()  # "slow" (a real run of seconds), "exe" (Graphviz lays out a figure)


def claim(en, ja, fact, shown, slow=False, page=None, exe=False):
    """A claim on docs/PAGE.md and docs/ja/PAGE.md (the same check in both)."""
    return Claim({f"docs/{page}.md": en, f"docs/ja/{page}.md": ja}, fact, shown,
                 ("slow",) * slow + ("exe",) * exe)


def flat(text):
    return " ".join(text.split())


@cache
def page_text(path):
    return flat((ROOT / path).read_text(encoding="utf-8"))


# --- the two short runs the training chapter draws (docs/img/*.jsonl) ---------------

@cache
def run_log(name):
    return read_log(ROOT / "docs" / "img" / f"train-{name}.jsonl")


def losses(name):
    return [s["loss"] for s in run_log(name).steps]


def loss_average(name):
    return moving_average(losses(name), WINDOW)


def norms(name, group):
    return [s["grad_norm"][group] for s in run_log(name).steps]


def last_above_uniform(averages):
    """The last step whose moving average is above the uniform guess."""
    return max(i + 1 for i, x in enumerate(averages) if x > UNIFORM)


def snapshot(name, step):
    return next(s for s in run_log(name).snapshots if s["step"] == step)


def mlp_units(name, step):
    """(share of activations that are 0, units on at some position) on the snapshot text."""
    acts = [row for layer in snapshot(name, step)["mlp"] for row in layer]
    values = [a for row in acts for a in row]
    on = {j for row in acts for j, a in enumerate(row) if a > 0}
    return f"{sum(a == 0 for a in values) / len(values):.0%}", len(on)


def g2(x):
    return f"{x:.2g}"


def growth_by_step5(name):
    ratios = [norms(name, g)[4] / norms(name, g)[0] for g in run_log(name).steps[0]["grad_norm"]]
    return f"{min(ratios):.2g}", f"{max(ratios):.3g}"


def average_range(name, groups):
    """min and max of the groups' 10-step averages of the gradient norm."""
    averages = [x for g in groups for x in moving_average(norms(name, g), WINDOW)]
    return min(averages), max(averages)


EMBEDDINGS = ("wte", "wpe")
MLP_VALUE_OUTPUT = ("layer0.mlp_fc1", "layer0.mlp_fc2", "layer0.attn_wv", "layer0.attn_wo")
QUERY_KEY = ("layer0.attn_wq", "layer0.attn_wk")


# --- real runs ------------------------------------------------------------------------

@cache
def default_run():
    """The default 1000-step schedule from the seed (the shipped checkpoint's run): per
    step, how far each weight moved against lr_t, and one weight's m and v."""
    state = start(load_docs(DEFAULT_DATA), TrainConfig())
    params = state.model.parameters()
    shapes = param_shapes(state.model.config)
    names = [f"{g}[{r}][{c}]" for g, (rows, cols) in shapes.items()
             for r in range(rows) for c in range(cols)]
    watched = names.index("layer0.mlp_fc2[3][58]")
    before = [p.data for p in params]
    over, largest, moved, history = [], (0.0, 0, ""), [], []
    for metrics in train_steps(state):
        after = [p.data for p in params]
        ratios = [abs(a - b) / metrics.lr for a, b in zip(after, before)]
        over.extend(metrics.step for r in ratios if r > 1)
        top = max(range(len(ratios)), key=ratios.__getitem__)
        largest = max(largest, (ratios[top], metrics.step, names[top]))
        moved.append(sum(a != b for a, b in zip(after, before)) / len(after))
        history.append((state.m[watched], state.v[watched]))
        before = after
    return over, largest, moved, history


def watched_grads():
    """layer0.mlp_fc2[3][58]'s gradient at each step, from its m (m = 0.85 m + 0.15 g)."""
    grads, m_prev = [], 0.0
    for m, _ in default_run()[3]:
        grads.append((m - 0.85 * m_prev) / 0.15)
        m_prev = m
    return grads


def positive_run_before(step):
    """The gradients of the positive run that ends at `step`."""
    grads = watched_grads()
    start_ = step
    while grads[start_ - 2] > 0:
        start_ -= 1
    return grads[start_ - 1:step]


@cache
def first_step():
    """The untrained model's gradients on the first document, and the moves lr_t x
    g / (|g| + eps) of step 1 (the bias corrections make m̂ = g, v̂ = g²)."""
    state = start(load_docs(DEFAULT_DATA), TrainConfig())
    tok = state.tokenizer
    tokens = [tok.bos] + tok.encode(state.docs[0]) + [tok.bos]
    _, grads = floats.loss_and_grads(state.model.config, floats.weights_of(state.model.params),
                                     tokens)
    g = [x for rows in grads.values() for row in rows for x in row]
    ratio = [abs(x) / (abs(x) + 1e-8) for x in g]
    return g, ratio


def first_step_moves():
    g, ratio = first_step()
    with_grad = [r for x, r in zip(g, ratio) if x != 0]
    short = [abs(x) for x, r in zip(g, ratio) if x != 0 and r <= 0.99]
    return len(with_grad), len(short), max(short) < 1.5e-07


def first_correction_is_one_from(beta):
    return next(t for t in range(1, 10_000) if f"{1 - beta ** t:.6g}" == "1")


@cache
def trained(lr, steps=200):
    state = start(load_docs(DEFAULT_DATA), TrainConfig(steps=steps, lr=lr))
    return state, list(train_steps(state))


@cache
def units_on_per_name(lr):
    """Per name of the data, the set of MLP units on at some position, after 200 steps."""
    state, _ = trained(lr)
    config, w, tok = state.model.config, floats.weights_of(state.model.params), state.tokenizer
    found = {}
    for name in state.docs:
        cache_, tape, on = floats.new_cache(config), [], set()
        for pos, token in enumerate([tok.bos] + tok.encode(name)):
            floats.forward(config, w, token, pos, cache_, tape)
            on |= {j for j, a in enumerate(tape[-1][3][0][11]) if a > 0}  # h1 of layer 0
        found[name] = on
    return found


def units_seen():
    per_name = units_on_per_name(0.1)
    counts = {}
    for on in per_name.values():
        for unit in on:
            counts[unit] = counts.get(unit, 0) + 1
    busy = sorted((c for c in counts.values() if c > 75), reverse=True)
    return len(counts), len(busy), busy, len(per_name)


def mean_units(lr):
    return mean(len(on) for on in units_on_per_name(lr).values())


def low_rate():
    _, steps = trained(0.001)
    averages = moving_average([m.loss for m in steps], WINDOW)
    growth = sorted(round(steps[-1].grad_norm[g] / steps[0].grad_norm[g]) for g in QUERY_KEY)
    return last_above_uniform(averages), f"{mean(m.loss for m in steps[-10:]):.2f}", growth


# --- the default checkpoint on `anna` --------------------------------------------------

def anna():
    return traced_text("fused")


def node(label, scope_prefix=""):
    graph = anna()
    found = [d for _, d in graph.nodes(data=True)
             if d["label"] == label and d["scope"].startswith(scope_prefix)]
    assert len(found) == 1, (label, scope_prefix, len(found))
    return found[0]


def block_norms(depth=3):
    return {d["scope"]: d["grad_norm"] for _, d in collapse(anna(), depth).nodes(data=True)}


def g4(x):
    return f"{x:.4g}"


def gates_open():
    return [sum(d["data"] > 0 for _, d in anna().nodes(data=True)
                if d["label"].startswith("L0.relu[") and d["scope"].startswith(f"pos{p}/"))
            for p in range(5)]


def largest_fc1_at(position):
    return max(d["data"] for _, d in anna().nodes(data=True)
               if d["label"].startswith("L0.fc1[") and d["scope"].startswith(f"pos{position}/"))


def learned_groups_behind_attention_weights():
    """The attention matrices the attention weights were computed from."""
    graph = anna()
    weights = [n for n, d in graph.nodes(data=True) if re.fullmatch(r"L0\.h\d\.w\[t=\d+\]",
                                                                       d["label"])]
    behind = set().union(*(nx.ancestors(graph, n) for n in weights))
    groups = {graph.nodes[n]["label"].split("[")[0] for n in behind
              if graph.nodes[n].get("kind") == "param"}
    return sorted(g for g in groups if "attn" in g)


def q_grads_at(position):
    return {d["grad"] for _, d in anna().nodes(data=True)
            if d["label"].startswith("L0.q[") and d["scope"].startswith(f"pos{position}/")}


def head_norms():
    norms_ = block_norms()
    return {(p, h): norms_[f"pos{p}/layer0/attn/head{h}"] for p in range(5) for h in range(4)}


def smallest_and_largest_heads():
    norms_ = head_norms()
    smallest = {min(range(4), key=lambda h: norms_[p, h]) for p in range(5)}
    largest = [max(range(4), key=lambda h: norms_[p, h]) for p in range(5)]
    ones = [norms_[p, 1] for p in range(5)]
    return smallest, largest, g4(min(ones)), g4(max(ones))


def rms(values):
    return math.sqrt(mean(v * v for v in values))


def vector(prefix, scope):
    graph = anna()
    found = {int(d["label"][len(prefix) + 1:-1]): d for _, d in graph.nodes(data=True)
             if d["label"].startswith(prefix + "[") and d["scope"] == scope}
    return [found[i] for i in sorted(found)]


def rmsnorms_at_3():
    emb = vector("emb", "pos3/embed")
    res1 = vector("L0.res1", "pos3/layer0/residual1")
    x = vector("x", "pos3/embed")
    return (g4(rms([d["data"] for d in emb])), f"{rms([d['data'] for d in x]):.3f}",
            f"{rms([d['data'] for d in res1]):.4g}")


def rmsnorm_gradient_turns():
    emb = vector("emb", "pos3/embed")
    x = vector("x", "pos3/embed")
    length = math.sqrt(sum(d["grad"] ** 2 for d in emb))
    out = math.sqrt(sum(d["grad"] ** 2 for d in x))
    dot = sum(d["grad"] * d["data"] for d in emb)
    size = math.sqrt(sum(d["data"] ** 2 for d in emb))
    return g4(out), g4(length), f"{dot:.3g}", g4(size)


def head_weights(head):
    return [node(f"L0.h{head}.w[t={t}]", "pos4/")["data"] for t in range(5)]


def emb0_grads():
    at1, at4 = node("emb[0]", "pos1/")["grad"], node("emb[0]", "pos4/")["grad"]
    return f"{at1:.3g}", f"{at4:.4g}", g4(node("wte[0][0]")["grad"])


def score_grads():
    return [node(f"L0.h2.score[t={t}]", "pos4/")["grad"] for t in range(5)]


def weighted_average_of_weight_grads():
    ws = [node(f"L0.h2.w[t={t}]", "pos4/") for t in range(5)]
    return g4(sum(d["data"] * d["grad"] for d in ws))


def block_nodes(depth=1):
    return {d["scope"]: d["n_nodes"] for _, d in collapse(anna(), depth).nodes(data=True)}


def softmax_ends():
    norms_ = block_norms(1)
    soft = {p: norms_[f"pos{p}/softmax"] for p in range(5)}
    top, low = max(soft, key=soft.get), min(soft, key=soft.get)
    return (top, g4(soft[top])), (low, g4(soft[low]))


def residual_equal_at_3():
    res1 = [d["grad"] for d in vector("L0.res1", "pos3/layer0/residual1")]
    res2 = [d["grad"] for d in vector("L0.res2", "pos3/layer0/residual2")]
    return res1 == res2, [g4(g) for g in res1[:3]]


@cache
def probabilities_at(text, position):
    """The default checkpoint's next-token probabilities at one position of `text`."""
    model, tokenizer, _ = load_model()
    w, config = floats.weights_of(model.params), model.config
    cache_ = floats.new_cache(config)
    for pos, token in enumerate([tokenizer.bos] + tokenizer.encode(text)):
        logits = floats.forward(config, w, token, pos, cache_)
        if pos == position:
            probs = floats.softmax(logits)[0]
            return {tokenizer.decode([i]) if i != tokenizer.bos else "BOS": p
                    for i, p in enumerate(probs)}


def top_guesses_at_3():
    probs = probabilities_at("anna", 3)
    ranked = sorted(probs, key=probs.get, reverse=True)[:4]
    return [(c, f"{probs[c]:.4f}") for c in ranked]


def unit_3_on_gaynelle():
    graph = trace_checkpoint_text(text="gaynelle")
    values = [d["data"] for _, d in graph.nodes(data=True) if d["label"] == "L0.fc1[3]"]
    return len(values), g4(min(values)), g4(max(values))


def rmsnorm_scales_at_3():
    """(scale of the attention's rmsnorm, rms of the MLP's input, the MLP's scale)."""
    x = [d["data"] for d in vector("x", "pos3/embed")]
    res1 = [d["data"] for d in vector("L0.res1", "pos3/layer0/residual1")]
    return (f"{(rms(x) ** 2 + 1e-5) ** -0.5:.6g}", g4(rms(res1)),
            g4((rms(res1) ** 2 + 1e-5) ** -0.5))


# --- the table ----------------------------------------------------------------------

CLAIMS = {
    # adam.md: lr_t is not a hard limit
    "adam: moves above lr_t": claim(
        "a weight moved by more than `lr_t` 14,890 times out of 4,192,000 (0.36%), in 938 of "
        "the 1000 steps",
        "重みが `lr_t` より大きく動いたのは、4,192,000 回の動きのうち 14,890 回（0.36%）で、"
        "1000 ステップのうち 938 ステップで起きています",
        lambda: (f"{len(default_run()[0]):,}", f"{4192 * 1000:,}",
                 f"{len(default_run()[0]) / (4192 * 1000):.2%}", len(set(default_run()[0]))),
        ("14,890", "4,192,000", "0.36%", 938), slow=True, page="adam"),
    "adam: the largest move": claim(
        "The largest move was `layer0.mlp_fc2[3][58]` at step 584: 2.26 × `lr_t`",
        "最大は `layer0.mlp_fc2[3][58]` のステップ 584 で、`lr_t` の 2.26 倍です",
        lambda: (default_run()[1][2], default_run()[1][1], f"{default_run()[1][0]:.3g}"),
        ("layer0.mlp_fc2[3][58]", 584, "2.26"), slow=True, page="adam"),
    "adam: six positive gradients before it": claim(
        "after six positive gradients in a row (0.0084 to 0.044) where `√v` had been about 0.0031",
        "`√v` が約 0.0031 だったところに、正の勾配が六回続いた（0.0084 から 0.044）",
        lambda: (len(positive_run_before(584)), g2(min(positive_run_before(584))),
                 g2(max(positive_run_before(584))), g2(default_run()[3][584 - 6 - 1][1] ** 0.5)),
        (6, "0.0084", "0.044", "0.0031"), slow=True, page="adam"),
    "adam: the first correction prints 1": claim(
        "prints as 1 (to six digits) from step 90 on",
        "ステップ 90 以降は（6 桁で）1 と表示されます",
        lambda: first_correction_is_one_from(0.85), 90, page="adam"),
    "adam: the second correction prints 1": claim(
        "it is still 0.999957 at step 1000 (the transcripts below show it) and prints as 1 "
        "only from step 1444",
        "ステップ 1000 でもまだ 0.999957 で（下の出力例にも出てきます）、1 と表示されるのはステ"
        "ップ 1444 からです",
        lambda: (f"{1 - 0.99 ** 1000:.6g}", first_correction_is_one_from(0.99)),
        ("0.999957", 1444), page="adam"),
    "adam: the uncorrected factor at step 100": claim(
        "`(1 − 0.85^t) / √(1 − 0.99^t)` that fades slowly: it is still 1.26 at step 100",
        "`(1 − 0.85^t) / √(1 − 0.99^t)` 倍だけずれてしまいます。この倍率はゆっくりとしか 1 に近"
        "づかず、ステップ 100 でもまだ 1.26 です",
        lambda: f"{(1 - 0.85 ** 100) / math.sqrt(1 - 0.99 ** 100):.3g}", "1.26", page="adam"),
    "adam: the first step moves by lr_t": claim(
        "On `mignon`, 3,616 weights have a gradient, and all but 2 of them move by more than "
        "0.99 × `lr_t`; those 2 have gradients below 1.5e-07",
        "`mignon` で勾配を持つ重みは 3,616 個あり、そのうち 2 個を除くすべてが `lr_t` の 0.99 "
        "倍より大きく動きます。残りの 2 個は勾配が 1.5e-07 未満",
        first_step_moves, (3616, 2, True), page="adam"),
    "adam: grad norms of lm_head and attn_wk on anna": claim(
        "gradient norm of `lm_head` is 1.521 and that of `attn_wk` 0.1088",
        "`lm_head` の勾配のノルムは 1.521、`attn_wk` は 0.1088 です",
        lambda: (g4(block_norms()["params/lm_head"]), g4(block_norms()["params/layer0.attn_wk"])),
        ("1.521", "0.1088"), page="adam"),
    "summary: the largest Adam step": Claim(
        {"docs/summary.md":
            "steps of up to about `lr_t` (2.26 × `lr_t` at most in the default run)",
         "docs/ja/summary.md":
            "一歩はたいてい `lr_t` くらいまで（既定の学習では最大で `lr_t` の 2.26 倍）"},
        lambda: f"{default_run()[1][0]:.3g}", "2.26", ("slow",)),
    "the data has 5,163 names": Claim(
        {"docs/primer.md": "a list of 5,163 first names",
         "docs/ja/primer.md": "5,163 個のファーストネーム",
         "docs/adam.md": "not where all 5,163 names do",
         "docs/ja/adam.md": "5,163 個の名前全体にとっての方向ではありません"},
        lambda: f"{len(load_docs(DEFAULT_DATA)):,}", "5,163"),
    "the model has 4,192 weights": Claim(
        {"docs/primer.md": "nine such matrices, 4,192 numbers in all",
         "docs/ja/primer.md": "こうした九つの行列、合わせて 4,192 個の数",
         "docs/adam.md": "4,192 numbers saying, for one document",
         "docs/ja/adam.md": "4,192 個の数です",
         "docs/backprop.md": "The GPT in this project has 4192 numbers it can adjust",
         "docs/training.md": "the gradient of every one of the model's 4192 weights",
         "docs/gpt.md": "What the optimizer does with the 4192 gradients",
         "docs/ja/gpt.md": "オプティマイザーが 4,192 個の勾配をどう使うか"},
        lambda: (len(param_shapes(load_model()[0].config)),
                 f"{len(load_model()[0].parameters()):,}"), (9, "4,192")),
    "primer: the gates at positions 4 and 3": Claim(
        {"docs/primer.md": "At position 4 the MLP reads `relu: 16/64 active`: 16 gates pass "
                           "gradient back and 48 pass none. At position 3 it reads "
                           "`relu: 0/64 active`",
         "docs/ja/primer.md": "位置 4 の MLP には `relu: 16/64 active` とあります。16 個のゲートは"
                              "勾配を逆向きに通し、48 個は通しません。位置 3 の MLP には "
                              "`relu: 0/64 active` とあります。"},
        lambda: (gates_open()[4], 64 - gates_open()[4], gates_open()[3]), (16, 48, 0)),
    "training: step 1 reads mignon": claim(
        "Step 1 reads `mignon`, which becomes the tokens `BOS m i g n o n BOS`", "`mignon`",
        lambda: start(load_docs(DEFAULT_DATA)).docs[0], "mignon", page="training"),
    "adam: unit 3 is closed on gaynelle": claim(
        "`L0.fc1[3]` is negative at all nine positions, between -0.8549 and -0.3336",
        "`L0.fc1[3]` は九つの位置すべてで負で、-0.8549 から -0.3336 の間にあります",
        unit_3_on_gaynelle, (9, "-0.8549", "-0.3336"), page="adam"),
    "adam: 0.99^1001": claim(
        "`0.99^1001` is about 4.3e-05", "`0.99^1001` は約 4.3e-05",
        lambda: f"{0.99 ** 1001:.2g}", "4.3e-05", page="adam"),
    "adam: m-hat is three quarters of sqrt(v-hat)": claim(
        "(0.0216029 / 0.0297882 = 0.725)", "（0.0216029 / 0.0297882 = 0.725）",
        lambda: f"{0.0216029 / 0.0297882:.3f}", "0.725", page="adam"),
    "adam: one large gradient": claim(
        "It is fifty times the previous average `m_prev` = -0.00630012",
        "前回までの平均 `m_prev` = -0.00630012 の約 50 倍です",
        lambda: round(0.311729 / 0.00630012, -1), 50.0, page="adam"),
    "adam: the typical size grows": claim(
        "the typical size grows from √0.00312031 ≈ 0.0559 to √v̂ = 0.0637262",
        "典型的な大きさは √0.00312031 ≈ 0.0559 から √v̂ = 0.0637262 に増えます",
        lambda: f"{0.00312031 ** 0.5:.3g}", "0.0559", page="adam"),
    "adam: 82% of lr_t": claim(
        "m̂ / √v̂ is about -0.82, so the step is 82% of `lr_t`",
        "m̂ / √v̂ は約 -0.82 なので、一歩は `lr_t` の 82% です",
        lambda: f"{-0.0521145 / 0.0637262:.2f}", "-0.82", page="adam"),
    "gpt: each position's loss block": claim(
        "Each `pos*/loss` block has norm 0.2828", "各 `pos*/loss` ブロックのノルムは 0.2828 です",
        lambda: ({g4(block_norms(1)[f"pos{p}/loss"]) for p in range(5)}, g4(math.sqrt(0.08)),
                 g4(block_norms(1)["loss"]), g4(math.sqrt(1 + 5 * 0.2 ** 2))),
        ({"0.2828"}, "0.2828", "1.095", "1.095"), page="gpt"),
    "gpt: the largest and smallest softmax norms": claim(
        "The largest, 3.982, is at position 0", "最大の 3.982 は位置 0 で",
        softmax_ends, ((0, "3.982"), (4, "0.9325")), page="gpt"),
    "gpt: the embedding tables' nodes": claim(
        "`wte` holds 48 nodes: 16 numbers for each of the 3 distinct tokens in the text",
        "`wte` は 48 ノードで、テキストに現れる 3 種類のトークン（BOS、`a`、`n`）それぞれについ"
        "て 16 個ずつです",
        lambda: (block_nodes()["params/wte"], block_nodes()["params/wpe"],
                 block_nodes()["params/lm_head"]), (48, 80, 432), page="gpt"),
    "gpt: the highway at position 3": claim(
        "the gradient of `L0.res1` equals that of `L0.res2` (0.005248, 0.01506, -0.007124, ... "
        "for the first three elements)",
        "`L0.res1` の勾配は `L0.res2` の勾配と一致します（最初の三要素は 0.005248、0.01506、-0."
        "007124、……）",
        residual_equal_at_3, (True, ["0.005248", "0.01506", "-0.007124"]), page="gpt"),
    "gpt: the residuals at position 4": claim(
        "at position 4, `residual2` has 0.08522 and `residual1` 0.1498",
        "位置 4 では `residual2` が 0.08522、`residual1` が 0.1498 です",
        lambda: (g4(block_norms(2)["pos4/layer0/residual2"]),
                 g4(block_norms(2)["pos4/layer0/residual1"])), ("0.08522", "0.1498"),
        page="gpt"),
    "gpt: x[0] gets more than the highway": claim(
        "(-0.003732 for `x[0]` against 0.005248 from here)",
        "（`x[0]` では `from here` の 0.005248 に対して -0.003732）",
        lambda: g4(vector("x", "pos3/embed")[0]["grad"]), "-0.003732", page="gpt"),
    "gpt: the top guesses at position 3": claim(
        "At position 3 the model's top guess is `e` (p = 0.1363), just ahead of the right "
        "answer `a` (p = 0.1323)",
        "位置 3 でモデルがいちばん高い確率を与えたのは `e`（p = 0.1363）で、正解の `a`（p = 0.1"
        "323）はわずかに及びません",
        top_guesses_at_3, [("e", "0.1363"), ("a", "0.1323"), ("i", "0.1160"), ("n", "0.1098")],
        page="gpt"),
    "the loss of a uniform guess": Claim(
        {"docs/primer.md": "a loss of ln 27 ≈ 3.2958",
         "docs/ja/primer.md": "一様に 1/27 を与えるモデルの損失は ln 27 ≈ 3.2958 です",
         "docs/questions.md": "a loss of ln 27 ≈ 3.2958 per position",
         "docs/ja/questions.md": "損失は位置あたり ln 27 ≈ 3.2958 です",
         "docs/training.md": "the loss of a uniform guess, ln 27 = 3.30"},
        lambda: (f"{math.log(27):.4f}", f"{math.log(27):.2f}"), ("3.2958", "3.30")),
    "backprop: exp is not a straight line": claim(
        "`exp(1) = 2.71828` and `exp(2) = 7.38906`, a change of 4.67 for a step of 1",
        "`exp(1) = 2.71828`、`exp(2) = 7.38906` なので、1 だけ動かすと結果は 4.67 変わります",
        lambda: (f"{math.e:.6g}", f"{math.exp(2):.6g}", f"{math.exp(2) - math.e:.3g}"),
        ("2.71828", "7.38906", "4.67"), page="backprop"),
    "questions: the maximum the softmax subtracts": claim(
        "`−max = -0.5285` (the largest score at position 3, 0.5285, with its sign flipped)",
        "定数 `−max = -0.5285`（位置 3 の最大のスコア 0.5285 の符号を反転したもの）",
        lambda: g4(max(node(f"L0.h2.score[t={t}]", "pos3/")["data"] for t in range(4))),
        "0.5285", page="questions"),
    "gpt: the maximum at position 4": Claim(
        {"docs/gpt.md": "the constant `−max = -2.039`, the score at t=3 with its sign flipped",
         "docs/ja/gpt.md": "定数 `−max = -2.039`。t=3 のスコアの符号を反転したもの",
         "docs/glossary.md": "`−max = -2.039` is the largest score with its",
         "docs/ja/glossary.md": "`−max = -2.039` は最大の"},
        lambda: max((node(f"L0.h2.score[t={t}]", "pos4/")["data"], t) for t in range(5)),
        (pytest.approx(2.039, abs=5e-4), 3)),
    "gpt: the scales of the attention and MLP rmsnorms": claim(
        "its `scale` is 1.00006; the input of the MLP has 1.005, scale 0.9946",
        "`scale` は 1.00006、MLP への入力は 1.005 で `scale` は 0.9946 です",
        lambda: rmsnorm_scales_at_3(), ("1.00006", "1.005", "0.9946"), page="gpt"),
    "gpt: the scopes of anna": claim(
        "lists every scope the text has (166 for `anna`)", "（`anna` では 166 個）",
        lambda: len(scope_names(anna())), 166, page="gpt"),
    "code: the blocks of position 3": claim(
        "pos3/layer0/attn 212 0.1951 pos3/layer0/residual1 16 0.1094 pos3/layer0/mlp 164 0.1978 "
        "pos3/layer0/residual2 16 0.1094",
        "pos3/layer0/attn 212 0.1951 pos3/layer0/residual1 16 0.1094 pos3/layer0/mlp 164 0.1978 "
        "pos3/layer0/residual2 16 0.1094",
        lambda: " ".join(f"{s} {block_nodes(2)[s]} {round(block_norms(2)[s], 4)}"
                         for s in ("pos3/layer0/attn", "pos3/layer0/residual1", "pos3/layer0/mlp",
                                   "pos3/layer0/residual2")),
        "pos3/layer0/attn 212 0.1951 pos3/layer0/residual1 16 0.1094 pos3/layer0/mlp 164 0.1978 "
        "pos3/layer0/residual2 16 0.1094", page="code"),
    "code: one Adam update": claim(
        "-0.3117291201522225 -0.05211446891164187 0.004060853855864515 0.005 0.320656029298435",
        "-0.3117291201522225 -0.05211446891164187 0.004060853855864515 0.005 0.320656029298435",
        lambda: " ".join(map(str, (lambda u: (u.grad, u.m, u.v, u.lr_t, u.new_value))(
            next_update(None, "wte[0][1]", text="anna", steps=2000)))),
        "-0.3117291201522225 -0.05211446891164187 0.004060853855864515 0.005 0.320656029298435",
        page="code"),
    "code: three training steps": claim(
        "1 3.3962 0.01 2 3.2794 0.006666666666666668 3 3.2130 0.003333333333333334",
        "1 3.3962 0.01 2 3.2794 0.006666666666666668 3 3.2130 0.003333333333333334",
        lambda: " ".join(f"{m.step} {m.loss:.4f} {m.lr}" for m in trained(0.01, 3)[1]),
        "1 3.3962 0.01 2 3.2794 0.006666666666666668 3 3.2130 0.003333333333333334",
        page="code"),
    "gpt: every rmsnorm's output has root mean square 1": claim(
        "The next matrix products always see inputs of the same size.",
        "後に続く行列の積は、いつも同じ大きさの入力を受け取ることになります。",
        lambda: all(0.999 < rms([d["data"] for d in vector(name, scope)]) <= 1
                    for p in range(5)
                    for name, scope in (("x", f"pos{p}/embed"),
                                        ("L0.xn", f"pos{p}/layer0/attn/rmsnorm"),
                                        ("L0.xn2", f"pos{p}/layer0/mlp/rmsnorm"))),
        True, page="gpt"),
    "training: step 13 is the hardest of twenty": claim(
        "step 13's loss is the highest of all", "ステップ 13 の損失がいちばん高くなっています",
        lambda: max(trained(0.01, 20)[1], key=lambda m: m.loss).step, 13, page="training"),
    # training.md: step 1
    "training: step 1 moves weights with a gradient by lr": claim(
        "on its first step every weight with a gradient moves by the learning rate, 0.01",
        "最初のステップでは勾配を持つ重みはどれも、勾配の大きさにかかわらず学習率 0.01 だけ動き"
        "ます",
        lambda: sorted(r > 0.99 for x, r in zip(*first_step()) if x != 0).count(False) <= 2,
        True, page="training"),
    "training: a weight without a gradient stays": claim(
        "A weight whose gradient is exactly 0, such as the row of a letter `mignon` does not "
        "contain, does not move at all.",
        "勾配がちょうど 0 の重みはまったく動きません",
        lambda: all(r == 0 for x, r in zip(*first_step()) if x == 0) and 0 in first_step()[0],
        True, page="training"),
    "training: the animation's frames": claim(
        "What the 27 frames show", "27 フレーム",
        lambda: len(re.findall(r"^// frame \d+$", (ROOT / "docs/img/training-step.dot")
                               .read_text(encoding="utf-8"), re.M)),
        27, page="training"),
    "training: frame 11, the dead MLP": claim(
        "In frame 11, `pos3/layer0` sends `‖flow‖ 0` to `layer0.mlp_fc1` and `layer0.mlp_fc2`",
        "フレーム 11 で `pos3/layer0` は `layer0.mlp_fc1` と `layer0.mlp_fc2` に `‖flow‖ 0` を"
        "送っています",
        lambda: all(f"{g}: 1024 edges, ‖flow‖ 0," in frame_caption(11)
                    for g in ("layer0.mlp_fc1", "layer0.mlp_fc2"))
        and "backward through pos3/layer0:" in frame_caption(11), True, page="training"),
    "training: the cylinders are on top": claim(
        "Each cylinder in the row on top collects a contribution from every position",
        "上に一列に並んだ円柱はどれも、すべての位置から寄与を集めます",
        lambda: cylinders_on_top(), True, page="training", exe=True),
    # training.md: the healthy run
    "training: the average starts at": claim(
        "the average starts near the dashed line (3.35 over the first 10 steps)",
        "平均は点線の近く（最初の 10 ステップで 3.35）から始まり",
        lambda: f"{loss_average('healthy')[9]:.2f}", "3.35", page="training"),
    "training: below the line for good from step 14": claim(
        "is below it for good from step 14", "ステップ 14 以降はずっと点線より下にあり",
        lambda: last_above_uniform(loss_average("healthy")) + 1, 14, page="training"),
    "training: the average at steps 50 and 200": claim(
        "(2.44 at step 50, 2.68 at step 200)", "（ステップ 50 で 2.44、ステップ 200 で 2.68）",
        lambda: (f"{loss_average('healthy')[49]:.2f}", f"{loss_average('healthy')[199]:.2f}"),
        ("2.44", "2.68"), page="training"),
    "training: query and key start small": claim(
        "`attn_wq` and `attn_wk` start at 0.004, about 20 times below the values' `attn_wv` (0."
        "089)",
        "`attn_wq` と `attn_wk` は 0.004 から始まり、バリューの `attn_wv`（0.089）のおよそ 20 "
        "分の 1",
        lambda: ({g2(norms("healthy", g)[0]) for g in QUERY_KEY},
                 g2(norms("healthy", "layer0.attn_wv")[0]),
                 round(norms("healthy", "layer0.attn_wv")[0]
                       / norms("healthy", "layer0.attn_wq")[0], -1)),
        ({"0.0041", "0.0039"}, "0.089", 20), page="training"),
    "training: query and key grow tenfold": claim(
        "grow more than tenfold (0.075 and 0.055 at step 200)",
        "10 倍以上に育ちます（ステップ 200 で 0.075 と 0.055）",
        lambda: ([g2(norms("healthy", g)[-1]) for g in QUERY_KEY],
                 all(norms("healthy", g)[-1] > 10 * norms("healthy", g)[0] for g in QUERY_KEY)),
        (["0.075", "0.055"], True), page="training"),
    "training: the healthy gradient flow": claim(
        "(here from 0.042 for `attn_wk` to 2.3 for `lm_head`)",
        "（ここでは `attn_wk` の 0.042 から `lm_head` の 2.3 まで）",
        lambda: flow_ends("healthy"), (("layer0.attn_wk", "0.042"), ("lm_head", "2.3")),
        page="training"),
    "training: the healthy MLP": claim(
        "At step 1 49% of the activations are 0 and 61 of the 64 units are on somewhere; at "
        "step 200, 75% are 0 and 47 units are still on somewhere in `mignon`",
        "ステップ 1 では活性の 49% が 0 で、64 ユニットのうち 61 個がどこかでオンです。ステップ"
        " 200 では 75% が 0 で、`mignon` のどこかでオンのユニットはまだ 47 個あります",
        lambda: (mlp_units("healthy", 1), mlp_units("healthy", 200)),
        (("49%", 61), ("75%", 47)), page="training"),
    "training: the healthy rule holds for the healthy run": claim(
        "it never climbs above the line again",
        "線より上には戻りません",
        lambda: all(x < UNIFORM for x in loss_average("healthy")[14:]), True,
        page="training"),
    # training.md: lr 0.1
    "training: lr 0.1, step 3": claim(
        "By step 3 a single name costs 7.69", "ステップ 3 で一つの名前の損失が 7.69",
        lambda: f"{losses('lr-too-high')[2]:.3g}", "7.69", page="training"),
    "training: lr 0.1, the average above the line": claim(
        "stays above the dashed line until step 52 (up to 5.94 at step 33) and goes back above "
        "it now and then until step 87",
        "10 ステップ平均はステップ 52 まで点線より上にとどまります（最大はステップ 33 の 5.94）"
        "。その後もステップ 87 までは、ときどき点線より上に戻ります",
        lambda: lr_high_average(), (52, "5.94", 33, 87), page="training"),
    "training: lr 0.1 ends higher": claim(
        "(2.73 against 2.68 over the last 10 steps)", "（2.68 に対して 2.73）",
        lambda: (f"{mean(losses('lr-too-high')[-10:]):.2f}",
                 f"{mean(losses('healthy')[-10:]):.2f}"),
        ("2.73", "2.68"), page="training"),
    "training: lr 0.1, growth by step 5": claim(
        "by step 5 every group's gradient is 2.8 to 209 times its start (`attn_wq` from 0.004 to "
        "0.75, `attn_wo` from 0.11 to 4.2)",
        "ステップ 5 までに、どのグループの勾配も最初の 2.8 倍から 209 倍になります（`attn_wq` "
        "は 0.004 から 0.75、`attn_wo` は 0.11 から 4.2）",
        lambda: (growth_by_step5("lr-too-high"),
                 [g2(norms("lr-too-high", g)[i]) for g in ("layer0.attn_wq", "layer0.attn_wo")
                  for i in (0, 4)]),
        (("2.8", "209"), ["0.0041", "0.75", "0.11", "4.2"]), page="training"),
    "training: lr 0.1, the MLP on mignon": claim(
        "Only one unit of 64 is on anywhere in `mignon`; 98% of the activations are 0",
        "`mignon` のどこかでオンになるユニットは 64 個のうち一つだけで、活性の 98% が 0 です",
        lambda: mlp_units("lr-too-high", 200), ("98%", 1), page="training"),
    "training: lr 0.1, units over every name": claim(
        "over all 5,163 names, 63 of the 64 units are on somewhere, but only two of them in more "
        "than 75 names (one unit in every name, another in 771)",
        "5,163 個の名前全体では 64 ユニットのうち 63 個がどこかでオンになりますが、75 個を超え"
        "る名前でオンになるのはそのうち二つだけです（一つはすべての名前で、もう一つは 771 個の"
        "名前で）",
        units_seen, (63, 2, [5163, 771], 5163), slow=True, page="training"),
    "training: lr 0.1, christiana": claim(
        "such as `christiana` with 60 units on", "60 ユニットがオンになる `christiana`",
        lambda: len(units_on_per_name(0.1)["christiana"]), 60, slow=True, page="training"),
    "training: lr 0.1, units per name": claim(
        "1.3 units are on per name on average, against 51.4 after the healthy run",
        "オンのユニットは名前一つあたり平均 1.3 個で、健全な実行のあとの 51.4 個",
        lambda: (f"{mean_units(0.1):.2g}", f"{mean_units(0.01):.3g}"), ("1.3", "51.4"), slow=True,
        page="training"),
    "training: lr 0.001": claim(
        "The loss average stays above the dashed line until step 45 and ends at 2.94",
        "損失の平均はステップ 45 まで点線より上にあり、最後は 2.94 で終わります",
        lambda: low_rate()[:2], (45, "2.94"), slow=True, page="training"),
    "training: lr 0.001, query and key growth": claim(
        "`attn_wq` and `attn_wk` grow only two to four times",
        "`attn_wq` と `attn_wk` も 10 倍以上ではなく 2 倍から 4 倍にしか育ちません",
        lambda: low_rate()[2], [2, 4], slow=True, page="training"),
    # training.md: alt texts
    "training alt: healthy loss": claim(
        "the thin per-step line wobbles between about 1.5 and 4; its 10-step moving average "
        "falls from 3.4 to about 2.4 by step 50",
        "細い線（ステップごと）は約 1.5 から 4 の間で揺れ、その 10 ステップ移動平均は 50 ステッ"
        "プ目までに 3.4 から約 2.4 まで下がり",
        lambda: (g2(min(losses("healthy"))), f"{max(losses('healthy')):.1g}",
                 g2(loss_average("healthy")[0]), g2(loss_average("healthy")[49])),
        ("1.5", "4", "3.4", "2.4"), page="training"),
    "training alt: healthy grad curves": claim(
        "the 10-step averages of the embeddings stay between 0.8 and 1.4 and that of lm_head "
        "between 1.4 and 2.5, the MLP and the value/output matrices between 0.08 and 0.6, the "
        "query and key matrices rise from 0.004 to about 0.08",
        "10 ステップ移動平均は、埋め込みが 0.8 から 1.4、lm_head が 1.4 から 2.5、MLP とバリュ"
        "ー・出力の行列が 0.08 から 0.6 の間にとどまり、クエリとキーの行列は 0.004 から約 0.08 "
        "まで上がる",
        lambda: (within_range(average_range("healthy", EMBEDDINGS), 0.8, 1.4),
                 within_range(average_range("healthy", ("lm_head",)), 1.4, 2.5),
                 within_range(average_range("healthy", MLP_VALUE_OUTPUT), 0.08, 0.6),
                 [g2(moving_average(norms("healthy", g), WINDOW)[-1]) for g in QUERY_KEY]),
        (True, True, True, ["0.076", "0.077"]), page="training"),
    "training alt: healthy gradient flow": claim(
        "lm_head 2.3, wte 0.89, wpe 0.93, the MLP and value/output matrices 0.27 to 0.34, query "
        "and key matrices 0.045 and 0.042",
        "lm_head 2.3、wte 0.89、wpe 0.93、MLP とバリュー・出力の行列 0.27 から 0.34、クエリとキ"
        "ーの行列 0.045 と 0.042",
        lambda: flow_values("healthy"),
        (["2.3", "0.89", "0.93"], ("0.27", "0.34"), ["0.045", "0.042"]), page="training"),
    "training alt: lr 0.1 loss": claim(
        "the per-step loss jumps to 7.7 at step 3 and up to 9.5; the moving average rises to "
        "about 5.9, far above the uniform-guess line, in the first 50 steps, then comes down to "
        "about 2.7",
        "ステップごとの損失はステップ 3 で 7.7 に跳ね、最大 9.5 に達する。移動平均は最初の 50 "
        "ステップで約 5.9 まで上がり",
        lambda: (g2(losses("lr-too-high")[2]), g2(max(losses("lr-too-high"))),
                 g2(max(loss_average("lr-too-high")[:50])), g2(loss_average("lr-too-high")[-1])),
        ("7.7", "9.5", "5.9", "2.7"), page="training"),
    "training alt: lr 0.1 gradient flow": claim(
        "the bars look unremarkable, from 0.076 to 1.5", "棒は 0.076 から 1.5 で",
        lambda: tuple(v for _, v in flow_ends("lr-too-high")), ("0.076", "1.5"),
        page="training"),
    "training alt: lr 0.1 MLP": claim(
        "one hidden unit of 64 is on, the same at every position; 98% of activations are 0",
        "64 個のうちオンの隠れユニットは一つだけで、どの位置でも同じユニット。活性の 98% が 0",
        lambda: (mlp_units("lr-too-high", 200), same_unit_everywhere("lr-too-high", 200)),
        (("98%", 1), True), page="training"),
    # questions.md
    "questions: attention weights reach attn_wq and attn_wk": claim(
        "from there to q and the keys and on to `attn_wq` and `attn_wk`. (`attn_wv` does not "
        "learn through the weights",
        "そこから q とキーへ、さらに `attn_wq` と `attn_wk` へと流れていきます（`attn_wv` は重"
        "みを通じては学習しません",
        learned_groups_behind_attention_weights, ["layer0.attn_wk", "layer0.attn_wq"],
        page="questions"),
    "questions: almost every weight moves": claim(
        "from step 10 on at least 94% of the 4,192 weights move at every step",
        "ステップ 10 以降、4,192 個の重みの少なくとも 94% が毎ステップ動きます",
        lambda: f"{math.floor(min(default_run()[2][9:]) * 100)}%", "94%", slow=True,
        page="questions"),
    "questions: momentum shrinks by about beta1": claim(
        "shrink with `m`, by about β1 = 0.85, at every further step without one",
        "`m` とともにおよそ β1 = 0.85 倍ずつ小さくなります",
        lambda: f"{0.85 / math.sqrt(0.99):.2f}", "0.85", page="questions"),
    # gpt.md: the default checkpoint on anna
    "gpt: a row used twice adds": claim(
        "Element 0 of `emb` gets gradient -0.0795 at position 1 and -0.4563 at position 4, so "
        "`wte[0][0].grad` is their sum, -0.5358",
        "`emb` の 0 番目の要素の勾配は位置 1 で -0.0795、位置 4 で -0.4563 なので、`wte[0][0].g"
        "rad` はその和の -0.5358 になります",
        emb0_grads, ("-0.0795", "-0.4563", "-0.5358"), page="gpt"),
    "gpt: the value, query and key matrices": claim(
        "`attn_wv` 0.6413, against `attn_wq` 0.1379 and `attn_wk` 0.1088",
        "`attn_wv` は 0.6413 で、`attn_wq` の 0.1379、`attn_wk` の 0.1088",
        lambda: tuple(g4(block_norms()[f"params/layer0.attn_w{m}"]) for m in "vqk"),
        ("0.6413", "0.1379", "0.1088"), page="gpt"),
    "gpt: the query learns nothing at position 0": claim(
        "Every `q` gradient at position 0 is exactly 0 in this trace",
        "位置 0 の `q` の勾配はすべてちょうど 0 です",
        lambda: q_grads_at(0), {0.0}, page="gpt"),
    "gpt: the weight at t=3": claim(
        "`w[t=3]` gets -0.06685", "`w[t=3]` の勾配は -0.06685 です",
        lambda: g4(node("L0.h2.w[t=3]", "pos4/")["grad"]),
        "-0.06685", page="gpt"),
    "gpt: the weighted average of the weights' grads": claim(
        "Here the weighted average of the weights' gradients is -0.04612",
        "ここでは重みの勾配の加重平均が -0.04612 なので",
        weighted_average_of_weight_grads, "-0.04612", page="gpt"),
    "gpt: the weight at t=2": claim(
        "`w[t=2]` also has a negative gradient (-0.03941)", "`w[t=2]` の勾配も負（-0.03941）ですが",
        lambda: g4(node("L0.h2.w[t=2]", "pos4/")["grad"]), "-0.03941", page="gpt"),
    "gpt: the five score gradients sum to 0": claim(
        "The five score gradients (0.00807, 0.002484, 0.001803, -0.01062, -0.001739) sum to 0",
        "五つのスコアの勾配（0.00807、0.002484、0.001803、-0.01062、-0.001739）を足すと 0 です",
        lambda: ([g4(g) for g in score_grads()], abs(sum(score_grads())) < 1e-12),
        (["0.00807", "0.002484", "0.001803", "-0.01062", "-0.001739"], True), page="gpt"),
    "gpt: heads 2 and 3 pick out the n": claim(
        "(weights 0.5123 and 0.4600) and give the first `a` almost nothing (0.0292 and 0.0272)",
        "（重み 0.5123 と 0.4600）、最初の `a` にはほとんど重みを置きません（0.0292 と 0.0272）",
        lambda: ([f"{head_weights(h)[3]:.4f}" for h in (2, 3)],
                 [f"{head_weights(h)[1]:.4f}" for h in (2, 3)]),
        (["0.5123", "0.4600"], ["0.0292", "0.0272"]), page="gpt"),
    "gpt: head 0 spreads its weight": claim(
        "spreads its weight almost evenly (every weight between 0.1711 and 0.2407)",
        "重みをほぼ均等に配っています（どの重みも 0.1711〜0.2407）",
        lambda: (f"{min(head_weights(0)):.4f}", f"{max(head_weights(0)):.4f}"),
        ("0.1711", "0.2407"), page="gpt"),
    "gpt: head 1 leans to the n": claim(
        "leans a little towards the two `n`s (0.2730 and 0.2607)",
        "二つの `n` にやや傾いていますが（0.2730 と 0.2607）",
        lambda: [f"{head_weights(1)[t]:.4f}" for t in (2, 3)], ["0.2730", "0.2607"],
        page="gpt"),
    "gpt: head grad norms": claim(
        "Head 1 has the smallest grad norm at every position (0.01347 to 0.02008), and head 3 "
        "the largest at positions 0 to 3 (head 2 at position 4)",
        "ヘッド 1 の勾配ノルムはどの位置でも最小で（0.01347〜0.02008）、ヘッド 3 は位置 0〜3 で"
        "最大です（位置 4 ではヘッド 2）",
        smallest_and_largest_heads, ({1}, [3, 3, 3, 3, 2], "0.01347", "0.02008"), page="gpt"),
    "gpt: open gates per position": claim(
        "3, 11, 1, 0 and **16** of the 64 units are active at positions 0 to 4",
        "位置 0〜4 で、64 個のゲートのうち 3、11、1、0、**16** 個が開いています",
        gates_open, [3, 11, 1, 0, 16], page="gpt"),
    "gpt: every relu input negative at position 3": claim(
        "every one of the 64 inputs of `relu` is negative (the largest is -0.0702)",
        "`relu` への 64 個の入力がすべて負です（最大でも -0.0702）",
        lambda: f"{largest_fc1_at(3):.3g}", "-0.0702", page="gpt"),
    "gpt: the rmsnorms at position 3": claim(
        "At position 3 the embedding sum has root mean square 0.2677 and is multiplied by "
        "`scale` = 3.735; the input of attention already has root mean square 1.000",
        "埋め込みの和の二乗平均平方根は 0.2677 で、`scale` = 3.735 が掛けられます。アテンション"
        "への入力はすでに 1.000",
        rmsnorms_at_3, ("0.2677", "1.000", "1.005"), page="gpt"),
    "gpt: rmsnorm turns the gradient": claim(
        "the outputs' gradients have length 0.1018; times the scale that would be 0.380, but what "
        "reaches `emb` is only 0.3594, and it is at right angles to `emb`: their dot product is "
        "-0.0000185, while the lengths are 1.071 and 0.3594",
        "出力の勾配の長さは 0.1018 で、`scale` を掛ければ 0.380 になるはずですが、`emb` に届く"
        "分は 0.3594 しかなく、しかも `emb` と直交しています。内積は -0.0000185 で、長さはそれ"
        "ぞれ 1.071 と 0.3594",
        rmsnorm_gradient_turns, ("0.1018", "0.3594", "-1.85e-05", "1.071"), page="gpt"),
}


def within_range(found, low, high):
    return low <= found[0] and found[1] <= high


def flow_ends(name):
    grads = snapshot(name, 200)["grad_norm"]
    low, high = min(grads, key=grads.get), max(grads, key=grads.get)
    return (low, g2(grads[low])), (high, g2(grads[high]))


def flow_values(name):
    grads = snapshot(name, 200)["grad_norm"]
    middle = [grads[g] for g in MLP_VALUE_OUTPUT]
    return ([g2(grads[g]) for g in ("lm_head", "wte", "wpe")], (g2(min(middle)), g2(max(middle))),
            [g2(grads[g]) for g in QUERY_KEY])


def same_unit_everywhere(name, step):
    rows = [row for layer in snapshot(name, step)["mlp"] for row in layer]
    return len({tuple(j for j, a in enumerate(row) if a > 0) for row in rows}) == 1


def lr_high_average():
    averages = loss_average("lr-too-high")
    first_below = next(i + 1 for i, x in enumerate(averages) if i > 5 and x < UNIFORM)
    top = max(range(len(averages)), key=averages.__getitem__)
    return first_below - 1, f"{averages[top]:.2f}", top + 1, last_above_uniform(averages)


def frame_caption(number):
    text = (ROOT / "docs/img/training-step.dot").read_text(encoding="utf-8")
    return text.split(f"// frame {number}\n", 1)[1].split("// frame ", 1)[0]


def cylinders_on_top():
    """Graphviz's layout of the animation: the weight cylinders share one row, above
    every block."""
    dot = (ROOT / "docs/img/training-step.dot").read_text(encoding="utf-8")
    cylinders = set(re.findall(r'^\s*(\w+) \[[^\n]*shape="cylinder"', dot, re.M))
    blocks = set(re.findall(r'^\s*(\w+) \[[^\n]*class="block"', dot, re.M)) - cylinders
    plain = subprocess.run(["dot", "-Tplain"], input=dot, capture_output=True, text=True,
                           check=True).stdout
    y = {words[1]: float(words[3]) for words in map(str.split, plain.splitlines())
         if words[0] == "node"}
    rows = {y[n] for n in cylinders}
    return len(cylinders) == 9 and len(rows) == 1 and min(rows) > max(y[n] for n in blocks)


def params():
    return [pytest.param(c, id=name, marks=[getattr(pytest.mark, m) for m in c.marks])
            for name, c in CLAIMS.items()]


def test_every_claim_is_checked_in_both_languages():
    missing = [name for name, c in CLAIMS.items()
               if not any(page.startswith("docs/ja/") for page in c.quotes)]
    assert len(CLAIMS) >= 80 and not missing, missing


@pytest.mark.parametrize("claim_", [pytest.param(c, id=n) for n, c in CLAIMS.items()])
def test_the_page_says_it(claim_):
    for page, quote in claim_.quotes.items():
        assert flat(quote) in page_text(page), f"{page} no longer says: {quote}"


@pytest.mark.parametrize("claim_", params())
def test_the_run_says_it(claim_):
    assert claim_.fact() == claim_.shown


PARTS = {image.name for diagram in DIAGRAMS for image in diagram.images[1:]}


def alt_texts():
    """(alt text, what its figure shows) for every figure drawn from a .dot: the DOT
    source, or for a part of a diagram (crop_svg) the text drawn inside its frame."""
    for page in sorted((ROOT / "docs").rglob("*.md")):
        for alt, image in re.findall(r"!\[([^\]]*)\]\(((?:\.\./)?img/[^)]+)\)",
                                     page.read_text(encoding="utf-8")):
            dot = (page.parent / image).with_suffix(".dot")
            shown = None
            if dot.exists():
                shown = dot.read_text(encoding="utf-8")
            elif Path(image).name in PARTS:
                shown = framed_text((page.parent / image).read_text(encoding="utf-8"))
            if shown is not None:
                yield pytest.param(alt, shown, id=f"{page.relative_to(ROOT)}:{image}")


def framed_text(svg: str) -> str:
    """The <text> of an SVG whose anchor point lies inside its viewBox, one a line."""
    left, top, width, height = map(float, re.search(r'viewBox="([^"]*)"', svg).group(1).split())
    dx, dy = map(float, re.search(r"translate\(([-\d.]+) ([-\d.]+)\)", svg).groups())
    return "\n".join(
        html.unescape(text) for x, y, text in re.findall(
            r'<text\b[^>]*\sx="([-\d.]+)" y="([-\d.]+)"[^>]*>([^<]*)</text>', svg)
        if left <= float(x) + dx <= left + width and top <= float(y) + dy <= top + height)


def test_framed_text_keeps_what_the_frame_shows():
    svg = ('<svg viewBox="10.00 0.00 20.00 20.00"><g transform="scale(1 1) rotate(0) '
           'translate(4 20)"><text x="10" y="-10">in &#39;a&#39;</text>'
           '<text x="40" y="-10">out</text></g></svg>')
    assert framed_text(svg) == "in 'a'"


@pytest.mark.parametrize("alt, source", list(alt_texts()))
def test_every_number_an_alt_text_quotes_is_in_its_figure(alt, source):
    """The figure prints 4 significant digits; the alt text may quote more."""
    for number in re.findall(r"-?\d+(?:\.\d+)?(?:e-?\d+)?", alt):
        assert number in source or f"{float(number):.4g}" in source, number
