"""Interactive Vega-Lite charts on the book's pages, rendered with the site's own copies.

A chart cell's HTML output (from the ``"book"`` renderer of ``helpers.interactive``)
is a ``<div class="book-vega">`` holding the spec as JSON and a text fallback. On a
page that contains one, this extension adds ``book-charts.js``, which loads vega,
vega-lite and vega-embed from ``_static/vendor/`` (copied from ``node_modules`` by
``tools/build_book.py``) and draws every chart; pages without a chart load nothing.
"""

from pathlib import Path

STATIC = Path(__file__).parent / "vegacharts_static"
MARKER = 'class="book-vega"'
# Loaded in this order by book-charts.js; fetched early (in parallel) through preload links.
LIBS = ("vega/vega.min.js", "vega-lite/vega-lite.min.js", "vega-embed/vega-embed.min.js")


def _add_static_path(app, config):
    config.html_static_path.append(str(STATIC))


def _add_chart_scripts(app, pagename, templatename, context, doctree):
    if MARKER in (context.get("body") or ""):
        app.add_css_file("book-charts.css")
        app.add_js_file("book-charts.js", defer="defer")
        pathto = context["pathto"]
        context["metatags"] = context.get("metatags", "") + "".join(
            f'<link rel="preload" as="script" href="{pathto("_static/vendor/" + lib, 1)}">'
            for lib in LIBS
        )


def setup(app):
    app.connect("config-inited", _add_static_path)
    app.connect("html-page-context", _add_chart_scripts)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
