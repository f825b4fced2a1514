"""The numbers the figure sections of the docs quote, checked against the runs they
come from: each test finds the sentence in the chapter (English and Japanese) and
recomputes its numbers.

The runs are read from the sources committed in docs/img, which `docs --check`
(tests/cli/test_docs_cli.py) holds equal to what the tool computes now; they are
rounded to 4 significant digits, so the claims are checked at the precision quoted.
"""

import json
import math
from pathlib import Path

import pytest

from microgpt_trace.docs_build import ADAM_PLOTS, IMG_DIR
from microgpt_trace.microgpt.adam_explained import adam_numbers, largest_step
from microgpt_trace.microgpt.train import TrainConfig

ROOT = Path(__file__).resolve().parents[2]


def chapter(name, lang="en"):
    folder = ROOT / "docs" if lang == "en" else ROOT / "docs" / "ja"
    return " ".join((folder / name).read_text(encoding="utf-8").split())


def says(name, *phrases, lang="en"):
    """Every phrase is in the chapter (whitespace and line breaks normalised)."""
    text = chapter(name, lang)
    for phrase in phrases:
        assert " ".join(phrase.split()) in text, f"{lang}/{name} no longer says {phrase!r}"


def jsonl(path):
    return [json.loads(line) for line in (ROOT / path).read_text(encoding="utf-8").splitlines()]


@pytest.fixture(scope="module")
def adam_run():
    (plot,) = ADAM_PLOTS
    header, *records = jsonl(plot.source)
    assert header["param"] == plot.param == "layer0.mlp_fc2[3][58]"
    return header, {r["step"]: r for r in records}


def ratio(header, r):
    return r["m_hat"] / (r["v_hat"] ** 0.5 + header["eps"])


def test_adam_run_largest_step_and_how_rare(adam_run):
    header, steps = adam_run
    assert len(steps) == 1000
    step, size = largest_step(header, list(steps.values()))
    assert (step, round(size, 2)) == (584, 2.26)
    # step 1 is 1 - 1e-8 / |g| exactly, a hair above 1 in the rounded source
    assert sum(abs(ratio(header, r)) > 1.001 for r in steps.values()) == 12
    assert sum(abs(ratio(header, r)) < 0.1 for r in steps.values()) == 504
    says("adam.md", "at step 584 the weight moves 2.26 × lr_t", "in 12 of the 1000 steps",
         "In 504 of the 1000 steps it is below 0.1 in size")
    says("adam.md", "ステップ 584 では重みが 2.26 × lr_t 動きます", "1000 ステップのうち 12 ステップ",
         "1000 ステップのうち 504 ステップでは大きさが 0.1 未満", lang="ja")


def test_adam_run_zero_gradients(adam_run):
    _, steps = adam_run
    assert sum(r["grad"] == 0 for r in steps.values()) == 581
    assert round(max(r["grad"] for r in steps.values()), 3) == 0.044  # the alt text's burst
    says("adam.md", "In 581 of the 1000 steps it is exactly 0")
    says("adam.md", "1000 ステップのうち 581 ステップではちょうど 0", lang="ja")


def test_adam_run_burst_before_step_584(adam_run):
    header, steps = adam_run
    assert round(max(abs(steps[s]["grad"]) for s in range(549, 579)), 4) == 0.0087
    assert round(steps[578]["v_hat"] ** 0.5, 4) == 0.0031
    burst = [steps[s]["grad"] for s in range(579, 585)]
    assert [round(g, 4) for g in burst] == [0.0152, 0.0095, 0.029, 0.0084, 0.0219, 0.0445]
    assert 5 <= max(burst) / 0.0087 < 5.5  # "up to five times as large"
    r = steps[584]
    assert (round(r["m"], 4), round(r["m_hat"], 5), round(r["v_hat"] ** 0.5, 5)) == (
        0.0152, 0.0152, 0.00674)
    assert 2 < r["v_hat"] ** 0.5 / steps[578]["v_hat"] ** 0.5 < 2.5  # "a little more than doubles"
    assert round(0.01520 / 0.00674, 2) == 2.26
    assert (r["lr_t"], round(r["delta"], 4)) == (0.00417, 0.0094)
    says("adam.md", "0.0152, 0.0095, 0.029, 0.0084, 0.0219 and 0.0445 at steps 579 to 584",
         "at most 0.0087 in size", "√v̂ was 0.0031", "0.01520 / 0.00674 = **2.26**",
         "`lr_t` has decayed to 0.00417, so the weight moves 0.0094")
    says("adam.md", "0.0152、0.0095、0.029、0.0084、0.0219、0.0445", "0.01520 / 0.00674 = **2.26**",
         "0.00417", "0.0094", lang="ja")


