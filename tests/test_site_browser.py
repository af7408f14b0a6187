"""Smoke test of the built site in headless Chromium, served on 127.0.0.1 by the test itself."""

from __future__ import annotations

import functools
import http.server
import os
import re
import shutil
import threading
from pathlib import Path
from urllib.parse import urlparse

import build_book
import pytest

pytestmark = pytest.mark.slow

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


def _require_chromium():
    if CHROMIUM is None:
        message = "Debian's chromium is not installed (apt-get install chromium)"
        if os.environ.get("CI"):
            pytest.fail(message)
        pytest.skip(message)


class QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args):
        pass


@pytest.fixture(scope="module")
def site_url(built_site: Path):
    handler = functools.partial(QuietHandler, directory=str(built_site))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


@pytest.fixture(scope="module")
def browser():
    _require_chromium()
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
        yield b
        b.close()


def open_page(browser, url: str):
    """Open url; return (page, console errors, requests that tried to leave 127.0.0.1)."""
    context = browser.new_context()
    page = context.new_page()
    errors, escaped = _watch(page)
    page.goto(url, wait_until="networkidle")
    return page, errors, escaped


def _watch(page) -> tuple[list[str], list[str]]:
    """Collect the page's console errors, and stop (and list) requests that leave 127.0.0.1."""
    errors: list[str] = []
    escaped: list[str] = []
    page.on("console", lambda msg: errors.append(msg.text) if msg.type == "error" else None)
    page.on("pageerror", lambda exc: errors.append(str(exc)))

    def guard(route):
        host = urlparse(route.request.url).hostname
        if host in ("127.0.0.1", None) or route.request.url.startswith("data:"):
            route.continue_()
        else:
            escaped.append(route.request.url)
            route.abort()

    page.route("**/*", guard)
    return errors, escaped


def test_landing_page_typesets_math_without_errors(browser, site_url):
    page, errors, escaped = open_page(browser, f"{site_url}/index.html")
    page.wait_for_selector("mjx-container", timeout=20_000)
    assert page.locator("mjx-container").count() >= 2
    # The displayed model equation is typeset, not left as raw TeX.
    assert "\\gamma_{00}" not in page.locator("article").inner_text()
    assert "Multilevel Regression" in page.title()
    assert errors == []
    assert escaped == []


# Each page is opened once per width (a fixture per page and width, kept while the
# checks of that page run: loading, accessibility, layout, figure text).
VIEWPORTS = {"desktop": 1280, "phone": 390}


def _page_at(browser, url, width):
    """Open url at width, after MathJax has typeset and every image has loaded;
    return (context, page, console errors, requests that tried to leave 127.0.0.1)."""
    context = browser.new_context(viewport={"width": width, "height": 900})
    page = context.new_page()
    errors, escaped = _watch(page)
    page.goto(url, wait_until="networkidle")
    if page.locator("mjx-container").count():
        page.wait_for_function(
            "() => !window.MathJax || !MathJax.startup || MathJax.startup.promise"
            " && document.querySelectorAll('mjx-container').length > 0",
            timeout=20_000,
        )
        page.evaluate("async () => { if (window.MathJax?.startup) await MathJax.startup.promise; }")
    page.wait_for_function(
        "() => Array.from(document.images).every((i) => i.complete)", timeout=20_000
    )
    return context, page, errors, escaped


@pytest.fixture(scope="module", params=build_book.toc_pages())
def desktop(request, browser, site_url):
    """(page name, page, console errors, escaped requests) at the desktop width."""
    context, page, errors, escaped = _page_at(
        browser, f"{site_url}/{request.param}.html", VIEWPORTS["desktop"]
    )
    yield request.param, page, errors, escaped
    context.close()


@pytest.fixture(scope="module", params=build_book.toc_pages())
def phone(request, browser, site_url):
    """(page name, page, console errors, escaped requests) at the phone width."""
    context, page, errors, escaped = _page_at(
        browser, f"{site_url}/{request.param}.html", VIEWPORTS["phone"]
    )
    yield request.param, page, errors, escaped
    context.close()


def test_every_page_loads_cleanly(desktop):
    _, page, errors, escaped = desktop
    assert page.locator("article h1").count() == 1
    assert errors == []
    assert escaped == []


# Accessibility (axe-core, installed by npm ci). Violations of these rules come from
# markup the book does not write, and are listed here with the reason rather than
# hidden: the pydata theme's search and colour-mode buttons have an aria-label that
# differs from their visible text, and Sphinx's citation list uses role="list" on
# <div> children without role="listitem".
AXE = build_book.ROOT / "node_modules" / "axe-core" / "axe.min.js"
THIRD_PARTY_RULES = {
    "label-content-name-mismatch": "pydata-sphinx-theme header buttons",
    "aria-required-children": "Sphinx citation list markup (bibliography page)",
}


