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
def pdf_text(built_site) -> tuple[int, str]:
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
    return len(reader.pages), "\n".join(p.extract_text() or "" for p in reader.pages)


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
