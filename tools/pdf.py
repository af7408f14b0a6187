"""``make pdf``: the whole book as one PDF, printed by Chromium from a single-page build.

1. ``jupyter-book build --builder singlehtml`` (reuses the execution cache of
   ``make book``: no chapter runs again) writes every page into one HTML file;
2. that page is served on 127.0.0.1 and opened in headless Chromium (Debian's
   ``chromium``, driven by Playwright); the script waits until MathJax has typeset
   every equation, then prints to PDF (A4, with backgrounds): every page of the book
   starts a new sheet, hidden cells are left out, and the headings make the PDF's
   outline (bookmarks: each page of the book, its sections below it);
2b. the contents get their page numbers from that one print: the sheet the outline
   starts each page on is written with pypdf at the right end of the page's entry (a
   link of the contents, checked to lead to that page), so one print does;
3. the PDF goes to ``_build/pdf/book.pdf`` and, when the site is built, also to
   ``_build/html/book.pdf``, where the download menu of every page links to it.

Usage: ``python tools/pdf.py``
"""

from __future__ import annotations

import functools
import http.server
import os
import re
import shutil
import subprocess
import sys
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import build_book
from _common import ROOT, BuildError
from publish import PDF_NAME, rewrite_links

CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-sync"]

# Single-page output: hide the navigation chrome that means nothing on paper.
# The single page holds the title and contents (the theme's print block), the root
# page's section, and in it, after each part's caption, a section per page of the
# book: each such section starts a new sheet. The theme lays its columns out with
# flex boxes, which ignore page breaks: on paper they are blocks. Hidden cells (their
# "Show code cell content" toggle and the closed box under it) are left out.
PRINT_CSS = """
@media print {
  .bd-header, .bd-sidebar-primary, .bd-sidebar-secondary, .header-article,
  .prev-next-area, .bd-footer, .bd-footer-content, .bd-header-article,
  .toggle-secondary-sidebar, .headerlink, .copybtn { display: none !important; }
  .bd-container, .bd-container__inner, .bd-page-width, .bd-main, .bd-content,
  .bd-article-container, .bd-article, .bd-main .bd-content .bd-article-container,
  #jb-print-docs-body, #print-main-content { display: block !important; }
  .bd-main .bd-content .bd-article-container { max-width: 100% !important; }
  article.bd-article > section, div.toctree-wrapper > section { break-before: page; }
  details.hide, .cell.tag_hide-cell, .toctree-wrapper > p.caption { display: none !important; }
  h1, h2, h3, h4 { break-after: avoid; break-inside: avoid; }
  figure, table, .cell_output img { break-inside: avoid; }
  /* a short code box stays on one sheet (OUTLINE_JS marks them): split, the bottom edge
     of its frame can spill onto a sheet of its own (seen after an assignment's last
     cell). Long boxes may split: kept whole, Chromium would leave a blank sheet before. */
  .keep-whole { break-inside: avoid; }
  pre { white-space: pre-wrap !important; overflow-wrap: anywhere; }
  p.book-title { font-size: 2.4rem; font-weight: 700; margin: 2rem 0 3rem; }
  /* the theme hides the first h1 (the root page's title, printed on the title sheet):
     here every page's title is an h1, and the title sheet's title is no heading */
  .bd-main .bd-content .bd-article h1:first-of-type { display: block !important; }
}
"""

# Headings become the PDF's outline (Chromium's tagged PDF): the title sheet's "Contents"
# and every page of the book are top-level entries (the single page nests the pages
# one level below the root page: their headings move one level up), their sections
# below them. The book's title on the title sheet is no heading: the root page's
# section repeats it.
OUTLINE_JS = """
() => {
  const rename = (el, tag) => {
    const node = document.createElement(tag);
    for (const a of el.attributes) node.setAttribute(a.name, a.value);
    while (el.firstChild) node.appendChild(el.firstChild);
    el.replaceWith(node);
    return node;
  };
  const sheet = document.querySelector("#jb-print-docs-body");
  const title = sheet && sheet.querySelector(":scope > h1");
  if (title) rename(title, "p").classList.add("book-title");
  const contents = sheet && sheet.querySelector("#jb-print-toc h2");
  if (contents) rename(contents, "h1");
  // each page's anchor (an empty span before its section) moves into the section: left
  // outside, it can fall onto a sheet of its own before the section's page break
  document.querySelectorAll('span[id^="document-"]').forEach((anchor) => {
    const page = anchor.nextElementSibling;
    if (page && page.tagName === "SECTION") page.prepend(anchor);
  });
  document.querySelectorAll(".cell_input").forEach((box) => {
    if (box.getBoundingClientRect().height < 300) box.classList.add("keep-whole");
  });
  document.querySelectorAll("div.toctree-wrapper > section").forEach((page) => {
    page.querySelectorAll("h2, h3, h4, h5, h6").forEach((h) => {
      rename(h, "h" + (Number(h.tagName[1]) - 1));
    });
  });
}
"""