def test_no_serious_accessibility_violations(desktop):
    assert AXE.is_file(), "axe-core is not installed: run npm ci"
    _, page, _, _ = desktop
    page.add_script_tag(path=str(AXE))
    result = page.evaluate("async () => await axe.run(document, {resultTypes: ['violations']})")
    serious = [
        (v["id"], [n["target"] for n in v["nodes"]][:3])
        for v in result["violations"]
        if v["impact"] in ("serious", "critical") and v["id"] not in THIRD_PARTY_RULES
    ]
    assert serious == []


# Layout: nothing wider than its column, at a desktop and a phone width. Display
# equations and figures must fit the article column; a table (or code) may be wider
# only inside a box that scrolls horizontally and itself fits the column.

OVERFLOW_JS = """
() => {
  const column = document.querySelector("article.bd-article") || document.querySelector("article");
  // The text column: the article's first section (the article box itself may span
  // the whole viewport on a phone, its content does not).
  const col = (column.querySelector("section") || column).getBoundingClientRect();
  const tol = 1.5;
  const scrollBox = (el) => {
    for (let a = el.parentElement; a && a !== column.parentElement; a = a.parentElement) {
      const ox = getComputedStyle(a).overflowX;
      if (ox === "auto" || ox === "scroll") return a;
    }
    return null;
  };
  const clippedBy = (el) => {
    const r = el.getBoundingClientRect();
    for (let a = el.parentElement; a && a !== document.body; a = a.parentElement) {
      const ox = getComputedStyle(a).overflowX;
      if (ox === "hidden" || ox === "clip") {
        const ar = a.getBoundingClientRect();
        if (r.right > ar.right + tol || r.left < ar.left - tol) return a;
      }
    }
    return null;
  };
  const name = (el) => {
    const fig = el.closest("figure");
    const label = (fig && fig.id) || el.id || el.closest("[id]")?.id || "";
    return `${el.tagName.toLowerCase()}#${label}`;
  };
  const problems = [];
  const check = (el, kind, mayScroll) => {
    if (!el.offsetParent && el.tagName !== "MJX-CONTAINER") return;  // not displayed
    const r = el.getBoundingClientRect();
    if (r.width === 0) return;
    const box = mayScroll ? scrollBox(el) : null;
    const outer = box ? box.getBoundingClientRect() : r;
    if (outer.right > col.right + tol || outer.left < col.left - tol) {
      problems.push(`${kind} ${name(el)} is ${Math.round(outer.width)} px wide in a ` +
                    `${Math.round(col.width)} px column`);
    }
    const clip = clippedBy(box || el);
    if (clip) problems.push(`${kind} ${name(el)} is clipped by ${clip.className}`);
  };
  // The typeset width of a display equation is that of its mjx-math child.
  column.querySelectorAll('mjx-container[display="true"]').forEach((c) => {
    const math = c.querySelector("mjx-math") || c;
    const r = math.getBoundingClientRect();
    const box = c.getBoundingClientRect();
    if (r.right > col.right + tol || r.left < col.left - tol || r.width > col.width + tol) {
      problems.push(`equation ${name(c)} is ${Math.round(r.width)} px wide in a ` +
                    `${Math.round(col.width)} px column`);
    }
    // MathJax's container scrolls or clips what does not fit beside the equation
    // number: either way part of the equation is out of sight.
    if (c.scrollWidth > c.clientWidth + tol || r.right > box.right + tol) {
      problems.push(`equation ${name(c)} is ${Math.round(r.width)} px wide in a ` +
                    `${Math.round(c.clientWidth)} px box: part of it is out of sight`);
    }
  });
  column.querySelectorAll("img, svg.main-svg, canvas").forEach((el) => check(el, "figure", false));
  column.querySelectorAll("table").forEach((el) => check(el, "table", true));
  column.querySelectorAll("pre").forEach((el) => check(el, "code", true));
  return problems;
}
"""


def test_nothing_is_wider_than_its_column_at_desktop_width(desktop):
    assert desktop[1].evaluate(OVERFLOW_JS) == []


def test_nothing_is_wider_than_its_column_on_a_phone(phone):
    assert phone[1].evaluate(OVERFLOW_JS) == []


# Figure text: figures are saved at FIGURE_DPI with no text smaller than MIN_FONT_PT
# (helpers.book; tests/test_chapters_lint.py checks the chapters set no smaller font),
# so the smallest text in a figure is MIN_FONT_PT * FIGURE_DPI / 72 image pixels high
# (font size in px; about 0.7 of it is the height of a capital). On the page the image
# is scaled by its displayed width over its natural width.
MIN_TEXT_PX = 9


