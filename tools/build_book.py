"""Build the book (or any Jupyter Book 1.x folder) so that it fails loudly.

What this adds to a plain ``jupyter-book build``:

* the site's own copies of MathJax, RequireJS, the widget renderer and vega are put in
  place from ``node_modules`` (installed by ``npm ci`` from the committed lock),
  so that the built pages request nothing from another host;
* the execution cache is keyed on the source of ``helpers/`` and on the files in
  ``data/``: when either changes, cached outputs and parsed pages are discarded
  and every chapter is executed again, so no page shows numbers computed by an
  older version of the package;
* the build runs with warnings as errors (``-W -n --keep-going``); after a failed
  build the parsed pages are discarded, so that the next build reports the same
  problems again instead of skipping the pages that caused them;
* after a successful build every page listed in ``_toc.yml`` must exist as HTML.

Usage: ``python tools/build_book.py [BOOK_DIR] [--output DIR]``
"""

from __future__ import annotations

import argparse
import hashlib
import re
import shutil
import subprocess
import sys
import time
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[1]

# What the site serves itself: (source under node_modules, target under the assets folder).
VENDORED = [
    ("mathjax/es5/tex-chtml-full.js", "vendor/mathjax/tex-chtml-full.js"),
    ("mathjax/es5/output/chtml", "vendor/mathjax/output/chtml"),
    ("mathjax/es5/input/tex/extensions", "vendor/mathjax/input/tex/extensions"),
    ("mathjax/es5/a11y", "vendor/mathjax/a11y"),
    ("mathjax/es5/ui", "vendor/mathjax/ui"),
    ("mathjax/LICENSE", "vendor/mathjax/LICENSE"),
    ("requirejs/require.js", "vendor/requirejs/require.js"),
    ("@jupyter-widgets/html-manager/dist/embed-amd.js", "vendor/jupyter-widgets/embed-amd.js"),
    # Interactive charts (helpers.interactive, book/_ext/vegacharts.py).
    ("vega/build/vega.min.js", "vendor/vega/vega.min.js"),
    ("vega/LICENSE", "vendor/vega/LICENSE"),
    ("vega-lite/build/vega-lite.min.js", "vendor/vega-lite/vega-lite.min.js"),
    ("vega-lite/LICENSE", "vendor/vega-lite/LICENSE"),
    ("vega-embed/build/vega-embed.min.js", "vendor/vega-embed/vega-embed.min.js"),
    ("vega-embed/LICENSE", "vendor/vega-embed/LICENSE"),
]
ASSETS_DIR = Path("_build") / "site-assets"


class BuildError(RuntimeError):
    """The book did not build; the message says why."""


def vendor_assets(book: Path, node_modules: Path = ROOT / "node_modules") -> Path:
    """Copy the browser assets the site serves itself into ``_build/site-assets``."""
    target_root = book / ASSETS_DIR
    missing = [src for src, _ in VENDORED if not (node_modules / src).exists()]
    if missing:
        raise BuildError(
            "The site's own copies of MathJax and the widget renderer are not installed "
            f"(missing under {node_modules}: {', '.join(missing)}). "
            "Run `npm ci --ignore-scripts` in the repository root (or `make setup`)."
        )
    for src, dst in VENDORED:
        s, d = node_modules / src, target_root / dst
        d.parent.mkdir(parents=True, exist_ok=True)
        if s.is_dir():
            shutil.copytree(s, d, dirs_exist_ok=True)
        else:
            shutil.copy2(s, d)
    return target_root


def source_key(book: Path) -> str:
    """A digest of what the pages depend on besides their own text (package, data, extensions)."""
    h = hashlib.sha256()
    for folder in ("helpers", "data", "book/_ext"):
        base = book / folder
        if not base.is_dir():
            continue
        for path in sorted(base.rglob("*")):
            if path.is_file() and "__pycache__" not in path.parts:
                h.update(str(path.relative_to(book)).encode())
                h.update(path.read_bytes())
    return h.hexdigest()


def invalidate_if_sources_changed(book: Path, build_dir: Path) -> bool:
    """Drop cached outputs when helpers/ or data/ changed since the last build."""
    key_file = build_dir / ".source-key"
    key = source_key(book)
    if key_file.exists() and key_file.read_text().strip() == key:
        return False
    for stale in (".jupyter_cache", ".doctrees", "jupyter_execute"):
        shutil.rmtree(build_dir / stale, ignore_errors=True)
    build_dir.mkdir(parents=True, exist_ok=True)
    key_file.write_text(key + "\n")
    return True


def toc_pages(book: Path = ROOT) -> list[str]:
    """Every document named in ``_toc.yml`` (root, chapters, sections), in order."""
    toc = yaml.safe_load((book / "_toc.yml").read_text())
    pages = [toc["root"]]

    def walk(node):
        if isinstance(node, dict):
            if "file" in node:
                pages.append(node["file"])
            for key in ("parts", "chapters", "sections"):
                for child in node.get(key, []) or []:
                    walk(child)
        elif isinstance(node, list):
            for child in node:
                walk(child)

    walk(toc)
    return [str(Path(p).with_suffix("")) for p in pages]


