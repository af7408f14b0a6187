"""Journey: a reader downloads the whole book as a PDF (`make pdf`)."""

from __future__ import annotations

import json
import re
import shutil
import time
import unicodedata
from pathlib import Path

import build_book
import pytest

ROOT = Path(__file__).resolve().parents[1]
pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def pdf_book(built_site):
    """(reader, text of each page) of one ``make pdf`` run, shared by the tests below."""
    if not (shutil.which("chromium") or shutil.which("chromium-browser")):
        pytest.skip("Debian's chromium is not installed")
    import pdf
    from pypdf import PdfReader

    start = time.perf_counter()
    target = pdf.make_pdf(ROOT)
    print(f"make pdf: {time.perf_counter() - start:.0f} s")
    assert (built_site / target.name).read_bytes() == target.read_bytes()
    reader = PdfReader(target)
    assert sum(len(p.images) for p in reader.pages[:40]) > 0, "no figure in the PDF"
    return reader, [p.extract_text() or "" for p in reader.pages]


@pytest.fixture(scope="module")
def pdf_text(pdf_book) -> tuple[int, str]:
    _, texts = pdf_book
    return len(texts), "\n".join(texts)


def _title(page: str) -> str:
    md = ROOT / f"{page}.md"
    if md.exists():
        text = md.read_text(encoding="utf-8")
    else:
        nb = json.loads((ROOT / f"{page}.ipynb").read_text(encoding="utf-8"))
        text = "\n".join("".join(c["source"]) for c in nb["cells"] if c["cell_type"] == "markdown")
    return re.search(r"^# (.+)$", text, re.M).group(1).strip()


def _squash(text: str) -> str:
    # NFKC first: the PDF's fonts set "ff" as one ligature glyph (U+FB00, "eﬀects").
    return re.sub(r"[^a-z0-9]+", "", unicodedata.normalize("NFKC", text).lower())


def test_pdf_has_every_chapter_and_no_raw_tex_or_placeholder(pdf_text):
    pages, text = pdf_text
    titles = [_title(p) for p in build_book.toc_pages(ROOT) if p != "book/bibliography"]
    flat = _squash(text)
    missing = [t for t in titles if _squash(re.sub(r"[*_`]", "", t)) not in flat]
    assert not missing, missing
    assert pages >= 2 * len(titles), pages
    # Raw TeX left in the prose (code listings may hold TeX in strings: r"$\sigma$").
    prose = "\n".join(ln for ln in text.splitlines() if not re.search(r"""["'][^"']*\$""", ln))
    raw_tex = re.findall(r"\\(?:frac|sigma|gamma|beta|begin|mathrm|hat|sum|sqrt)\b|\$\$", prose)
    assert not raw_tex, raw_tex[:10]
    assert "{glue" not in text and "glue:" not in text
    # Figures keep their numbered captions (numfig), and equations their numbers.
    assert len(re.findall(r"Fig\. ?\d+\.\d+", text)) >= 5
    assert re.search(r"\(\d+\.\d+\)", text)


# The PDF's own structure: its outline (bookmarks), where each page of the book starts,
# and what each sheet holds, read from the PDF with pypdf.

FOOTER = re.compile(r"\s*\b\d+ / \d+\s*$")  # the page number printed on every sheet


def _outline(reader, items=None, depth=0):
    """(depth, title, page index) of every outline entry, in order."""
    for item in reader.outline if items is None else items:
        if isinstance(item, list):
            yield from _outline(reader, item, depth + 1)
        else:
            yield depth, item.title, reader.get_destination_page_number(item)


def _book_pages() -> list[tuple[str, str]]:
    """(page, title) of every page of the book after the root page, in reading order."""
    return [(p, _title(p)) for p in build_book.toc_pages(ROOT)[1:]]


def _sections(page: str) -> list[str]:
    """The ``##`` headings of a Markdown page (code blocks aside)."""
    md = ROOT / f"{page}.md"
    if not md.exists():
        return []
    text = re.sub(r"^(```|~~~).*?^\1", "", md.read_text(encoding="utf-8"), flags=re.M | re.S)
    return [h.strip() for h in re.findall(r"^## (.+)$", text, re.M)]


def _plain(title: str, math: bool = False) -> str:
    """A heading's text as the PDF has it. On the sheet inline math is drawn (an SVG,
    no text); the outline keeps its letters (``math=True``)."""
    keep = (lambda m: re.sub(r"\\[a-zA-Z]+", "", m.group(1))) if math else ""
    return _squash(re.sub(r"[*_`]", "", re.sub(r"\$([^$]*)\$", keep, title)))


def test_outline_has_every_page_and_section_where_it_starts(pdf_book):
    reader, texts = pdf_book
    entries = list(_outline(reader))
    assert entries, "the PDF has no outline (bookmarks)"
    top = [(title, at) for depth, title, at in entries if depth == 0]
    starts = []
    for page, title in _book_pages():
        found = [(t, at) for t, at in top if _plain(t).endswith(_plain(title))]
        assert found, f"{page}: {title!r} is not a top-level outline entry"
        (entry, at), *_ = found
        # the title is the first text of its sheet (in the order of the lines on it, which
        # the layout mode keeps): the page starts on a new sheet
        body = reader.pages[at].extract_text(extraction_mode="layout")
        assert _squash(body).startswith(_plain(entry)), f"{page} starts mid-page {at + 1}"
        starts.append(at)
        # its sections are entries under it, each on the page where its heading is
        below = entries[entries.index((0, entry, at)) + 1 :]
        below = below[: next((i for i, e in enumerate(below) if e[0] == 0), len(below))]
        for section in _sections(page):
            hits = [e for e in below if _plain(e[1]).endswith(_plain(section, math=True))]
            assert hits, f"{page}: section {section!r} is not in the outline"
            assert _plain(section) in _squash(texts[hits[0][2]]), (page, section)
    assert starts == sorted(starts) and len(set(starts)) == len(starts), starts


def test_no_blank_sheet_no_empty_frame_no_toggle_label(pdf_book):
    reader, texts = pdf_book
    first = _squash(texts[0])
    assert _squash("Multilevel Regression, Step by Step") in first and "contents" in first
    empty = [
        i + 1
        for i, text in enumerate(texts)
        if not FOOTER.sub("", text).strip() and not reader.pages[i].images
    ]
    assert empty == [], f"sheets with nothing on them but a frame: {empty}"
    labels = [i + 1 for i, t in enumerate(texts) if re.search(r"(Show|Hide) code cell", t)]
    assert labels == [], f"hidden-cell toggle labels printed on pages {labels}"


def test_contents_give_the_page_each_part_starts_on(pdf_book):
    """The contents on the title sheet(s) list every page of the book with the number
    of the sheet it starts on (the number at the right end of its line)."""
    reader, _ = pdf_book
    top = [(t, at) for depth, t, at in _outline(reader) if depth == 0]
    assert top[0][0] == "Contents" and top[0][1] == 0, top[:2]
    root = top[1][1]  # the root page follows the contents
    layout = "\n".join(reader.pages[i].extract_text(extraction_mode="layout") for i in range(root))
    layout = re.sub(r"^\s*\d+\s*/\s*\d+\s*$", "", layout, flags=re.M)  # the page numbers
    numbers = [int(m) for m in re.findall(r"(\d+)[ \t]*$", layout, re.M)]
    starts = [at + 1 for title, at in top[2:]]
    assert len(starts) == len(build_book.toc_pages(ROOT)) - 1
    assert numbers[: len(starts)] == starts, (numbers, starts)
