"""``make pdf``: the whole book as one PDF, printed by Chromium from a single-page build.

1. ``jupyter-book build --builder singlehtml`` (reuses the execution cache of
   ``make book``: no chapter runs again) writes every page into one HTML file;
2. that page is served on 127.0.0.1 and opened in headless Chromium (Debian's
   ``chromium``, driven by Playwright); the script waits until MathJax has typeset
   every equation, then prints to PDF (A4, with backgrounds);
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
PRINT_CSS = """
@media print {
  .bd-header, .bd-sidebar-primary, .bd-sidebar-secondary, .header-article,
  .prev-next-area, .bd-footer, .bd-footer-content, .bd-header-article,
  .toggle-secondary-sidebar, .headerlink, .copybtn { display: none !important; }
  .bd-main .bd-content .bd-article-container { max-width: 100% !important; }
  h1 { break-before: page; }
  figure, table, .cell_output img { break-inside: avoid; }
  pre { white-space: pre-wrap !important; overflow-wrap: anywhere; }
}
"""


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
            tab.emulate_media(media="print")
            target.parent.mkdir(parents=True, exist_ok=True)
            tab.pdf(
                path=str(target),
                format="A4",
                print_background=True,
                margin={"top": "18mm", "bottom": "18mm", "left": "16mm", "right": "16mm"},
                display_header_footer=True,
                header_template="<span></span>",
                footer_template=(
                    '<div style="font-size:8px;width:100%;text-align:center">'
                    '<span class="pageNumber"></span> / <span class="totalPages"></span></div>'
                ),
            )
            browser.close()
    finally:
        server.shutdown()
        server.server_close()
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
