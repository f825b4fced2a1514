"""The Japanese chapters keep the rules of docs/ja/terms.md: one term for one thing,
one register (です・ます), one way to write numbers, a space between Japanese and
ASCII, no paragraph that opens on a particle, and English tool output glossed where
a chapter's prose first quotes it.

The prose of a chapter is every line outside fenced and indented code blocks, with
inline code removed for the word checks (a span of code is never Japanese prose).
Each failure names file:line and what to write instead.
"""

import re
from pathlib import Path

import pytest

from .transcripts import ROOT, fenced_blocks, place

JA = ROOT / "docs" / "ja"
TERMS = JA / "terms.md"
CHAPTERS = sorted(p for p in JA.glob("*.md") if p != TERMS)
IDS = [p.name for p in CHAPTERS]

CODE_SPAN = re.compile(r"`[^`\n]*`")
PLAIN_ENDING = re.compile(r"である。|であった。|ではない。|だった。|(?<![また])だ。")
PARTICLES = "のをにはがでともへ"
LIST_MARKER = re.compile(r"^\s*(?:[-*+]|\d+\.)\s+")
NOT_A_PARAGRAPH = ("#", "|", "!", "<", ">", "```", "~~~")
HIRAGANA = re.compile(r"[\u3041-\u309f]")
WIDE_DIGITS = re.compile(r"[０-９]|\d[．，]\d")
DIGIT_TSU = re.compile(r"\d+\s*つ")
UNGROUPED_COUNT = re.compile(r"(?<![\d.,])\d{4,}(?![\d.,])(?=\s*(?:個|ノード|本|行|件|文字|辺))")
JAPANESE = "\u3041-\u30fa\u30fc-\u30ff\u4e00-\u9fff"  # kana and kanji; not the middle dot ・
NO_SPACE = re.compile(rf"[{JAPANESE}][A-Za-z0-9]|[A-Za-z0-9][{JAPANESE}]")
DOTTED_RANGE = re.compile(r"(?<![=\d.])(?<!= )\d+\.\.\w+")
KANJI_QUANTITY = re.compile(r"(?<![数何])[一二三四五六七八九]?[十百千][一二三四五六七八九]?(?=倍|個|桁|分の)")


def table(text: str, first_header: str) -> list:
    """The rows (lists of cells) of every Markdown table whose header starts with
    `first_header`."""
    rows, inside = [], False
    for line in text.splitlines():
        if not line.startswith("|"):
            inside = False
            continue
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if cells[0] == first_header:
            inside = True
        elif inside and not set(line) <= set("|-: "):
            rows.append(cells)
    return rows


TERMS_TEXT = TERMS.read_text(encoding="utf-8")
TERM_ROWS = table(TERMS_TEXT, "English")
GLOSSES = [(row[0], row[1]) for row in table(TERMS_TEXT, "出力の語")]
USE = {variant: row[1] for row in TERM_ROWS for variant in row[2].split("、") if variant}
TERM_WORDS = [row[1] for row in TERM_ROWS]


def code_lines(text: str) -> set:
    """Line numbers inside fenced blocks (fences included) or indented code blocks."""
    lines = text.splitlines()
    inside = {start + i for start, _, body in fenced_blocks(text) for i in range(len(body) + 2)}
    for number, line in enumerate(lines, 1):
        before = lines[number - 2] if number > 1 else ""
        if number not in inside and line.startswith("    ") and (
                not before.strip() or number - 1 in inside and before.startswith("    ")):
            inside.add(number)
    return inside


def prose(text: str):
    """(line number, line) for every line of prose, inline code kept."""
    code = code_lines(text)
    return [(n, line) for n, line in enumerate(text.splitlines(), 1) if n not in code]


def words(line: str) -> str:
    """The line with its inline code blanked out, so only Japanese prose is checked."""
    return CODE_SPAN.sub(lambda m: " " * len(m.group()), line)


def variants_in(line: str):
    """(variant, term) for each variant on the line that is not part of a term
    (入門 in モデル入門 is not the variant 門)."""
    covered = {i for term in TERM_WORDS for m in re.finditer(re.escape(term), line)
               for i in range(m.start(), m.end())}
    for variant, term in USE.items():
        for m in re.finditer(re.escape(variant), line):
            if not set(range(m.start(), m.end())) <= covered:
                yield variant, term


def paragraph_openings(text: str):
    """(line number, text) of each paragraph and list item, its list marker removed."""
    before = ""
    code = code_lines(text)
    for number, line in enumerate(text.splitlines(), 1):
        if number in code:
            before = ""
            continue
        item = LIST_MARKER.match(line)
        if line.strip() and not line.lstrip().startswith(NOT_A_PARAGRAPH) and (
                item or not before.strip() or before.lstrip().startswith(NOT_A_PARAGRAPH)):
            yield number, line[item.end():] if item else line.strip()
        before = line


def opens_on_particle(text: str) -> bool:
    """True for 「の出力は…」 or 「で、…」: a particle followed by anything but more
    kana, so とはいえ, では, もう and もし (words, not particles) pass."""
    return len(text) > 1 and text[0] in PARTICLES and not HIRAGANA.match(text[1])


def quotes(line: str, word: str, pattern: re.Pattern) -> bool:
    """Whether a line of prose quotes an output word: a phrase of several words
    anywhere on it, a single word (`grad`, `off`) only in inline code, where it
    cannot be an ordinary English word of the text."""
    if " " in word:
        return bool(pattern.search(line))
    return any(pattern.search(span[1:-1]) for span in CODE_SPAN.findall(line))


