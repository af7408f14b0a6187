"""Small adjustments of the book's build.

* Citation style: author-year in round brackets, e.g. Hox (2010), (Bates et al., 2015),
  and a reference list labelled and sorted the same way.
* Each script is included once per page (sphinx-thebe registers its inline
  configuration twice under Jupyter Book, which the browser reports as an error).
* Hidden cells (hide-cell, hide-input, hide-output: the checks and ``share`` calls
  behind the text) are left out of the search index.
"""

from dataclasses import dataclass, field

import pybtex.plugin
import sphinxcontrib.bibtex.plugin
from docutils import nodes
from pybtex.style.formatting.unsrt import Style as UnsrtStyle
from pybtex.style.labels import BaseLabelStyle
from pybtex.style.sorting.author_year_title import SortingStyle
from sphinxcontrib.bibtex.style.referencing import BracketStyle
from sphinxcontrib.bibtex.style.referencing.author_year import AuthorYearReferenceStyle


def _round() -> BracketStyle:
    return BracketStyle(left="(", right=")")


@dataclass
class RoundAuthorYearStyle(AuthorYearReferenceStyle):
    bracket_parenthetical: BracketStyle = field(default_factory=_round)
    bracket_textual: BracketStyle = field(default_factory=_round)
    bracket_author: BracketStyle = field(default_factory=_round)
    bracket_label: BracketStyle = field(default_factory=_round)
    bracket_year: BracketStyle = field(default_factory=_round)


sphinxcontrib.bibtex.plugin.register_plugin(
    "sphinxcontrib.bibtex.style.referencing", "author_year_round", RoundAuthorYearStyle
)


class AuthorYearLabelStyle(BaseLabelStyle):
    """Labels such as "Hox 2010", "Gelman & Hill 2007", "Bates et al. 2015"."""

    def format_labels(self, sorted_entries):
        for entry in sorted_entries:
            persons = entry.persons.get("author") or entry.persons.get("editor") or []
            last = ["".join(" ".join(p.last_names).split("{")).replace("}", "") for p in persons]
            if len(last) == 1:
                who = last[0]
            elif len(last) == 2:
                who = f"{last[0]} & {last[1]}"
            else:
                who = f"{last[0]} et al."
            yield f"{who} {entry.fields.get('year', '')}".strip()


class BookStyle(UnsrtStyle):
    default_label_style = AuthorYearLabelStyle
    default_sorting_style = SortingStyle


pybtex.plugin.register_plugin("pybtex.style.formatting", "bookstyle", BookStyle)


def _drop_duplicate_scripts(app, pagename, templatename, context, doctree):
    seen, unique = set(), []
    for script in context["script_files"]:
        attributes = dict(getattr(script, "attributes", {}))
        attributes.pop("priority", None)
        key = (getattr(script, "filename", None) or "", tuple(sorted(attributes.items())))
        if key not in seen:
            seen.add(key)
            unique.append(script)
    context["script_files"][:] = unique  # in place: later handlers (MathJax) add to this list


def _register_hidden_cells_for_single_page(app) -> None:
    """MyST-NB renders hide-cell cells (a <details> box) for the html builder only.

    Sphinx looks up handlers by builder name first ("singlehtml") and falls back to
    the format ("html") only when no extension registered any handler under that
    name; others do, so the single-page build (the PDF) needs them registered too.
    """
    from myst_nb.sphinx_ import HideCodeCellNode, depart_HideCellInput, visit_HideCellInput

    app.add_node(
        HideCodeCellNode, override=True, singlehtml=(visit_HideCellInput, depart_HideCellInput)
    )


def _index_without_hidden_cells() -> None:
    """Sphinx's search index without the content of MyST-NB's hidden-cell boxes.

    The boxes are taken out of the page's tree while its words are collected and put
    back at once, so the page itself still shows them (behind their toggle).
    """
    from myst_nb.sphinx_ import HideCodeCellNode
    from sphinx.search import IndexBuilder

    collect = IndexBuilder._word_collector
    if getattr(collect, "skips_hidden_cells", False):
        return

    def word_collector(self, doctree):
        # MyST-NB sets the boxes as children without setting their parent: found from above
        hidden = [
            (parent, at)
            for parent in doctree.findall(nodes.Element)
            for at, child in enumerate(parent.children)
            if isinstance(child, HideCodeCellNode)
        ]
        taken = [parent.children.pop(at) for parent, at in reversed(hidden)]
        try:
            return collect(self, doctree)
        finally:
            for (parent, at), node in zip(hidden, reversed(taken), strict=True):
                parent.children.insert(at, node)

    word_collector.skips_hidden_cells = True
    IndexBuilder._word_collector = word_collector


def setup(app):
    app.connect("html-page-context", _drop_duplicate_scripts, priority=100)
    _index_without_hidden_cells()
    _register_hidden_cells_for_single_page(app)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