# The headings as printed (hidden ones left out), in order: the titles of the outline.
# Chromium names an entry by the heading's text as laid out on paper, where a line
# break drops a space and a numbered heading may come twice ("2.3. 2.3. Between ...").
HEADINGS_JS = """
() => Array.from(document.querySelectorAll("h1, h2, h3, h4, h5, h6, [role=heading]"))
  .filter((h) => h.getClientRects().length > 0)
  .map((h) => {
    const copy = h.cloneNode(true);
    copy.querySelectorAll(".headerlink").forEach((x) => x.remove());
    const level = /^H[1-6]$/.test(h.tagName) ? Number(h.tagName[1]) : Number(h.ariaLevel || 2);
    return [level, copy.textContent.replace(/\\s+/g, " ").trim()];
  })
"""


def _key(title: str) -> str:
    return re.sub(r"[^a-z0-9]+", "", title.lower())


def _outline_entries(writer) -> list:
    """The outline entries of a PDF opened for writing, in order (depth first)."""
    entries = []

    def walk(node):
        child = node.get("/First")
        while child is not None:
            child = child.get_object()
            entries.append(child)
            walk(child)
            child = child.get("/Next")

    walk(writer.get_outline_root())
    return entries


# The page numbers of the contents: Helvetica (a standard PDF font, nothing embedded),
# right-aligned at the right end of each entry's link, on the baseline of its title.
TOC_FONT, TOC_SIZE, HELVETICA_DIGIT = "/BookTocNumbers", 10.0, 0.556


def contents_numbers(pdf: Path, before: int) -> dict[int, list[tuple[float, float, int]]]:
    """``{sheet: [(right x, baseline y, sheet it leads to), ...]}``: for every link of
    the contents (the sheets before ``before``, the root page's) that leads into the
    book, where its page number goes and the sheet (counting from 1) it leads to."""
    from pypdf import PdfReader

    reader = PdfReader(pdf)
    named = reader.named_destinations
    found: dict[int, list[tuple[float, float, int]]] = {}
    for index in range(before):
        page = reader.pages[index]
        links = []
        for annot in page.get("/Annots") or []:
            annot = annot.get_object()
            dest = annot.get("/Dest")
            if annot.get("/Subtype") != "/Link" or dest is None or str(dest) not in named:
                continue
            target = reader.get_destination_page_number(named[str(dest)])
            links.append(([float(v) for v in annot["/Rect"]], target + 1))
        if not links:
            continue
        baselines: list[float] = []

        def visit(text, cm, tm, font, size, baselines=baselines):
            if text.strip():
                baselines.append(tm[4] * cm[1] + tm[5] * cm[3] + cm[5])  # page's y

        page.extract_text(visitor_text=visit)
        for (_x1, y1, x2, y2), number in links:
            inside = [y for y in baselines if y1 <= y <= y2]
            # the baseline of the title's first line (the highest inside the link)
            y = max(inside) if inside else y1 + 0.3 * (y2 - y1)
            found.setdefault(index, []).append((x2, y, number))
    return found