def test_adam_run_first_step_is_lr_t(adam_run):
    header, steps = adam_run
    first = steps[1]
    assert first["lr_t"] == 0.01 and abs(first["delta"]) == 0.01
    assert math.isclose(abs(ratio(header, first)), 1, rel_tol=1e-3)
    # exactly, by the algebra: m_hat = g and v_hat = g**2 at t = 1
    a = adam_numbers(TrainConfig(), 0, 0.5, -0.3, 0.0, 0.0)
    assert a["m_hat"] == -0.3 and math.isclose(a["v_hat"], 0.09)
    assert math.isclose(a["delta"], -0.01, rel_tol=1e-7)


def test_bias_corrections_and_decayed_rate(adam_run):
    header, steps = adam_run
    b1, b2 = header["beta1"], header["beta2"]
    assert min(t for t in range(1, 1001) if 1 - b1 ** t > 0.99) == 29
    assert min(t for t in range(1, 1001) if 1 - b2 ** t > 0.99) == 459
    assert f"{1 - b2 ** 1000:.6f}" == "0.999957"
    assert (steps[1]["correction1"], steps[1]["correction2"]) == (0.15, 0.01)
    assert (steps[1]["lr_t"], steps[1000]["lr_t"]) == (0.01, 0.00001)
    assert (round(1 / (1 - b1)), round(1 / (1 - b2))) == (7, 100)  # the memories
    says("adam.md", "above 0.99 from step 29 on", "above 0.99 only from step 459",
         "still 0.999957", "from 0.01 at step 1 to 0.00001 at step 1000",
         "a memory of about 7 steps", "about 100 steps")
    says("adam.md", "ステップ 29 以降", "ステップ 459", "0.999957", "0.00001", lang="ja")


def worst_case_ratio(steps, b1=0.85, b2=0.99):
    """m_hat / sqrt(v_hat) after `steps` gradients chosen to make it as large as it can
    be at the last step (the equality case of Cauchy-Schwarz: g_k ∝ ((b1/b2)**age))."""
    tc = TrainConfig(steps=steps, beta1=b1, beta2=b2)
    m = v = 0.0
    for step in range(steps):
        g = (b1 / b2) ** (steps - 1 - step)
        numbers = adam_numbers(tc, step, 0.0, g, m, v)
        m, v = numbers["m"], numbers["v"]
    return numbers["m_hat"] / numbers["v_hat"] ** 0.5


def test_no_step_exceeds_the_cauchy_schwarz_bound(adam_run):
    header, steps = adam_run
    b1, b2 = header["beta1"], header["beta2"]
    bound = math.sqrt((1 - b1) ** 2 / (1 - b2) / (1 - b1 ** 2 / b2))
    assert round(bound, 2) == 2.89
    assert all(abs(ratio(header, r)) <= bound for r in steps.values())
    reached = worst_case_ratio(2000)
    assert bound - 1e-3 < reached <= bound + 1e-12  # the worst gradients reach it
    assert all(worst_case_ratio(n) <= bound + 1e-12 for n in (1, 10, 100, 300))
    says("adam.md", "√(0.15² / 0.01 / (1 − 0.85² / 0.99)) ≈ 2.89 × lr_t")
    says("adam.md", "√(0.15² / 0.01 / (1 − 0.85² / 0.99)) ≈ 2.89 × lr_t", lang="ja")


def test_adam_run_image_is_committed():
    assert (ROOT / IMG_DIR / "adam-run.png").read_bytes().startswith(b"\x89PNG")


# docs/experiments.md: the runs of PANELS, read back from their committed logs

def run_log(name):
    records = jsonl(IMG_DIR / f"{name}.jsonl")
    kinds = {kind: [r for r in records if r["type"] == kind] for kind in ("step", "snapshot",
                                                                         "sample")}
    return kinds["step"], kinds["snapshot"], kinds["sample"]


