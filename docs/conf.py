"""Sphinx settings for the docs site: `make docs-site` builds docs/ into site/ and,
with `-D language=ja`, docs/ja/ into site/ja/.

The chapters are plain Markdown that read the same on GitHub; MyST parses them as
they are. Navigation comes from each language's reading map (README.md): each chapter
it links becomes an entry of a hidden table of contents, so no chapter carries Sphinx
markup. Steppers and explorers in docs/img/*.html are copied beside
the pages and shown in a frame under the first link to them in a page, so they work
offline; a link's address (`explore-anna.html#pos4/layer0/mlp`, the explorer's view)
is kept.
"""

import os
import re
import shutil
from pathlib import Path

from docutils import nodes
from sphinx import addnodes
from sphinx.transforms.post_transforms import SphinxPostTransform

project = "microgpt-trace"
extensions = ["myst_parser"]
root_doc = "README"
exclude_patterns = ["img", "_static", "ja"]  # Japanese: built from docs/ja into site/ja
html_static_path = ["_static"]
myst_heading_anchors = 4
html_theme = "furo"
html_title = "microgpt-trace"
html_copy_source = False
html_show_sourcelink = False

IMG = Path(__file__).parent / "img"
CHAPTER_LINK = re.compile(r"\]\(([\w-]+)\.md\)")
PAGE_LINK = re.compile(r"\]\((?:\.\./)?img/[\w-]+\.html(?:#([^)\s]*))?\)")


def page_addresses(app, docname, source):
    """The #address of each link to a generated page, in order: MyST drops it when it
    makes the link a file reference."""
    if not hasattr(app.env, "page_addresses"):
        app.env.page_addresses = {}
    app.env.page_addresses[docname] = PAGE_LINK.findall(source[0])


def add_contents(app, docname, source):
    """The reading map's chapter links, in order, as its hidden table of contents."""
    if docname == root_doc:
        chapters = "\n".join(dict.fromkeys(CHAPTER_LINK.findall(source[0])))
        source[0] += f"\n\n```{{toctree}}\n:hidden:\n\n{chapters}\n```\n"


class OtherLanguage(SphinxPostTransform):
    """A link to the other language's chapter goes to its page in the other build
    (site/ and site/ja/ mirror docs/ and docs/ja/), before MyST would call it missing."""

    default_priority = 8  # MyST resolves its links at 9

    def run(self):
        srcdir = Path(self.app.srcdir)
        for node in list(self.document.findall(addnodes.pending_xref)):
            if node.get("refdomain") != "doc" or node["reftarget"] in self.env.all_docs:
                continue
            source = (srcdir / node["reftarget"]).with_suffix(".md")
            if source.exists():
                fragment = f"#{node['reftargetid']}" if node.get("reftargetid") else ""
                page = os.path.relpath(source.with_suffix(".html"), srcdir) + fragment
                node.replace_self(nodes.reference("", "", *node.children, refuri=page))


def frame_pages(app, doctree, docname):
    """A link to a generated page (img/*.html) opens it at its address; the first in a
    page also shows the page in a frame below."""
    addresses = iter(getattr(app.env, "page_addresses", {}).get(docname, []))
    framed = set()
    for ref in list(doctree.findall(addnodes.download_reference)):
        if not ref["reftarget"].endswith(".html"):
            continue
        address = next(addresses, "")
        link = nodes.reference("", "", *ref.children,
                               refuri=ref["reftarget"] + (f"#{address}" if address else ""))
        ref.replace_self(link)
        if ref["reftarget"] in framed:
            continue
        framed.add(ref["reftarget"])
        block = link.parent if isinstance(link.parent, nodes.paragraph) else link
        frame = nodes.raw("", f'<iframe class="generated-page" src="{link["refuri"]}" '
                              f'loading="lazy" title="{Path(ref["reftarget"]).name}"></iframe>',
                          format="html")
        block.parent.insert(block.parent.index(block) + 1, frame)


def copy_pages(app, exception):
    """The generated pages where the chapters link them, and the reading map as index."""
    if exception is not None:
        return
    out = Path(app.outdir)
    pages = out / os.path.relpath(IMG, app.srcdir)
    pages.mkdir(parents=True, exist_ok=True)
    for page in sorted(IMG.glob("*.html")):
        shutil.copyfile(page, pages / page.name)
    shutil.copyfile(out / f"{root_doc}.html", out / "index.html")


def setup(app):
    app.connect("source-read", page_addresses)
    app.connect("source-read", add_contents)
    app.add_post_transform(OtherLanguage)
    app.connect("doctree-resolved", frame_pages)
    app.connect("build-finished", copy_pages)
    app.add_css_file("site.css")