def _stamp_numbers(writer, numbers: dict[int, list[tuple[float, float, int]]]) -> None:
    """Write ``numbers`` (from :func:`contents_numbers`) onto the sheets of ``writer``."""
    from pypdf.generic import ArrayObject, DecodedStreamObject, DictionaryObject, NameObject

    font = writer._add_object(
        DictionaryObject(
            {
                NameObject("/Type"): NameObject("/Font"),
                NameObject("/Subtype"): NameObject("/Type1"),
                NameObject("/BaseFont"): NameObject("/Helvetica"),
                NameObject("/Encoding"): NameObject("/WinAnsiEncoding"),
            }
        )
    )

    def stream(data: str):
        obj = DecodedStreamObject()
        obj.set_data(data.encode("ascii"))
        return writer._add_object(obj)

    for index, entries in numbers.items():
        page = writer.pages[index]
        resources = page["/Resources"].get_object()
        fonts = resources.get("/Font")
        if fonts is None:
            fonts = DictionaryObject()
            resources[NameObject("/Font")] = fonts
        fonts.get_object()[NameObject(TOC_FONT)] = font
        text = "".join(
            f"BT {TOC_FONT} {TOC_SIZE:g} Tf "
            f"{x - len(str(n)) * HELVETICA_DIGIT * TOC_SIZE:.2f} {y:.2f} Td ({n}) Tj ET\n"
            for x, y, n in entries
        )
        contents = page.get("/Contents")
        parts = (
            list(contents.get_object()) if isinstance(contents.get_object(), list) else [contents]
        )
        # the page's own drawing in a saved graphics state: the numbers are drawn in the
        # page's default coordinates, whatever transform the page leaves behind
        page[NameObject("/Contents")] = ArrayObject(
            [stream("q\n"), *parts, stream("\nQ\nq 0 g\n" + text + "Q\n")]
        )


def retitle_outline(
    pdf: Path,
    headings: list[tuple[int, str]],
    numbers: dict[int, list[tuple[float, float, int]]] | None = None,
) -> None:
    """Name the outline entries of ``pdf`` (Chromium's, one per heading, in order) by
    the headings' own text; open the PDF with its outline shown. With ``numbers``
    (:func:`contents_numbers`), write the page numbers of the contents too."""
    from pypdf import PdfWriter
    from pypdf.generic import NameObject, TextStringObject

    writer = PdfWriter(clone_from=str(pdf))
    if numbers:
        _stamp_numbers(writer, numbers)
    entries = _outline_entries(writer)
    if len(entries) != len(headings):
        raise BuildError(
            f"the PDF's outline has {len(entries)} entries for {len(headings)} headings"
        )
    for entry, (_, title) in zip(entries, headings, strict=True):
        if _key(title)[:12] not in _key(str(entry["/Title"])):
            raise BuildError(f"outline entry {entry['/Title']!r} is not the heading {title!r}")
        entry[NameObject("/Title")] = TextStringObject(title)
    writer.page_mode = "/UseOutlines"
    writer.write(pdf)


def outline_starts(pdf: Path, headings: list[tuple[int, str]]) -> dict[str, int]:
    """The page number each top-level outline entry of ``pdf`` points at, by its heading's
    title (lower case, letters and digits only): Chromium's top-level entries are the
    level-1 headings, in order."""
    from pypdf import PdfReader

    reader = PdfReader(pdf)
    top = [item for item in reader.outline if not isinstance(item, list)]
    titles = [title for level, title in headings if level == 1]
    if len(top) != len(titles):
        raise BuildError(f"the PDF's outline has {len(top)} top entries for {len(titles)} titles")
    return {
        _key(title): reader.get_destination_page_number(item) + 1
        for item, title in zip(top, titles, strict=True)
    }


class _Quiet(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args):
        pass


def chromium() -> str:
    names = ("chromium", "chromium-browser", "google-chrome")
    exe = os.environ.get("CHROMIUM") or next(filter(None, map(shutil.which, names)), None)
    if exe is None:
        raise BuildError("make pdf needs Debian's chromium (apt-get install chromium).")
    return exe


def single_page(book: Path = ROOT) -> Path:
    """Build the single-page HTML of the book (no re-execution: the cache is shared)."""
    if "site-assets" in (book / "_config.yml").read_text():
        build_book.vendor_assets(book)
    build_book.assignment_pages(book)
    cmd = build_book.jupyter_book_command() + [
        "build", str(book), "--builder", "singlehtml", "--keep-going",
    ]  # fmt: skip
    print("[pdf] jupyter-book build --builder singlehtml", flush=True)
    proc = subprocess.run(cmd, cwd=book, capture_output=True, text=True)
    if proc.returncode != 0:
        print(proc.stdout[-4000:] + proc.stderr[-4000:])
        raise BuildError("the single-page build failed (log above)")
    index = book / "_build" / "singlehtml" / "index.html"
    if not index.exists():
        raise BuildError(f"no {index} after the single-page build")
    # jupyter-book writes the single page under the root document's name and makes
    # index.html a redirect to it.
    redirect = re.search(r'url=([^"]+)"', index.read_text())
    page = index.parent / redirect.group(1) if redirect else index
    if not page.exists():
        raise BuildError(f"no {page} after the single-page build")
    # Its links to _static/ and _images/ are written relative to the build's root, not
    # to book/ where the root document puts it: read it from the root.
    single = index.parent / "single.html"
    single.write_text(page.read_text(encoding="utf-8"), encoding="utf-8")
    return single