TABLE = {  # run -> (the chapter's row: mean ± standard error, snapshot loss, samples)
    "train-healthy": ("", "2.428 ± 0.041", "2.364", "arne, dane, jaria, many, mana"),
    "exp-no-attention": ("`--no-attention`", "2.428 ± 0.041", "2.331",
                         "arne, dane, jaria, man, sara"),
    "exp-no-mlp": ("`--no-mlp`", "2.425 ± 0.039", "2.358", "aorita, jata, sadeta, sona, dyla"),
    "exp-tanh": ("`--activation tanh`", "2.437 ± 0.040", "2.352",
                 "apshon, jata, saione, sona, dyla"),
    "exp-embd4": ("`--embd 4`", "2.532 ± 0.030", "2.545", "aere, caiita, rea, mairo, lae"),
    "exp-layers3": ("`--layers 3`", "2.433 ± 0.041", "2.356", "anin, cani, elila, man, sana"),
    "exp-layers3-no-residual": ("`--layers 3 --no-residual`", "2.780 ± 0.027", "2.967",
                                "al, l, aeer, ea, iarlae"),
}


def last_100(steps):
    import statistics

    losses = [s["loss"] for s in steps][-100:]
    return statistics.mean(losses), statistics.stdev(losses) / len(losses) ** 0.5


@pytest.mark.parametrize("name", TABLE)
def test_experiments_table_row(name):
    from microgpt_trace.docs_build import PANELS

    flags, loss, snapshot, samples = TABLE[name]
    (panels,) = [p for p in PANELS if p.name == name]
    assert flags.strip("`") in panels.commands[0]
    steps, snapshots, sampled = run_log(name)
    assert len(steps) == 200 and snapshots[-1]["step"] == 200
    mean, error = last_100(steps)
    assert f"{mean:.3f} ± {error:.3f}" == loss
    assert f"{snapshots[-1]['loss']:.3f}" == snapshot
    assert sampled[-1]["step"] == 200 and ", ".join(sampled[-1]["samples"]) == samples
    assert sampled[-1]["temperature"] == 0.5
    row = f"| {flags} | {loss} | {snapshot} | {samples} |"
    says("experiments.md", row)
    says("experiments.md", row, lang="ja")


def test_experiments_noise_and_what_stands_out():
    errors = [last_100(run_log(name)[0])[1] for name in TABLE]
    assert 0.025 < min(errors) and max(errors) < 0.045  # "about ±0.04"
    healthy = last_100(run_log("train-healthy")[0])[0]
    others = {name: last_100(run_log(name)[0])[0] - healthy for name in TABLE}
    assert sorted(name for name, d in others.items() if abs(d) > 0.1) == [
        "exp-embd4", "exp-layers3-no-residual"]  # "Two runs stand out"
    # the narrow embedding: "a difference about twice the noise" (of the difference)
    noise = math.hypot(last_100(run_log("exp-embd4")[0])[1], last_100(run_log(
        "train-healthy")[0])[1])
    assert 1.8 < others["exp-embd4"] / noise < 2.2


def test_experiments_flags_are_recorded_in_the_log():
    from microgpt_trace.docs_build import PANELS

    for panels in PANELS:
        config = jsonl(panels.source)[0]["config"]
        assert {k: config[k] for k, _ in panels.model} == dict(panels.model)


def test_experiments_switched_off_parts_get_no_gradient():
    for name, part in (("exp-no-attention", "attn"), ("exp-no-mlp", "mlp")):
        steps, snapshots, _ = run_log(name)
        for record in steps + snapshots:
            off = [v for group, v in record["grad_norm"].items() if part in group]
            assert len(off) in (2, 4) and set(off) == {0.0}
    flow = run_log("exp-no-attention")[1][-1]["grad_norm"]
    healthy = run_log("train-healthy")[1][-1]["grad_norm"]
    assert (round(flow["wte"], 2), round(healthy["wte"], 2)) == (0.87, 0.89)
    assert [round(flow[g], 2) for g in ("wpe", "lm_head", "layer0.mlp_fc1",
                                        "layer0.mlp_fc2")] == [0.93, 2.15, 0.37, 0.33]
    says("experiments.md", "`wte` 0.87 against 0.89", "(2.425 against 2.428)")


