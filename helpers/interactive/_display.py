"""How a chart is shown: in JupyterLab (a Vega-Lite mime bundle) and on a book page.

Importing this module (which :mod:`helpers.interactive` does) registers the Altair
renderer ``"book"`` and enables it unless another renderer was chosen; the
MyST-NB plugin :class:`MystNbLabSpec` (entry point ``helpers.interactive:MystNbLabSpec``)
turns a chart's output into the page's HTML. See :mod:`helpers.interactive`.
"""

from __future__ import annotations

import html
import json

import altair as alt

__all__ = ["LAB_MIME", "MystNbLabSpec", "book_renderer", "chart_html", "spec_for_lab"]


LAB_MIME = "application/vnd.vegalite.v5+json"


def spec_for_lab(spec: dict) -> dict:
    """The same spec labelled for the Vega-Lite 5 renderer that JupyterLab 4 ships."""
    out = dict(spec)
    out["$schema"] = "https://vega.github.io/schema/vega-lite/v5.json"
    return out


def chart_html(spec: dict) -> str:
    """The page HTML of a chart: its spec as JSON, a view to draw in, a text fallback."""
    description = spec.get("description", "Interactive chart")
    payload = json.dumps(spec, separators=(",", ":")).replace("</", "<\\/")
    return (
        '<div class="book-vega">'
        f'<script type="application/json" class="book-vega-spec">{payload}</script>'
        '<div class="book-vega-view"></div>'
        f'<p class="book-vega-fallback">{html.escape(description)} '
        "(This figure is interactive: it needs JavaScript.)</p>"
        "</div>"
    )


def book_renderer(spec: dict, **metadata) -> dict:
    """Altair renderer: the Vega-Lite mime bundle (JupyterLab draws it) and text."""
    return {
        LAB_MIME: spec_for_lab(spec),
        "text/plain": spec.get("description", "Interactive chart"),
    }


class MystNbLabSpec:
    """MyST-NB mime plugin (entry point ``myst_nb.mime_renderers``): on a book page
    (HTML builders) a chart's Vega-Lite output becomes the page HTML of
    :func:`chart_html`, with the spec's own Vega-Lite schema restored."""

    mime_priority_overrides = tuple((b, LAB_MIME, 5) for b in ("html", "singlehtml", "dirhtml"))

    @staticmethod
    def handle_mime(renderer, data, inline):
        if data.mime_type != LAB_MIME or inline:
            return None
        from docutils import nodes

        content = data.content
        spec = dict(json.loads(content) if isinstance(content, str | bytes) else content)
        spec["$schema"] = alt.SCHEMA_URL
        return [nodes.raw(text=chart_html(spec), format="html", classes=["output", "text_html"])]


alt.renderers.register("book", book_renderer)
if alt.renderers.active == "default":
    alt.renderers.enable("book")