def executable_pages(book: Path = ROOT) -> list[Path]:
    """The pages of ``_toc.yml`` that are notebooks (MyST Markdown with a kernelspec)."""
    import jupytext

    pages = []
    for page in toc_pages(book):
        path = book / f"{page}.md"
        if path.exists() and jupytext.read(path).metadata.get("kernelspec"):
            pages.append(path)
    return pages


def env_tool(name: str) -> str:
    """Path of a command installed in this Python environment (e.g. .venv/bin/otter)."""
    exe = Path(sys.executable).parent / name
    if exe.exists():
        return str(exe)
    found = shutil.which(name)
    if found is None:
        raise BuildError(f"{name} is not installed in this environment; run `make setup`.")
    return found


def jupyter_book_command() -> list[str]:
    return [env_tool("jupyter-book")]


ASSIGNMENT_NOTE = """\
:::{{note}}
This page is the **student version** of the assignment for chapter {chapter}: the
questions without solutions. Download it as a notebook with the download button at
the top of the page (`.ipynb`), open it in Jupyter in the book's environment, and run
`grader.check("q1")` and so on to check your answers. Questions marked for manual
grading are read by your instructor.
:::
"""


def assignment_pages(book: Path) -> list[Path]:
    """Student versions of the assignments as pages of the book (book/assignments/)."""
    import nbformat

    sys.path.insert(0, str(Path(__file__).resolve().parent))
    import assignments

    pages = []
    target = book / "book" / "assignments"
    target.mkdir(parents=True, exist_ok=True)
    try:
        built = assignments.build()
    except assignments.AssignmentError as err:
        raise BuildError(str(err)) from None
    for folder in built:
        name = folder.name
        nb = nbformat.read(folder / "student" / f"{name}.ipynb", as_version=4)
        note = nbformat.v4.new_markdown_cell(ASSIGNMENT_NOTE.format(chapter=name[1]))
        nb.cells.insert(2, note)  # after the otter set-up cell and the title
        page = target / f"{name}.ipynb"
        nbformat.write(nb, page)
        pages.append(page)
    return pages


def build(book: Path, output: Path | None = None, quiet: bool = False) -> Path:
    """Build ``book`` into ``output/_build/html``; raise BuildError on any warning."""
    book = book.resolve()
    output = (output or book).resolve()
    build_dir = output / "_build"
    if "site-assets" in (book / "_config.yml").read_text():
        vendor_assets(book)
    if (book / "chapters" / "assignments").is_dir():
        assignment_pages(book)
    if invalidate_if_sources_changed(book, build_dir):
        print("helpers/ or data/ changed (or first build): every chapter will be executed.")
    cmd = jupyter_book_command() + [
        "build",
        str(book),
        "--path-output",
        str(output),
        "--builder",
        "html",
        "-W",
        "-n",
        "--keep-going",
    ]
    start = time.perf_counter()
    proc = subprocess.run(cmd, cwd=book, capture_output=True, text=True)
    elapsed = time.perf_counter() - start
    log = re.sub(r"\x1b\[[0-9;]*m", "", proc.stdout + proc.stderr)
    if not quiet or proc.returncode != 0:
        print(log)
    if proc.returncode != 0:
        # Parsed pages of a failed build must not hide their warnings next time.
        shutil.rmtree(build_dir / ".doctrees", ignore_errors=True)
        culprits = sorted(
            {
                line.split(":")[0].replace(str(book) + "/", "")
                for line in log.splitlines()
                if ("WARNING" in line or "ERROR" in line) and line.startswith(str(book))
            }
        )
        failing_nb = [
            line.strip()
            for line in log.splitlines()
            if "Executing notebook failed" in line or "execution failed" in line.lower()
        ]
        detail = "; ".join(culprits + failing_nb) or "see the log above"
        raise BuildError(f"The book did not build (exit {proc.returncode}). Problems in: {detail}")
    html = output / "_build" / "html"
    missing = [p for p in toc_pages(book) if not (html / f"{p}.html").exists()]
    if missing:
        raise BuildError(f"Pages listed in _toc.yml produced no HTML: {', '.join(missing)}")
    print(f"Built in {elapsed:.1f} s.")
    return html


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("book", nargs="?", default=str(ROOT), help="folder with _config.yml")
    parser.add_argument("--output", default=None, help="folder that receives _build/")
    args = parser.parse_args(argv)
    try:
        html = build(Path(args.book), Path(args.output) if args.output else None)
    except BuildError as err:
        print(f"\nBUILD FAILED: {err}", file=sys.stderr)
        return 1
    print(f"\nThe book is in {html}/index.html")
    print("View it with `make serve` (http://127.0.0.1:8000; PORT=... to change the port).")
    return 0


if __name__ == "__main__":
    sys.exit(main())