def test_experiments_tanh_has_no_zero_and_negative_activations():
    activations = [a for row in run_log("exp-tanh")[1][-1]["mlp"][0] for a in row]
    assert len(activations) == 448 == 7 * 64 and 0.0 not in activations
    assert (round(min(activations), 2), round(max(activations), 2)) == (-0.95, 0.87)
    relu = [a for row in run_log("train-healthy")[1][-1]["mlp"][0] for a in row]
    assert round(relu.count(0.0) / len(relu), 2) == 0.75
    says("experiments.md", "75% of the MLP's activations on `mignon` are exactly 0",
         "none of its 448 activations here (7 positions × 64 units) is 0",
         "from −0.95 to 0.87 here", "(2.437 against 2.428)")


def moving(name):
    from microgpt_trace.renderers.panels.data import moving_average

    return list(moving_average([s["loss"] for s in run_log(name)[0]], 10))


def test_experiments_loss_alt_texts():
    uniform = math.log(27)
    no_mlp, embd4, healthy = moving("exp-no-mlp"), moving("exp-embd4"), moving("train-healthy")
    assert min(i + 1 for i in range(200) if all(m < uniform for m in no_mlp[i:])) == 15
    assert f"{no_mlp[-1]:.2f}" == "2.67"
    assert (f"{embd4[49]:.2f}", f"{healthy[49]:.2f}", f"{embd4[-1]:.2f}") == (
        "2.85", "2.44", "2.69")
    deep = moving("exp-layers3-no-residual")
    assert (f"{min(deep[49:]):.2f}", f"{max(deep[49:]):.2f}", f"{deep[-1]:.2f}") == (
        "2.57", "3.00", "2.86")
    says("experiments.md", "below the uniform-guess line for good from step 15 and ends at 2.67",
         "2.85 at step 50 (healthy: 2.44), and ends at 2.69",
         "stays between 2.57 and 3.00, and ends at 2.86")


def test_experiments_vanishing_gradient_numbers():
    with_res, without = run_log("exp-layers3")[1], run_log("exp-layers3-no-residual")[1]
    flow, flat = without[-1]["grad_norm"], with_res[-1]["grad_norm"]
    fc2 = [flow[f"layer{i}.mlp_fc2"] for i in (2, 1, 0)]
    assert [f"{v:.2g}" for v in fc2] == ["0.45", "0.0033", "8.2e-05"]
    assert all(40 < a / b < 140 for a, b in zip(fc2, fc2[1:]))  # "a factor of 40 to 140"
    assert [f"{flat[f'layer{i}.mlp_fc2']:.2f}" for i in (2, 1, 0)] == ["0.13", "0.21", "0.25"]
    mlps = [flat[f"layer{i}.mlp_{m}"] for i in range(3) for m in ("fc1", "fc2")]
    assert (f"{min(mlps):.2f}", f"{max(mlps):.2f}") == ("0.13", "0.28")
    assert (f"{flat['wte']:.2f}", f"{flow['wte']:.2g}") == ("0.88", "5.1e-06")
    assert 165_000 < flat["wte"] / flow["wte"] < 175_000  # "about 170,000 times less"
    steps_without = run_log("exp-layers3-no-residual")[0]
    wte = [s["grad_norm"]["wte"] for s in steps_without]
    assert (f"{wte[0]:.3g}", f"{max(wte[3:]):.2g}", wte[-1]) == ("0.164", "0.0043", 7.316e-06)
    assert round(run_log("exp-layers3")[0][0]["grad_norm"]["wte"] / wte[0]) == 7
    with_wte = [s["grad_norm"]["wte"] for s in run_log("exp-layers3")[0]]
    assert (f"{min(with_wte):.2f}", f"{max(with_wte):.1f}") == ("0.59", "2.4")
    every = [v for s in run_log("exp-layers3")[0] for v in s["grad_norm"].values()]
    assert 0.004 < min(every) and max(every) < 4.2  # "between about 0.004 and 4"
    says("experiments.md", "`mlp_fc2` 0.13 in\nlayer 2, 0.21 in layer 1, 0.25 in layer 0",
         "`mlp_fc2` gets 0.45 in layer 2, 0.0033 in layer 1 and 0.000082 in layer 0",
         "get 0.0000051, about 170,000 times less", "0.164 at\nstep 1",
         "at most 0.0043 from\nstep 4 on, and 0.0000073 at step 200",
         "between 0.59 and 2.4", "2.780, against 2.433")
    says("experiments.md", "0.45、layer 1 で 0.0033、layer 0 で 0.000082", "約 170,000 分の 1",
         "最大でも 0.0043", lang="ja")


