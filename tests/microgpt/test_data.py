import re
import string

import pytest

from microgpt_trace.microgpt.data import DEFAULT_DATA, SHIPPED, Tokenizer, dataset_path, load_docs
from microgpt_trace.microgpt.exceptions import DataError, MicrogptError

DATA = dataset_path("names").parent


@pytest.mark.parametrize("name, filename", [("names", "names.txt"), ("names-ja", "names-ja.txt")])
def test_a_shipped_dataset_is_read_by_name_from_any_folder(tmp_path, monkeypatch, name,
                                                           filename):
    monkeypatch.chdir(tmp_path)
    assert dataset_path(name) == DATA / filename
    assert load_docs(name) == reference_docs(DATA / filename)


def test_a_path_still_works_and_a_name_wins_over_a_file_of_that_name(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "names").write_text("zed\n", encoding="utf-8")
    assert load_docs("./names") == ["zed"]
    assert load_docs(tmp_path / "names") == ["zed"]
    assert load_docs("names")[0] != "zed"


def test_neither_a_file_nor_a_shipped_name_is_one_line_listing_the_names(tmp_path,
                                                                          monkeypatch):
    monkeypatch.chdir(tmp_path)
    message = ("dataset not found: 'name-ja' is neither a file nor a shipped dataset "
               "(names, names-ja)")
    assert list(SHIPPED) == ["names", "names-ja"]
    with pytest.raises(DataError, match=f"^{re.escape(message)}$"):
        load_docs("name-ja")


def reference_docs(path):
    """microgpt.py's own parse: text mode (universal newlines), strip, drop blanks."""
    with open(path, encoding="utf-8") as f:
        return [line.strip() for line in f.read().strip().split("\n") if line.strip()]


@pytest.mark.parametrize("raw", [
    pytest.param(b"anna\nbob\n", id="plain"),
    pytest.param(b"anna\nbob", id="no-final-newline"),
    pytest.param(b"\n\nanna\n\n\nbob\n\n", id="blank-lines"),
    pytest.param(b"  anna \t\n \t \n\tbob  \n   \n", id="whitespace"),
    pytest.param(b"anna\r\nbob\r\n\r\n", id="crlf"),
    pytest.param(b"mary ann\nla  toya\n", id="inner-spaces-kept"),
    pytest.param("\u3000はな\u3000\nゆき\n".encode(), id="ideographic-space"),
    pytest.param(b"anna\rbob\r", id="lone-cr"),
])
def test_lines_parse_like_the_reference(tmp_path, raw):
    path = tmp_path / "docs.txt"
    path.write_bytes(raw)
    assert load_docs(path) == reference_docs(path)


def test_lines_are_stripped_and_blanks_dropped(tmp_path):
    path = tmp_path / "docs.txt"
    path.write_bytes(b"\n  anna \r\n\t\n mary ann\n\n")
    assert load_docs(path) == ["anna", "mary ann"]


@pytest.mark.parametrize("raw, line, byte", [
    (b"anna\nbob\n\xffcarl\n", 3, 9),
    ("jos\u00e9\n".encode("latin-1"), 1, 3),
    (b"anna\nb\xc3", 2, 6),  # a multi-byte character cut off at the end
])
def test_non_utf8_names_line_and_byte(tmp_path, raw, line, byte):
    path = tmp_path / "latin.txt"
    path.write_bytes(raw)
    message = f"dataset is not UTF-8: {str(path)!r}, line {line}, byte {byte}"
    with pytest.raises(DataError, match=f"^{re.escape(message)}$"):
        load_docs(path)


@pytest.mark.parametrize("raw", [b"", b"\n\n", b"  \t\r\n \n"], ids=["empty", "newlines", "blank"])
def test_no_documents(tmp_path, raw):
    path = tmp_path / "empty.txt"
    path.write_bytes(raw)
    with pytest.raises(DataError, match=re.escape(f"no non-blank lines: {str(path)!r}")):
        load_docs(path)


def test_missing_file(tmp_path):
    path = tmp_path / "nope.txt"
    with pytest.raises(DataError, match=re.escape(f"not found: {str(path)!r}")):
        load_docs(path)


def test_directory(tmp_path):
    message = f"is a directory, not a file: {str(tmp_path)!r}"
    with pytest.raises(DataError, match=re.escape(message)):
        load_docs(tmp_path)


def test_data_errors_are_user_errors():
    assert issubclass(DataError, MicrogptError) and issubclass(DataError, ValueError)


def test_tokenizer_sorts_by_code_point():
    tok = Tokenizer.from_docs(["zoë", "Ann", "ann"])
    assert tok.chars == "Aanozë"
    assert (tok.bos, tok.vocab_size) == (6, 7)
    assert tok.encode("zoë") == [4, 3, 5]


@pytest.mark.parametrize("text, unknown", [
    ("anne!", "'!e'"), ("Bob bob", "' B'"), ("ぁ", "'ぁ'"),
])
def test_tokenizer_names_unknown_characters(text, unknown):
    tok = Tokenizer.from_docs(["anna", "bob"])
    message = f"characters not in the vocabulary: {unknown}"
    with pytest.raises(DataError, match=f"^{re.escape(message)}$"):
        tok.encode(text)


def test_shipped_english_names():
    docs = load_docs(DATA / "names.txt")
    assert len(docs) == len(set(docs)) == 5163
    assert Tokenizer.from_docs(docs).chars == string.ascii_lowercase
    assert max(map(len, docs)) == 11  # fits block_size 16 with BOS: nothing truncated


def test_shipped_japanese_names():
    docs = load_docs(DATA / "names-ja.txt")
    assert len(docs) == len(set(docs)) == 9208
    chars = Tokenizer.from_docs(docs).chars
    assert len(chars) == 74
    assert all("\u3041" <= ch <= "\u309f" for ch in chars)  # the hiragana block
    assert max(map(len, docs)) == 8


def test_default_data_is_the_english_names():
    assert dataset_path(DEFAULT_DATA) == DATA / "names.txt"