# Figures whose text is knowingly below the minimum, with the reason, rather than
# hidden: chapter 5's static grid of shrinkage panels is being replaced by an
# interactive chart.
def _small_figure_text(page) -> list[tuple[str, float]]:
    """Figures whose smallest text is shown below MIN_TEXT_PX: (figure id, text px).

    helpers.plots keeps every figure at most MAX_WIDTH_IN wide with text of at least
    MIN_FONT_PT (a figure hook), so this holds unless a figure's saved image grows
    beyond its size (a legend or label placed outside the axes widens the tight box).
    """
    from helpers.book import FIGURE_DPI, MIN_FONT_PT

    images = page.evaluate(
        """() => Array.from(document.querySelectorAll("article img"))
             .filter((i) => i.src.includes("/_images/") || i.src.startsWith("data:image/png"))
             .filter((i) => i.naturalWidth > 0 && i.offsetParent)
             .map((i) => ({id: i.closest("figure")?.id || i.alt.slice(0, 40),
                           shown: i.getBoundingClientRect().width,
                           natural: i.naturalWidth}))"""
    )
    font_px = MIN_FONT_PT * FIGURE_DPI / 72
    return [
        (img["id"], round(font_px * img["shown"] / img["natural"], 1))
        for img in images
        if font_px * img["shown"] / img["natural"] < MIN_TEXT_PX
    ]


def test_figure_text_is_at_least_9_px_at_desktop_width(desktop):
    assert _small_figure_text(desktop[1]) == []


def test_figure_text_is_at_least_9_px_on_a_phone(phone):
    """At a 390 px screen a figure shrinks to its column; its text must stay >= 9 px."""
    assert _small_figure_text(phone[1]) == []


# The notation table on a phone: its rows stack (symbol, meaning, name in the code),
# so that every cell is on the screen without scrolling the table sideways.
NOTATION_JS = """
() => {
  const table = document.querySelector("section#notation table");
  const col = document.querySelector("article.bd-article section").getBoundingClientRect();
  const cells = Array.from(table.querySelectorAll("tbody td"));
  const off = cells.filter((td) => {
    const r = td.getBoundingClientRect();
    return r.width > 0 && (r.right > col.right + 1.5 || r.left < col.left - 1.5);
  }).map((td) => td.textContent.trim().slice(0, 30));
  const code = cells.filter((td, i) => td.cellIndex === 2 || i % 3 === 2)[0];
  return {table: Math.round(table.getBoundingClientRect().width), column: Math.round(col.width),
          rows: table.querySelectorAll("tbody tr").length, off,
          label: getComputedStyle(code, "::before").content};
}
"""


@pytest.mark.parametrize("phone", ["book/notation"], indirect=True)  # the same page load
def test_notation_table_stacks_on_a_phone(phone):
    found = phone[1].evaluate(NOTATION_JS)
    assert found["rows"] >= 10, found
    assert found["table"] <= found["column"], found
    assert found["off"] == [], found
    assert "In the code" in found["label"], found


# The search page on a phone: the magnifier beside the query, not over its first
# letter; the summaries under the results are the pages' visible text, without the
# hidden cells (share(...), assert ...) and without raw TeX.
SEARCH_JS = """
() => {
  const form = document.querySelector(".bd-search-container form.bd-search");
  const icon = form.querySelector(".fa-magnifying-glass").getBoundingClientRect();
  const input = form.querySelector("input");
  const r = input.getBoundingClientRect();
  const textLeft = r.left + parseFloat(getComputedStyle(input).paddingLeft);
  const summaries = Array.from(document.querySelectorAll("#search-results ul.search li"))
    .map((li) => (li.querySelector(".context") || {}).textContent || "");
  return {iconRight: icon.right, iconWidth: icon.width, textLeft, summaries};
}
"""


def test_search_on_a_phone_shows_the_query_and_clean_summaries(browser, site_url):
    context = browser.new_context(viewport={"width": VIEWPORTS["phone"], "height": 900})
    page = context.new_page()
    errors, escaped = _watch(page)
    try:
        page.goto(f"{site_url}/search.html?q=variance", wait_until="networkidle")
        # every result gets its summary from its page (fetched after the list is shown)
        page.wait_for_function(
            "() => { const li = document.querySelectorAll('#search-results ul.search li');"
            " return li.length > 3 && Array.from(li).every((x) => x.querySelector('.context')); }",
            timeout=30_000,
        )
        found = page.evaluate(SEARCH_JS)
    finally:
        context.close()
    assert found["iconWidth"] > 0
    assert found["iconRight"] <= found["textLeft"], found
    text = "\n".join(found["summaries"])
    assert "variance" in text.lower()
    leaked = [
        s for s in found["summaries"] if re.search(r"share\(|assert |\\\(|\\\[|\\[a-zA-Z]{2,}", s)
    ]
    assert leaked == []
    assert errors == [] and escaped == []
