"""What the published book offers besides its pages: notebooks to launch, the PDF.

Colab opens only ``.ipynb`` files from a repository, and the student versions of the
assignments are built, not committed. So the Pages workflow (``.github/workflows/book.yml``)
publishes a branch, ``notebooks``, holding the repository as built plus a plain notebook
of every executable page and of every student assignment, each starting with a cell
that installs the book's package where it is missing (Colab, a bare Jupyter). Binder
builds its environment from ``binder/`` of that branch. After the build, every launch
button of the site points at that branch and at the ``.ipynb`` of its page, and, once
``make pdf`` has put ``book.pdf`` into the site, the download menu's PDF entry at it.

Usage::

    python tools/publish.py notebooks OUT_DIR     # the files the branch adds
    python tools/publish.py links [HTML_DIR]      # rewrite the built pages' launch links
"""

from __future__ import annotations

import re
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import ROOT, executable_pages, package_requirement, repository

NOTEBOOK_BRANCH = "notebooks"
PDF_NAME = "book.pdf"

INSTALL_CELL = """\
# Running this notebook outside the book's own environment (Colab, your own Jupyter)?
# This installs the book's package, its data and what the notebooks need, once.
try:
    import helpers
except ImportError:
    %pip install --quiet "{requirement}"
else:
    if not hasattr(helpers, "load_dataset"):
        raise ImportError(
            f"'import helpers' found {{helpers.__file__}}, which is not the book's package: "
            "a file or folder named helpers next to this notebook hides it. Rename it "
            "(or move this notebook), then restart the kernel."
        )
"""


def _install_cell():
    import nbformat

    cell = nbformat.v4.new_code_cell(
        INSTALL_CELL.format(requirement=package_requirement(ROOT, "student")),
        id="install-helpers",  # a fixed id: the same notebook from one build to the next
    )
    cell.metadata["tags"] = ["install"]
    return cell


# MyST's colon-fenced directives (":::{note}", ":::{admonition} Key points") are shown
# as plain text by Colab and classic Jupyter; a notebook to download carries them as
# Markdown blockquotes, which every notebook front end shows.
_FENCE = re.compile(r"^(:{3,})\{([\w-]+)\}[ \t]*(.*?)\n(.*?)^\1[ \t]*$", re.S | re.M)
_OPTION = re.compile(r"^:[\w-]+:.*$")
_BLOCK = re.compile(r"^\s*(?:$|[-*+]\s|[>|#]|\d+[.)]\s|```|\$\$)")


def plain_markdown(source: str) -> str:
    """``source`` with each colon-fenced directive as a blockquote headed by its name."""

    def quote(m: re.Match) -> str:
        kind, title, body = m.group(2), m.group(3).strip(), m.group(4)
        lines = body.strip("\n").splitlines()
        while lines and _OPTION.match(lines[0]):  # :label:, :class: ...
            lines.pop(0)
        head = f"**{title or kind.capitalize()}.**"
        lines = plain_markdown("\n".join(lines).strip("\n")).splitlines()  # nested ones
        if lines and not _BLOCK.match(lines[0]):  # a paragraph: the head leads it
            lines = [f"{head} {lines[0]}", *lines[1:]]
        else:  # a list, table, equation ... starts below the head
            lines = [head, "", *lines] if lines else [head]
        # a blank line after: a following line would continue the quote
        return "\n".join(f"> {line}".rstrip() for line in lines) + "\n"

    return _FENCE.sub(quote, source)


def for_download(nb):
    """``nb`` as a notebook that opens anywhere: the install cell first (once), and
    Markdown without MyST directives."""
    first = nb.cells[0] if nb.cells else None
    if first is None or "install" not in first.metadata.get("tags", []):
        nb.cells.insert(0, _install_cell())
    for cell in nb.cells:
        if cell.cell_type == "markdown":
            cell.source = plain_markdown(cell.source)
    return nb


def published_notebooks(book: Path = ROOT) -> list[str]:
    """Paths (relative to the repository) of the notebooks the branch adds."""
    pages = [p.relative_to(book).with_suffix(".ipynb") for p in executable_pages(book)]
    assignments = sorted(  # in chapter order: a1, a2, ..., a9, a10
        (book / "chapters" / "assignments").glob("a*.py"),
        key=lambda p: (int(re.match(r"a(\d+)", p.stem).group(1)), p.stem),
    )
    pages += [Path("book") / "assignments" / f"{p.stem}.ipynb" for p in assignments]
    return [str(p) for p in pages]