def print_pdf(page: Path, target: Path, root: Path, timeout_ms: int = 120_000) -> Path:
    """Serve ``root`` on 127.0.0.1, open ``page`` in it, typeset its math, print to ``target``."""
    from playwright.sync_api import sync_playwright

    handler = functools.partial(_Quiet, directory=str(root))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    url = f"http://127.0.0.1:{server.server_address[1]}/{page.relative_to(root).as_posix()}"
    try:
        with sync_playwright() as p:
            browser = p.chromium.launch(
                executable_path=chromium(), headless=True, args=CHROMIUM_ARGS
            )
            tab = browser.new_page()
            tab.route(re.compile(r"^(?!http://127\.0\.0\.1|data:)"), lambda route: route.abort())
            tab.goto(url, wait_until="networkidle", timeout=timeout_ms)
            tab.add_style_tag(content=PRINT_CSS)
            tab.wait_for_function(
                "() => window.MathJax && MathJax.startup && MathJax.startup.promise",
                timeout=timeout_ms,
            )
            tab.evaluate("() => MathJax.startup.promise.then(() => MathJax.typesetPromise())")
            # The interactive charts print in their first state, drawn by the site's vega.
            tab.wait_for_function(
                "() => !document.querySelector('div.book-vega')"
                " || document.documentElement.dataset.bookCharts === 'ready'",
                timeout=timeout_ms,
            )
            tab.evaluate(OUTLINE_JS)
            tab.emulate_media(media="print")
            target.parent.mkdir(parents=True, exist_ok=True)
            options = dict(
                format="A4",
                print_background=True,
                outline=True,  # bookmarks from the headings (tagged: their structure)
                tagged=True,
                margin={"top": "18mm", "bottom": "18mm", "left": "16mm", "right": "16mm"},
                display_header_footer=True,
                header_template="<span></span>",
                footer_template=(
                    '<div style="font-size:8px;width:100%;text-align:center">'
                    '<span class="pageNumber"></span> / <span class="totalPages"></span></div>'
                ),
            )
            headings = tab.evaluate(HEADINGS_JS)
            tab.pdf(path=str(target), **options)
            browser.close()
    finally:
        server.shutdown()
        server.server_close()
    # the contents (sheet 1 on), the root page, then every other page of the book
    _contents, root, *pages = sorted(outline_starts(target, headings).values())
    links = contents_numbers(target, before=root - 1)
    slots = [(index, x, y, dest) for index in sorted(links) for x, y, dest in links[index]]
    # the contents link every page after the root page, in order; a link leads to the
    # anchor just above its page's title (the end of the sheet before, or its own sheet)
    leads = [dest for *_, dest in slots]
    if len(slots) != len(pages) or any(
        not p - 1 <= d <= p for d, p in zip(leads, pages, strict=False)
    ):
        raise BuildError(f"the contents lead to sheets {leads}, the pages start on {pages}")
    numbers: dict[int, list[tuple[float, float, int]]] = {}
    for (index, x, y, _), start in zip(slots, pages, strict=True):
        numbers.setdefault(index, []).append((x, y, start))
    retitle_outline(target, headings, numbers)
    return target


def make_pdf(book: Path = ROOT) -> Path:
    start = time.perf_counter()
    page = single_page(book)
    target = book / "_build" / "pdf" / PDF_NAME
    print("[pdf] printing with headless Chromium (MathJax typeset first)", flush=True)
    print_pdf(page, target, root=book / "_build" / "singlehtml")
    site = book / "_build" / "html"
    if site.is_dir():
        shutil.copy2(target, site / PDF_NAME)
        rewrite_links(site, book)  # the download menus now link to it
    print(f"[pdf] {time.perf_counter() - start:.0f} s", flush=True)
    return target


def main() -> int:
    try:
        target = make_pdf()
    except BuildError as err:
        print(f"PDF FAILED: {err}", file=sys.stderr)
        return 1
    print(f"PDF BUILT: {target}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
