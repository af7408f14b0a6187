"""Smoke test of the built site in headless Chromium, served on 127.0.0.1 by the test itself."""

from __future__ import annotations

import functools
import http.server
import os
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
    page.goto(url, wait_until="networkidle")
    return page, errors, escaped


def test_landing_page_typesets_math_without_errors(browser, site_url):
    page, errors, escaped = open_page(browser, f"{site_url}/index.html")
    page.wait_for_selector("mjx-container", timeout=20_000)
    assert page.locator("mjx-container").count() >= 2
    # The displayed model equation is typeset, not left as raw TeX.
    assert "\\gamma_{00}" not in page.locator("article").inner_text()
    assert "Multilevel Regression" in page.title()
    assert errors == []
    assert escaped == []


@pytest.mark.parametrize("page_name", build_book.toc_pages())
def test_every_page_loads_cleanly(browser, site_url, page_name):
    page, errors, escaped = open_page(browser, f"{site_url}/{page_name}.html")
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


@pytest.mark.parametrize("page_name", build_book.toc_pages())
def test_no_serious_accessibility_violations(browser, site_url, page_name):
    assert AXE.is_file(), "axe-core is not installed: run npm ci"
    page, _, _ = open_page(browser, f"{site_url}/{page_name}.html")
    page.add_script_tag(path=str(AXE))
    result = page.evaluate("async () => await axe.run(document, {resultTypes: ['violations']})")
    serious = [
        (v["id"], [n["target"] for n in v["nodes"]][:3])
        for v in result["violations"]
        if v["impact"] in ("serious", "critical") and v["id"] not in THIRD_PARTY_RULES
    ]
    assert serious == []
