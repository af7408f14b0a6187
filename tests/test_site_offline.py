"""The built site loads nothing from another host: scripts, styles, fonts, images, frames."""

from __future__ import annotations

import re
from html.parser import HTMLParser
from pathlib import Path

import pytest

pytestmark = pytest.mark.slow

# Attributes through which a page makes the browser fetch something by itself.
LOADING = {
    "script": ["src"],
    "img": ["src", "srcset"],
    "iframe": ["src"],
    "source": ["src", "srcset"],
    "video": ["src", "poster"],
    "audio": ["src"],
    "embed": ["src"],
    "object": ["data"],
}
LINK_RELS_THAT_LOAD = {
    "stylesheet",
    "preload",
    "modulepreload",
    "icon",
    "shortcut icon",
    "prefetch",
    "manifest",
}
REMOTE = re.compile(r"^(https?:)?//", re.IGNORECASE)


class LoadCollector(HTMLParser):
    def __init__(self):
        super().__init__()
        self.urls: list[str] = []

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        for name in LOADING.get(tag, []):
            if a.get(name):
                self.urls.extend(u.strip().split(" ")[0] for u in a[name].split(","))
        if tag == "link" and (a.get("rel") or "").lower() in LINK_RELS_THAT_LOAD and a.get("href"):
            self.urls.append(a["href"])
        for name, value in a.items():
            if name.startswith("data-") and name.endswith("cdn") and value:
                self.urls.append(value)


def remote_loads_in_html(text: str) -> list[str]:
    parser = LoadCollector()
    parser.feed(text)
    return [u for u in parser.urls if REMOTE.match(u)]


def remote_loads_in_css(text: str) -> list[str]:
    urls = re.findall(r"url\(\s*['\"]?([^'\")]+)", text) + re.findall(
        r"@import\s+['\"]([^'\"]+)", text
    )
    return [u for u in urls if REMOTE.match(u)]


def test_scanner_detects_remote_loads():
    html = '<script src="https://cdn.example.org/x.js"></script><link rel="stylesheet" href="//fonts.example.org/a.css"><a href="https://example.org">a link is fine</a>'
    assert remote_loads_in_html(html) == [
        "https://cdn.example.org/x.js",
        "//fonts.example.org/a.css",
    ]
    assert remote_loads_in_css("@font-face{src:url('https://x.example/f.woff2')}") == [
        "https://x.example/f.woff2"
    ]


def test_no_page_loads_from_another_host(built_site: Path):
    offenders = {}
    pages = list(built_site.rglob("*.html"))
    assert pages
    for page in pages:
        found = remote_loads_in_html(page.read_text(encoding="utf-8"))
        if found:
            offenders[str(page.relative_to(built_site))] = found
    assert not offenders, offenders


def test_no_stylesheet_loads_from_another_host(built_site: Path):
    offenders = {}
    for sheet in built_site.rglob("*.css"):
        found = remote_loads_in_css(sheet.read_text(encoding="utf-8", errors="replace"))
        if found:
            offenders[str(sheet.relative_to(built_site))] = found
    assert not offenders, offenders


def test_math_and_widget_renderer_are_served_by_the_site(built_site: Path):
    intro = (built_site / "book" / "intro.html").read_text(encoding="utf-8")
    assert "_static/vendor/mathjax/tex-chtml.js" in intro
    assert (built_site / "_static/vendor/mathjax/tex-chtml.js").is_file()
    assert (built_site / "_static/vendor/mathjax/output/chtml/fonts/woff-v2").is_dir()
    assert (built_site / "_static/vendor/requirejs/require.js").is_file()
    assert (built_site / "_static/vendor/jupyter-widgets/embed-amd.js").is_file()
