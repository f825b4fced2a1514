from pathlib import Path

import click

ROOT = Path(__file__).resolve().parent.parent.parent  # the source checkout holding docs/


def is_source_checkout(root) -> bool:
    """An installed wheel has no docs/ to draw into, only the checkout does."""
    return (root / "docs" / "img").is_dir()


@click.command()
@click.option("--check", is_flag=True,
              help="Write nothing; exit 1 naming the figures that are missing or stale.")
def docs(check):
    """Regenerate the figures in docs/img, or --check they are current.

    Diagrams (.svg from .dot), backward animations (.gif and .html from .dot) and
    training panels (.png from a short training run, whose metrics log is kept as
    .jsonl). The check recomputes each text source (seconds: it trains the short
    runs again) and compares it exactly; images only have to exist, since their bytes
    vary with Graphviz, Pillow and matplotlib. Regenerating needs Graphviz.

    \b
      microgpt-trace docs --check
      microgpt-trace docs
    """
    from ..docs_build import build_docs

    if not is_source_checkout(ROOT):
        raise click.ClickException("docs needs a source checkout of microgpt-trace (it draws "
                                   "into its docs/img); this copy is installed without docs/")
    listed = build_docs(ROOT, check)
    if check and listed:
        raise click.ClickException(f"out of date: {', '.join(listed)}; "
                                   "regenerate with: microgpt-trace docs")
    if check:
        click.echo("docs/img is current")
    else:
        click.echo(f"wrote {len(listed)} files in docs/img", err=True)