def write_notebooks(out: Path, book: Path = ROOT) -> list[Path]:
    """Write every published notebook under ``out`` (needs the built assignment pages)."""
    import jupytext
    import nbformat

    written = []
    for rel in published_notebooks(book):
        target = Path(out) / rel
        target.parent.mkdir(parents=True, exist_ok=True)
        md = (book / rel).with_suffix(".md")
        if md.exists():
            nb = jupytext.read(md)
        else:
            built = book / rel  # book/assignments/*.ipynb, written by tools/build_book.py
            if not built.exists():
                raise FileNotFoundError(f"{built} is not built: run `make book` first.")
            nb = nbformat.read(built, as_version=4)
        nbformat.write(for_download(nb), target)
        written.append(target)
    return written


def download_copies(html_dir: Path, book: Path = ROOT) -> int:
    """Give the ``.ipynb`` of the site's download menu (``_sources/``) the form of the
    launch notebooks: the install cell first, plain Markdown. Chapters keep the outputs
    the page shows. Returns the number of notebooks rewritten."""
    import nbformat

    changed = 0
    for rel in published_notebooks(book):
        target = Path(html_dir) / "_sources" / rel
        if not target.is_file():
            continue
        text = target.read_text(encoding="utf-8")
        new = nbformat.writes(for_download(nbformat.reads(text, as_version=4))) + "\n"
        if new != text:
            target.write_text(new, encoding="utf-8")
            changed += 1
    return changed


def _repo_parts(book: Path) -> tuple[str, str, str]:
    url, branch = repository(book)
    org, repo = url.rstrip("/").split("/")[-2:]
    return org, repo, branch


# The theme's print button in the download menu, and the same entry set aside.
_PDF_ENTRY = re.compile(
    r'(?<!<!--book-pdf)<li>\s*<button onclick="window\.print\(\)".*?</li>', re.S
)
_PDF_ENTRY_ASIDE = re.compile(r"<!--book-pdf(<li>.*?</li>)-->", re.S)


def rewrite_links(html_dir: Path, book: Path = ROOT) -> int:
    """Point launch buttons at the notebooks branch and the PDF entry at the book's PDF.

    The PDF entry becomes a link only when the site holds ``book.pdf`` (``make pdf``
    puts it there and calls this again); until then the entry is left out of the menu
    (kept in a comment for that later run), so that a locally built site has no link
    to a missing file.
    """
    if not repository(book)[0]:
        return 0  # a book without a repository has no launch buttons
    has_pdf = (Path(html_dir) / PDF_NAME).is_file()
    org, repo, branch = _repo_parts(book)
    stem = r"((?:chapters|book)/[\w./-]+?)\.(?:md|ipynb)"
    colab = re.compile(rf"(/github/{org}/{repo}/blob/){re.escape(branch)}/{stem}\b")
    binder = re.compile(rf"(/v2/gh/{org}/{repo}/){re.escape(branch)}(\?urlpath=[\w/]+?/){stem}\b")
    changed = 0
    for page in Path(html_dir).rglob("*.html"):
        text = page.read_text(encoding="utf-8")
        new = colab.sub(rf"\g<1>{NOTEBOOK_BRANCH}/\g<2>.ipynb", text)
        new = binder.sub(rf"\g<1>{NOTEBOOK_BRANCH}\g<2>\g<3>.ipynb", new)
        depth = len(page.relative_to(html_dir).parts) - 1
        pdf_href = "../" * depth + PDF_NAME
        if has_pdf:  # an entry set aside by an earlier run without the PDF comes back
            new = _PDF_ENTRY_ASIDE.sub(r"\g<1>", new)
        else:  # no PDF yet: set the entry aside (a comment), no link to a missing file
            new = _PDF_ENTRY.sub(lambda m: f"<!--book-pdf{m.group(0)}-->", new)
            if new != text:
                page.write_text(new, encoding="utf-8")
                changed += 1
            continue
        new = re.sub(
            r'<button onclick="window\.print\(\)"([^>]*)>',
            rf'<a href="{pdf_href}" download\1>',
            new,
        )
        new = re.sub(
            rf'(<a href="[^"]*{re.escape(PDF_NAME)}" download[^>]*>.*?)</button>',
            r"\1</a>",
            new,
            flags=re.S,
        )
        new = new.replace('title="Print to PDF"', 'title="The whole book as PDF"')
        if new != text:
            page.write_text(new, encoding="utf-8")
            changed += 1
    return changed


def main(argv: list[str]) -> int:
    if not argv or argv[0] not in ("notebooks", "links"):
        print(__doc__, file=sys.stderr)
        return 2
    if argv[0] == "notebooks":
        if len(argv) != 2:
            print(__doc__, file=sys.stderr)
            return 2
        for path in write_notebooks(Path(argv[1])):
            print(f"wrote {path}")
        return 0
    html = Path(argv[1]) if len(argv) > 1 else ROOT / "_build" / "html"
    print(f"rewrote the launch and PDF links of {rewrite_links(html)} page(s)")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
