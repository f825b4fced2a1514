"""How transcripts are read from a page: console blocks only, commands and their
output, indented blocks, and output with no command before it."""

from .transcripts import ROOT, Command, transcripts

# the chapters of the reading map that teach (not the glossary, summary or reference)
CHAPTERS = ("primer.md", "backprop.md", "gpt.md", "adam.md", "training.md", "questions.md",
            "code.md")

PAGE = """# Title

```console
$ microgpt-trace expr "a*b"
node  label
   0  a
$ microgpt-trace sample -n 1
sample  1: anna
```

```sh
$ make test
```

1. In a list:

   ```console
   $ microgpt-trace docs --check
   docs/img is current
   ```

```console
stray output
```
"""


def test_console_blocks_are_read_with_their_place(tmp_path):
    page = tmp_path / "page.md"
    page.write_text(PAGE, encoding="utf-8")
    found = transcripts(page)
    where = [t.where.rsplit(":", 1)[1] for t in found]
    assert where == ["3", "17", "22"]
    assert found[0].commands == (
        Command('microgpt-trace expr "a*b"', ("node  label", "   0  a")),
        Command("microgpt-trace sample -n 1", ("sample  1: anna",)))
    assert found[1].commands == (Command("microgpt-trace docs --check", ("docs/img is current",)),)
    assert found[2].commands == (Command("", ("stray output",)),)


def test_a_place_is_relative_to_the_repository():
    readme = transcripts(ROOT / "README.md")
    assert readme and all(t.where.startswith("README.md:") for t in readme)


def test_a_console_block_folded_in_details_is_read(tmp_path):
    """Exercises fold their answers in <details>: the transcript inside still runs."""
    page = tmp_path / "page.md"
    page.write_text("### Exercise\n\n<details>\n<summary>Answer</summary>\n\nWhy.\n\n"
                    "```console\n$ microgpt-trace sample -n 1\nsample  1: anna\n```\n\n"
                    "</details>\n", encoding="utf-8")
    found = transcripts(page)
    assert [t.where.rsplit(":", 1)[1] for t in found] == ["8"]
    assert found[0].commands == (Command("microgpt-trace sample -n 1", ("sample  1: anna",)),)


def test_every_chapter_folds_its_exercises_answers_in_details():
    """The learner's path: each chapter ends with two or three exercises (both
    languages), each answer folded in <details> with a transcript that runs."""
    for chapter in CHAPTERS:
        for page, (heading, summary) in ((ROOT / "docs" / chapter, ("## Exercises", "Answer")),
                                         (ROOT / "docs" / "ja" / chapter, ("## 練習問題", "答え"))):
            text = page.read_text(encoding="utf-8")
            exercises = text[text.index(f"\n{heading}\n"):]
            answers = exercises.split(f"<summary>{summary}</summary>")[1:]
            assert 2 <= len(answers) <= 3, page
            assert all("```console\n$ microgpt-trace " in a.split("</details>")[0]
                       for a in answers), page
            assert "\n## " not in exercises[3:], f"{page}: the exercises are not last"
