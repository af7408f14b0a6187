"""Interactive Vega-Lite charts on the book's pages, rendered with the site's own copies.

A chart cell's HTML output (from the ``"book"`` renderer of ``helpers.interactive``)
is a ``<div class="book-vega">`` holding the spec as JSON and a text fallback. On a
page that contains one, this extension adds ``book-charts.js``, which loads vega,
vega-lite and vega-embed from ``_static/vendor/`` (copied from ``node_modules`` by
``tools/build_book.py``) and draws every chart; pages without a chart load nothing.

Each chart's first state is also drawn here, at build time, as an SVG image (with
vl-convert, the same Vega in a headless runtime) and put in a ``<noscript>`` next to
the text fallback, with the chart's description as alt text: a reader without
JavaScript sees the figure as it first appears; a reader with JavaScript never
fetches the image.
"""

import html
import json
import re
from pathlib import Path

STATIC = Path(__file__).parent / "vegacharts_static"
MARKER = 'class="book-vega"'
# Loaded in this order by book-charts.js; fetched early (in parallel) through preload links.
LIBS = ("vega/vega.min.js", "vega-lite/vega-lite.min.js", "vega-embed/vega-embed.min.js")


CHART = re.compile(
    r'(<div class="book-vega"><script type="application/json" class="book-vega-spec">)'
    r"(.*?)(</script>)(.*?)(<p class=\"book-vega-fallback\">)",
    re.S,
)
IMAGES = "_images/book-vega"


def _static_first_states(app, pagename, context):
    """Insert a <noscript> image of each chart's first state before its text fallback."""
    import vl_convert

    pathto = context["pathto"]
    count = 0

    def replace(match):
        nonlocal count
        count += 1
        spec = json.loads(match.group(2).replace("<\\/", "</"))
        name = f"{pagename.replace('/', '-')}-{count}.svg"
        target = Path(app.outdir) / IMAGES / name
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(vl_convert.vegalite_to_svg(spec), encoding="utf-8")
        alt = html.escape(spec.get("description", "Interactive chart"))
        image = (
            f'<noscript><img class="book-vega-static" src="{pathto(IMAGES + "/" + name, 1)}" '
            f'alt="{alt}"></noscript>'
        )
        return "".join(match.group(i) for i in (1, 2, 3, 4)) + image + match.group(5)

    context["body"] = CHART.sub(replace, context["body"])


def _add_static_path(app, config):
    config.html_static_path.append(str(STATIC))


def _add_chart_scripts(app, pagename, templatename, context, doctree):
    if MARKER in (context.get("body") or ""):
        _static_first_states(app, pagename, context)
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
