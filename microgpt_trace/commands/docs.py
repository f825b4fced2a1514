from pathlib import Path

import click

ROOT = Path(__file__).resolve().parent.parent.parent  # the source checkout holding docs/


def is_source_checkout(root) -> bool:
    """An installed wheel has no docs/ to draw into, only the checkout does."""
    return (root / "docs" / "img").is_dir()


@click.command()
@click.option("--check", is_flag=True,
              help="Write nothing; exit 1 naming the figures that are missing or stale and "
              "the Japanese chapters whose English chapter changed since.")
@click.option("--mark-translated", "mark_chapters", is_flag=True,
              help="Record that each Japanese CHAPTER (docs/ja/NAME.md) follows docs/NAME.md "
              "as it is now, after bringing the translation up to date. Draws nothing.")
@click.argument("chapters", nargs=-1, metavar="[CHAPTER]...")
def docs(check, mark_chapters, chapters):
    """Regenerate the figures in docs/img, or --check they and the translations are current.

    Diagrams (.svg from .dot), backward animations (.gif and .html from .dot) and
    training panels (.png from a short training run, whose metrics log is kept as
    .jsonl). The check recomputes each text source (seconds: it trains the short
    runs again) and compares it exactly; images only have to exist, since their bytes
    vary with Graphviz, Pillow and matplotlib. Regenerating needs Graphviz.

    Each Japanese chapter docs/ja/NAME.md starts with a comment holding the sha256 of
    the English docs/NAME.md it follows; the check names each one whose English
    chapter changed since. Update the translation, then --mark-translated it.

    \b
      microgpt-trace docs --check
      microgpt-trace docs
      microgpt-trace docs --mark-translated docs/ja/adam.md docs/ja/gpt.md
    """
    if not is_source_checkout(ROOT):
        raise click.ClickException("docs needs a source checkout of microgpt-trace (it draws "
                                   "into its docs/img); this copy is installed without docs/")
    if mark_chapters or chapters:
        return mark(chapters, check, mark_chapters)
    from ..docs_build import build_docs
    from ..docs_translations import stale_translations

    listed = build_docs(ROOT, check)
    if not check:
        click.echo(f"wrote {len(listed)} files in docs/img", err=True)
        return
    behind = stale_translations(ROOT)
    for line in behind:
        click.echo(line, err=True)
    if listed:
        raise click.ClickException(f"out of date: {', '.join(listed)}; "
                                   "regenerate with: microgpt-trace docs")
    if behind:
        raise click.ClickException(f"{len(behind)} Japanese chapter(s) behind their English "
                                   "one: update, then microgpt-trace docs --mark-translated")
    click.echo("docs/img and the Japanese chapters are current")


def mark(paths, check, mark_chapters):
    from ..docs_translations import TranslationError, mark_translated

    if not mark_chapters:
        raise click.UsageError("chapters are named only with --mark-translated")
    if check or not paths:
        raise click.UsageError("--mark-translated names the Japanese chapters it marks, "
                               "without --check: docs --mark-translated docs/ja/NAME.md")
    try:
        lines = mark_translated(ROOT, paths)
    except TranslationError as e:
        raise click.ClickException(str(e)) from None
    for path, line in zip(paths, lines):
        click.echo(f"{path}: {line}")
