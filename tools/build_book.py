"""Build the book (or any Jupyter Book 1.x folder) so that it fails loudly.

What this adds to a plain ``jupyter-book build``:

* the site's own copies of MathJax, RequireJS, the widget renderer and vega are put in
  place from ``node_modules`` (installed by ``npm ci`` from the committed lock),
  so that the built pages request nothing from another host;
* the execution cache is keyed on the source of ``helpers/`` and on the files in
  ``data/``: when either changes, cached outputs and parsed pages are discarded
  and every chapter is executed again, so no page shows numbers computed by an
  older version of the package;
* every notebook page is executed once before Sphinx runs, followed in the same
  kernel by its exercise solutions (``chapter_runs``): a cell that raises fails the
  build, naming the page, the cell and its line; the outputs go to the jupyter-cache,
  where MyST-NB finds them (a page it executes again fails the build), and a record
  per page (errors, solution results, seconds) goes to ``_build/chapter-runs/``,
  which the chapter and solution tests read;
* the build runs with warnings as errors (``-W -n --keep-going``); after a failed
  build the parsed pages are discarded, so that the next build reports the same
  problems again instead of skipping the pages that caused them;
* after a successful build every page listed in ``_toc.yml`` must exist as HTML.

Usage: ``python tools/build_book.py [BOOK_DIR] [--output DIR]``
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import subprocess
import sys
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import assignments
import chapter_runs
import publish
from _common import (  # re-exported: tests use build_book.ROOT, .toc_pages, ...
    ROOT,
    BuildError,
    env_tool,
    executable_pages,
    source_key,
    toc_pages,
)

# What the site serves itself: (source under node_modules, target under the assets folder).
VENDORED = [
    ("mathjax/es5/tex-chtml.js", "vendor/mathjax/tex-chtml.js"),
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


def invalidate_if_sources_changed(book: Path, build_dir: Path) -> bool:
    """Drop cached outputs when helpers/ or data/ changed since the last build."""
    key_file = build_dir / ".source-key"
    key = source_key(book)
    if key_file.exists() and key_file.read_text().strip() == key:
        return False
    for stale in (".jupyter_cache", ".doctrees", "jupyter_execute", "chapter-runs"):
        shutil.rmtree(build_dir / stale, ignore_errors=True)
    build_dir.mkdir(parents=True, exist_ok=True)
    key_file.write_text(key + "\n")
    return True


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


def assignment_page(student: Path):
    """The book's page of an assignment: its student version with ASSIGNMENT_NOTE
    right under the title (the title cell is split after its heading line)."""
    import nbformat

    nb = nbformat.read(student, as_version=4)
    name = student.stem
    # fixed cell ids: the page's text is the same from one build to the next
    chapter = assignments.number(name)  # a10-... is chapter 10's
    note = nbformat.v4.new_markdown_cell(ASSIGNMENT_NOTE.format(chapter=chapter), id="page-note")
    at = assignments.title_cell_index(nb)
    if at is None:
        raise BuildError(f"{student}: no title cell ('# ...') to put the page's note under.")
    heading, _, rest = nb.cells[at].source.lstrip().partition("\n")
    nb.cells[at].source = heading
    below = [note]
    if rest.strip():
        below.append(nbformat.v4.new_markdown_cell(rest.strip(), id="page-introduction"))
    nb.cells[at + 1 : at + 1] = below
    return nb


def assignment_pages(book: Path) -> list[Path]:
    """Student versions of the assignments as pages of the book (book/assignments/).

    A page is rewritten only when it changed, so that Sphinx does not read it again.
    """
    import nbformat

    pages = []
    target = book / "book" / "assignments"
    target.mkdir(parents=True, exist_ok=True)
    try:
        built = assignments.build()
    except assignments.AssignmentError as err:
        raise BuildError(str(err)) from None
    for folder in built:
        name = folder.name
        text = nbformat.writes(assignment_page(folder / "student" / f"{name}.ipynb")) + "\n"
        page = target / f"{name}.ipynb"
        if not page.exists() or page.read_text(encoding="utf-8") != text:
            page.write_text(text, encoding="utf-8")
        pages.append(page)
    return pages


_EXECUTING = re.compile(r"^(\S+): Executing notebook using")
_EXECUTED = re.compile(r"^(\S+): Executed notebook in ([\d.]+) seconds")
_READING = re.compile(r"reading sources\.\.\. \[\s*(\d+)%\] (\S+)")


def progress(line: str, book: Path, elapsed: float, stages: set[str] | None = None) -> str | None:
    """A short progress line for a line of the jupyter-book log, or None to stay quiet.

    Sphinx logs "writing output... [ 10%] page" once per page: with ``stages`` (the
    stages already reported, updated here) that stage is reported once, when the
    first page is written.
    """
    if m := _EXECUTING.search(line):
        return f"[book] {elapsed:5.0f} s  executing {m.group(1).replace(str(book) + '/', '')}"
    if m := _EXECUTED.search(line):
        page = m.group(1).replace(str(book) + "/", "")
        return f"[book] {elapsed:5.0f} s  executed {page} in {float(m.group(2)):.1f} s"
    if m := _READING.search(line):
        return f"[book] {elapsed:5.0f} s  reading {m.group(2)} ({m.group(1)}%)"
    if ("WARNING" in line or "ERROR" in line) and "[IPKernelApp]" not in line:
        return f"[book] {line}"
    if line.startswith("writing output"):
        if "%]" not in line or (stages is not None and "writing output" in stages):
            return None  # an empty stage (message catalogues) or one already reported
        if stages is not None:
            stages.add("writing output")
        return f"[book] {elapsed:5.0f} s  writing output"
    if line.startswith("build succeeded"):
        return f"[book] {elapsed:5.0f} s  {line.split('...')[0]}"
    return None


def config_override(book: Path) -> list[str]:
    """``--config`` for a copy of ``_config.yml`` with BOOK_CELL_TIMEOUT seconds per cell.

    The configured time-out (120 s) guards against a cell that hangs; on a machine
    shared with other heavy jobs, ``BOOK_CELL_TIMEOUT=600 make book`` allows more.
    """
    seconds = os.environ.get("BOOK_CELL_TIMEOUT")
    if not seconds:
        return []
    import yaml

    config = yaml.safe_load((book / "_config.yml").read_text())
    config.setdefault("execute", {})["timeout"] = int(seconds)
    target = book / ".config-timeout.yml"  # beside _config.yml: its paths are relative
    target.write_text(yaml.safe_dump(config, sort_keys=False))
    return ["--config", str(target)]


def build(book: Path, output: Path | None = None, quiet: bool = False) -> Path:
    """Build ``book`` into ``output/_build/html``; raise BuildError on any warning.

    While it runs, ``HELPERS_BOOK_BUILD=1`` tells the chapters' ``share()`` to glue
    numbers for the text instead of printing them (every kernel the build starts
    inherits it); afterwards the variable is as it was, so that notebooks this
    process runs later (a test's student journey) behave as a reader's do.
    """
    previous = os.environ.get("HELPERS_BOOK_BUILD")
    os.environ["HELPERS_BOOK_BUILD"] = "1"
    try:
        return _build(book, output, quiet)
    finally:
        if previous is None:
            os.environ.pop("HELPERS_BOOK_BUILD", None)
        else:
            os.environ["HELPERS_BOOK_BUILD"] = previous


def _build(book: Path, output: Path | None, quiet: bool) -> Path:
    book = book.resolve()
    output = (output or book).resolve()
    build_dir = output / "_build"
    say = (lambda msg: None) if quiet else (lambda msg: print(msg, flush=True))
    if "site-assets" in (book / "_config.yml").read_text():
        say("[book] copying the site's own MathJax and widget renderer")
        vendor_assets(book)
    # The assignments (otter assign runs each master's solutions) are built beside the
    # chapters' execution: two processes, and the pages are needed only by Sphinx.
    assignments_done: list[BaseException | None] = []
    if (book / "chapters" / "assignments").is_dir():
        say("[book] building the student versions of the assignments (otter assign)")

        def build_assignments():
            try:
                assignment_pages(book)
                assignments_done.append(None)
            except BaseException as err:  # re-raised in the building thread below
                assignments_done.append(err)

        assignments_thread = threading.Thread(target=build_assignments, daemon=True)
        assignments_thread.start()
    else:
        assignments_thread = None
    if invalidate_if_sources_changed(book, build_dir):
        say("[book] helpers/, data/ or book/_ext/ changed (or first build): every chapter runs")
    start = time.perf_counter()
    records = chapter_runs.run_pages(
        book,
        output,
        executable_pages(book),
        source_key(book),
        say=lambda msg: say(f"[book] {time.perf_counter() - start:5.0f} s  {msg}"),
    )
    if assignments_thread is not None:
        assignments_thread.join()
        if assignments_done and assignments_done[0] is not None:
            raise assignments_done[0]
    failed = [r.describe_errors() for r in records if r.errors]
    if failed:
        raise BuildError("A cell raised an error: " + "; ".join(failed))
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
    cmd += config_override(book)
    say("[book] jupyter-book build -W -n --keep-going (progress per page below)")
    start = time.perf_counter()
    proc = subprocess.Popen(
        cmd, cwd=book, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, bufsize=1
    )
    lines, stages = [], set()
    for raw in proc.stdout:
        line = re.sub(r"\x1b\[[0-9;]*m", "", raw.rstrip("\n"))
        lines.append(line)
        note = progress(line, book, time.perf_counter() - start, stages)
        if note:
            say(note)
    proc.wait()
    elapsed = time.perf_counter() - start
    log = "\n".join(lines)
    build_dir.mkdir(parents=True, exist_ok=True)
    (build_dir / "build.log").write_text(log + "\n")
    if proc.returncode != 0:
        print(log)
    again = sorted({m.group(1) for line in log.splitlines() if (m := _EXECUTING.search(line))})
    if proc.returncode == 0 and again:
        # Each page is executed once (chapter_runs); MyST-NB executing one again means
        # its cached outputs did not match the page as MyST-NB reads it.
        raise BuildError(f"Pages executed twice (their cached outputs did not match): {again}")
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
    chapter_runs.write_executed_copies(book, output, [book / r.page for r in records])
    publish.download_copies(html, book)  # install cell first, plain Markdown
    changed = publish.rewrite_links(html, book)
    say(f"[book] launch buttons point at the published notebooks ({changed} pages)")
    say(f"[book] built in {elapsed:.0f} s")
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
    print("View it with `make serve` (http://127.0.0.1:8000; PORT=... to change the port).")
    print(f"BOOK BUILT: {html}/index.html")
    return 0


if __name__ == "__main__":
    sys.exit(main())