def test_experiments_exploding_gradient_numbers():
    from itertools import islice

    from microgpt_trace.microgpt.data import DEFAULT_DATA, load_docs
    from microgpt_trace.microgpt.train import start, train_steps

    state = start(load_docs(DEFAULT_DATA), TrainConfig(steps=200, lr=0.5))
    steps = list(islice(train_steps(state), 4))
    assert [f"{s.loss:.4f}" for s in steps] == ["3.3962", "38.9412", "218.6198", "337.3847"]
    assert [f"{s.grad_norm['lm_head']:.3g}" for s in steps[:3]] == ["1.43", "62.8", "128"]
    assert all(math.isnan(v) for v in steps[3].grad_norm.values())
    assert 0.5 / 0.08 == 6.25  # "six times the typical size", init std 0.08
    says("experiments.md", "goes from 1.43 at step 1 to 62.8 at step 2 and 128 at step 3",
         "jumps from 3.40 to 38.9")
    says("experiments.md", "ステップ 1 の 1.43 から、ステップ 2 で 62.8、ステップ 3 で 128", lang="ja")


def test_experiments_exercise_answers():
    """The numbers the three answers give (two short runs and one of 200 steps)."""
    from itertools import islice

    from microgpt_trace.microgpt.data import DEFAULT_DATA, load_docs
    from microgpt_trace.microgpt.train import start, train_steps

    docs = load_docs(DEFAULT_DATA)
    run = train_steps(start(docs, TrainConfig(steps=200, lr=0.2)))
    losses = [m.loss for m in islice(run, 16)]
    assert (f"{losses[2]:.1f}", f"{max(losses):.1f}", losses.index(max(losses)) + 1) == (
        "19.7", "82.7", 11)
    with pytest.raises(ValueError, match="math domain error"):
        next(run)  # step 17: log(0)
    first = {}
    for part in ("attention", "mlp"):
        (m,) = train_steps(start(docs, TrainConfig(steps=1), **{part: False}))
        first[part] = m.grad_norm["layer0.attn_wq"]
    assert first["attention"] == 0.0 and f"{first['mlp']:.3g}" == "0.00398"
    state = start(docs, TrainConfig(steps=200), residual=False)
    *_, last = train_steps(state, probe_every=200)
    assert f"{last.probe.grad_norm['wte']:.2f}" == "0.29"
    assert round(0.887 / last.probe.grad_norm["wte"]) == 3  # "three times less"
    says("experiments.md", "19.7 by step 3", "82.7 at step 11", "at step 17",
         "it is 0.00398", "0.29 at step 200, three times less")
    says("experiments.md", "19.7", "82.7", "ステップ 17", "0.00398", "0.29", lang="ja")


# docs/training.md: the panels of the healthy run at steps 1 and 200

def healthy_snapshots():
    return {s["step"]: s for s in run_log("train-healthy")[1]}


def test_training_gradient_norms_do_not_shrink():
    steps = run_log("train-healthy")[0]
    ratios = {}
    for group in steps[0]["grad_norm"]:
        norms = [s["grad_norm"][group] for s in steps]
        ratios[group] = (sum(norms[-10:]) / 10) / (sum(norms[:10]) / 10)
    assert min(ratios.values()) >= 1  # "at least as large ... for every group"
    assert [f"{ratios[g]:.2f}" for g in ("wte", "lm_head", "layer0.mlp_fc1")] == [
        "1.03", "1.33", "1.74"]
    assert f"{ratios['layer0.attn_wq']:.1f}" == "8.3"
    mean, _ = last_100(steps)
    assert round(mean, 1) == 2.4  # "it stays around 2.4 nats"
    says("training.md", "`wte` 1.03 times, `lm_head` 1.33 times, the MLP's `mlp_fc1` 1.74 "
         "times, and `attn_wq`\n8.3 times")
    says("training.md", "`wte` は 1.03 倍、`lm_head` は 1.33 倍、MLP の `mlp_fc1` は 1.74 倍、"
         "`attn_wq` は 8.3 倍", lang="ja")