def glosses_missing(page: Path):
    """(line, word, gloss) where the prose first quotes an output word without its gloss."""
    text = page.read_text(encoding="utf-8")
    output = "\n".join(line for _, tag, body in fenced_blocks(text) if tag == "console"
                       for line in body)
    for word, gloss in GLOSSES:
        # a word ends at a space or a closing mark; "loss.png" is a file, not the word
        pattern = re.compile(rf"(?:^|(?<=[\s:(`'（])){re.escape(word)}"
                             rf"(?=$|[\s:),;`'）]|\.(?!\w))")
        if not pattern.search(output):
            continue
        for number, line in prose(text):
            if quotes(line, word, pattern):
                if gloss not in words(line):
                    yield number, word, gloss
                break


@pytest.mark.parametrize("page", CHAPTERS, ids=IDS)
def test_one_term_for_one_thing(page):
    found = [f"{place(page, n)}: 「{variant}」→「{term}」"
             for n, line in prose(page.read_text(encoding="utf-8"))
             for variant, term in variants_in(words(line))]
    assert not found, "variants of a term in docs/ja/terms.md:\n" + "\n".join(found)


@pytest.mark.parametrize("page", CHAPTERS, ids=IDS)
def test_one_register(page):
    found = [f"{place(page, n)}: 「{m.group()}」→ です・ます"
             for n, line in prose(page.read_text(encoding="utf-8"))
             for m in PLAIN_ENDING.finditer(words(line))]
    assert not found, "plain-form sentence endings:\n" + "\n".join(found)


@pytest.mark.parametrize("page", CHAPTERS, ids=IDS)
def test_no_paragraph_opens_on_a_particle(page):
    found = [f"{place(page, n)}: 「{opening[:12]}…」"
             for n, opening in paragraph_openings(page.read_text(encoding="utf-8"))
             if opens_on_particle(opening)]
    assert not found, "paragraphs opening on a particle:\n" + "\n".join(found)


@pytest.mark.parametrize("page", CHAPTERS, ids=IDS)
def test_one_way_to_write_numbers(page):
    rules = [(WIDE_DIGITS, "half-width digits and ."), (DIGIT_TSU, "一つ, 二つ, … in kanji"),
             (UNGROUPED_COUNT, "a comma every three digits (4,192)"),
             (KANJI_QUANTITY, "digits for a quantity (100 倍)"),
             (DOTTED_RANGE, "a range with 〜 (位置 0〜4)")]
    found = [f"{place(page, n)}: 「{m.group()}」→ {rule}"
             for n, line in prose(page.read_text(encoding="utf-8"))
             for pattern, rule in rules for m in pattern.finditer(words(line))]
    assert not found, "numbers not written as docs/ja/terms.md says:\n" + "\n".join(found)


@pytest.mark.parametrize("page", CHAPTERS, ids=IDS)
def test_a_space_between_japanese_and_ascii(page):
    found = [f"{place(page, n)}: 「{m.group()}」→ a half-width space between them (64 個, MLP の)"
             for n, line in prose(page.read_text(encoding="utf-8"))
             for m in NO_SPACE.finditer(words(line))]
    assert not found, "Japanese run into ASCII:\n" + "\n".join(found)


@pytest.mark.parametrize("page", CHAPTERS, ids=IDS)
def test_output_words_glossed_where_first_quoted(page):
    found = [f"{place(page, n)}: `{word}` needs （{gloss}…） on this line"
             for n, word, gloss in glosses_missing(page)]
    assert not found, "English output words quoted without a gloss:\n" + "\n".join(found)


def test_the_terms_file_has_its_tables():
    assert len(TERM_ROWS) >= 30
    assert USE["門"] == "ゲート" and USE["[GPT の中の逆伝播]"] == "GPT の各部分を通る逆伝播"
    assert ("grad", "勾配") in GLOSSES


def glosses_in(folder: Path, prose_line: str):
    page = folder / "page.md"
    page.write_text(f"```console\n$ x\ninputs: 'from here' what this scope sends them\n```\n\n{prose_line}\n", encoding="utf-8")
    return glosses_missing(page)


def test_the_checks_catch_what_they_should(tmp_path):
    assert list(variants_in("ReLU の門が閉じる")) == [("門", "ゲート")]
    assert list(variants_in("[モデル入門](primer.md)")) == []
    assert PLAIN_ENDING.findall("保存される数である。まだ。それだけだ。") == ["である。", "だ。"]
    page = "前の段落です。\n\nの出力は次のとおりです。\n\n- もう一つ\n- を使う\n\nとはいえ、\n"
    assert [opens_on_particle(t) for _, t in paragraph_openings(page)] == [
        False, True, False, True, False]
    assert DIGIT_TSU.findall("4 つのヘッドと一つの層") == ["4 つ"]
    assert UNGROUPED_COUNT.findall("4192 個、4,192 個、1000 ステップ、ステップ 1001") == ["4192"]
    assert KANJI_QUANTITY.findall("百倍、約五十倍、数百ステップ、十桁、何千もの") == [
        "百", "五十", "十"]
    assert NO_SPACE.findall("64個、MLPの、64 個、層 0・ヘッド 2") == ["4個", "Pの"]
    assert DOTTED_RANGE.findall("位置 0..t、i = 0..15、j=0..3") == ["0..t"]
    assert [(n, w) for n, w, _ in glosses_in(tmp_path, "`from here` の列")] == [(6, "from here")]
    assert list(glosses_in(tmp_path, "`from here`（このスコープが送った分）の列")) == []
    text = "    indented\n\nprose `grad` here\n\n```console\n$ x\ngrad\n```\n"
    assert [n for n, _ in prose(text)] == [2, 3, 4]
