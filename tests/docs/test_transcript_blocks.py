"""How transcripts are read from a page: console blocks only, commands and their
output, indented blocks, and output with no command before it."""

from .transcripts import ROOT, Command, transcripts

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