def first_axis(snapshot, vocab):
    """Each token's coordinate on the first principal axis, as the embedding panel draws it."""
    import numpy as np

    from microgpt_trace.renderers.panels.data import pca_basis

    w = np.array(snapshot["wte"])
    coords = (w - w.mean(axis=0)) @ pca_basis(w).T
    return {token: round(float(c), 2) for token, c in zip(vocab, coords[:, 0])}


def test_training_embedding_vowels_move_together():
    import numpy as np

    header = jsonl(IMG_DIR / "train-healthy.jsonl")[0]
    vocab = list(header["chars"]) + ["BOS"]
    snaps = healthy_snapshots()
    late, early = first_axis(snaps[200], vocab), first_axis(snaps[1], vocab)
    assert (late["a"], late["o"], late["e"]) == (0.49, 0.46, 0.45)
    assert late["i"] == late["y"] == late["f"] == 0.23
    rest = {t: c for t, c in late.items() if t not in "aoeiyf" and t != "BOS"}
    assert max(rest.values()) == 0.09
    top = sorted(early, key=early.get, reverse=True)[:5]
    assert early["a"] == 0.15 and set(top) == {"v", "q", "l", "d", "a"}
    w = np.array(snaps[200]["wte"])
    sv = np.linalg.svd(w - w.mean(axis=0), compute_uv=False)
    assert f"{(sv[:2] ** 2).sum() / (sv ** 2).sum():.0%}" == "39%"
    says("training.md", "(0.49, 0.46 and 0.45), followed by `i`, `y` and `f` (0.23 each); "
         "no other letter is\nabove 0.09", "on the first axis `a` (0.15) sits among `v`, `q`, "
         "`l` and `d`", "they hold 39% of the\nvariance")
    says("training.md", "（0.49、0.46、0.45）", "0.09 を超える", "分散の 39%", lang="ja")


def test_training_attention_spreads_then_specialises():
    snaps = healthy_snapshots()
    heads = snaps[1]["attn"][0]
    excess = max(max(row[:i + 1]) - 1 / (i + 1) for head in heads for i, row in enumerate(head))
    assert 0.05 < excess <= 0.06  # "at most 0.06 above the even share"
    late = snaps[200]["attn"][0]
    own = [max(range(i + 1), key=late[3][i].__getitem__) for i in range(1, 6)]
    assert own == [1, 2, 3, 4, 5]  # head 3: the query's own position at positions 1 to 5
    assert snaps[200]["tokens"][1] == "m" and round(late[2][1][1], 2) == 0.83
    says("training.md", "at most 0.06 above the even share",
         "head 3 puts its largest weight on\nthe query's own position at positions 1 to 5",
         "head 2 gives 0.83 to `m` itself")
    says("training.md", "高々 0.06", "位置 1〜5", "0.83", lang="ja")


def test_training_residual_stream_grows_and_keeps_its_direction():
    from microgpt_trace.renderers.panels.data import residual_summary

    shown = {}
    for step, snapshot in healthy_snapshots().items():
        r = residual_summary(snapshot["residual"])
        shown[step] = ([f"{v:.2f}" for v in r["norm_mean"]], f"{max(r['norm_max']):.2f}",
                       [float(f"{c:.3g}") for c in r["cosine_mean"]])
    assert shown[1][0] == ["4.00", "4.00", "4.18"] and shown[1][2] == [0.999, 0.99]
    assert shown[200][0] == ["4.00", "4.74", "6.50"] and shown[200][1] == "8.56"
    assert shown[200][2] == [0.954, 0.96]
    says("training.md", "(cosine 0.999 and 0.99)", "(cosines 0.954 and 0.96)",
         "the norm grows to 6.50 on average after the MLP")
    says("training.md", "平均 6.50", "（コサイン 0.954 と 0.96）", lang="ja")


def test_backprop_opening_animation_has_three_frames():
    dot = (ROOT / IMG_DIR / "worked-backward.dot").read_text(encoding="utf-8")
    assert [line for line in dot.splitlines() if line.startswith("// frame")] == [
        "// frame 1", "// frame 2", "// frame 3"]
    says("backprop.md", "The whole of this section in three frames")
    says("backprop.md", "三フレームで示した", lang="ja")
