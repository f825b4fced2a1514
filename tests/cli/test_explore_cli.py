"""`explore`: the wiring (one page written, what it says on stderr) and the refusals.
What the page shows is tested in tests/renderers/explorer/ and tests/tracer/."""

import base64
import gzip
import json
import re

import pytest

from .runner import assert_one_line_error, invoke


def views_of(page):
    data = json.loads(re.search(r'<script id="explorer-data" type="application/json">(.*?)'
                                r'</script>', page, re.S).group(1))
    return {v["scope"]: v for v in data["views"]}


def record(view):
    return json.loads(gzip.decompress(base64.b64decode(view["payload"])))


@pytest.mark.exe
def test_an_expression_is_one_view(tmp_path):
    out = tmp_path / "x.html"
    result = invoke("explore", "a*b+a", "--set", "a=2", "--set", "b=3", "-o", out)
    assert result.exit_code == 0, result.output
    assert re.fullmatch(rf"wrote {re.escape(str(out))} \(1 view, \d+ kB\)\n", result.stderr)
    views = views_of(out.read_text(encoding="utf-8"))
    assert list(views) == [""] and views[""]["kind"] == "expression"
    nodes = record(views[""])["nodes"]
    assert sorted((f["name"], f["grad"]) for f in nodes.values()) == [
        ("a", 4.0), ("a*b", 1.0), ("a*b + a", 1.0), ("b", 2.0)]


@pytest.mark.exe
@pytest.mark.slow
def test_a_text_opens_on_its_blocks(tiny_checkpoint, tmp_path):
    out = tmp_path / "m.html"
    result = invoke("explore", "--text", "ab", "--checkpoint", tiny_checkpoint,
                    "--max-nodes", "120", "--depth", "2", "-o", out)
    assert result.exit_code == 0, result.output
    views = views_of(out.read_text(encoding="utf-8"))
    assert views[""]["kind"] == "blocks" and views["pos1/layer0/mlp"]["kind"] == "scope"
    assert views["pos2"]["kind"] == "blocks"
    assert result.stderr.startswith(f"wrote {out} ({len(views)} views, ")
    root = record(views[""])
    assert {f["scope"] for f in root["nodes"].values()} >= {"pos0/layer0/attn", "pos0/layer0/mlp"}


@pytest.mark.parametrize("args, fragment", [
    (["-o", "x.html"], "give either an EXPRESSION or --text"),
    (["a*b", "--text", "anna", "-o", "x.html"], "give either an EXPRESSION or --text"),
    (["a*b", "-o", "x.svg"], "name it .html"),
    (["a*b", "--depth", "2", "-o", "x.html"], "--depth goes with --text"),
    (["a*b", "--engine", "atomic", "-o", "x.html"], "--engine goes with --text"),
    (["--text", "anna", "--set", "a=1", "-o", "x.html"], "--set goes with an EXPRESSION"),
    (["a*b", "--max-nodes", "0", "-o", "x.html"], "--max-nodes"),
    (["a*b"], "Missing option '-o'"),
])
def test_bad_options_are_one_line_and_write_nothing(args, fragment, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    result = invoke("explore", *args)
    assert_one_line_error(result, fragment, code=2)
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("args, fragment", [
    (["a*(b", "-o", "x.html"], "a*(b"),
    (["a*b", "--set", "c=1", "-o", "x.html"], "c is not in the expression"),
    (["--text", "anna", "--checkpoint", "missing.json", "-o", "x.html"], "missing.json"),
    (["--text", "an\u00e9", "-o", "x.html"], "\u00e9"),
])
def test_bad_inputs_are_one_line_and_write_nothing(args, fragment, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    result = invoke("explore", *args)
    assert_one_line_error(result, fragment)
    assert list(tmp_path.iterdir()) == []
