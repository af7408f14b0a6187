"""Execute each notebook page once, with its exercise solutions, and keep a record.

A page (a MyST Markdown notebook of ``_toc.yml``) is executed top to bottom in its own
folder; right after its last cell, in the same kernel, the Python blocks of its
exercise solutions (``:::{solution}`` directives) run as extra cells, in the order they
appear, as a student would paste them below the chapter. What is kept:

* the executed page (its own cells only, no solution) in the book's jupyter-cache
  (``_build/.jupyter_cache``), where MyST-NB (``execute_notebooks: cache``) finds it
  and renders the page from it instead of executing the page again;
* a record in ``_build/chapter-runs/<page>.json``: the errors of the page's cells
  (cell number, line, exception), the errors of each solution block, the page's
  wall-clock and kernel CPU seconds. The chapter and solution tests read it.

Both are keyed on the page's text and on ``source_key`` (helpers/, data/,
book/_ext/): a record whose key differs is stale and is never used; the page is
executed again.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

RUNS_DIR = Path("_build") / "chapter-runs"
CACHE_DIR = Path("_build") / ".jupyter_cache"

SOLUTION = re.compile(r"^:::\{solution\}.*?\n(.*?)^:::\s*$", re.S | re.M)
PYTHON_BLOCK = re.compile(r"^```python\n(.*?)^```\s*$", re.S | re.M)


def solution_blocks(text: str) -> list[tuple[str, str]]:
    """(label, code) of every ```python block inside a :::{solution} directive."""
    out = []
    for match in SOLUTION.finditer(text):
        label = match.group(0).splitlines()[0].removeprefix(":::{solution}").strip()
        out += [(label, code) for code in PYTHON_BLOCK.findall(match.group(1))]
    return out


@dataclass
class Record:
    """What one execution of a page left: errors, solution results and times."""

    page: str  # relative to the book folder, e.g. "chapters/05-shrinkage.md"
    key: str
    seconds: float  # wall clock, the page's own cells
    cpu_seconds: float | None  # user + system time of the kernel over the page's own cells
    errors: list[dict] = field(default_factory=list)  # of the page's own cells
    solutions: list[dict] = field(default_factory=list)  # label, errors, per solution block
    solution_seconds: float = 0.0

    def describe_errors(self) -> str:
        return "; ".join(
            f"{self.page}, cell {e['cell']} (line {e['line']}): {e['ename']}: {e['evalue']}"
            for e in self.errors
        )


def page_key(book: Path, page: Path, sources: str) -> str:
    """The key of a page's record: its text and the source key of what it imports."""
    h = hashlib.sha256()
    h.update(str(page.relative_to(book)).encode())
    h.update(page.read_bytes())
    h.update(sources.encode())
    return h.hexdigest()


def record_path(output: Path, book: Path, page: Path) -> Path:
    return output / RUNS_DIR / page.relative_to(book).with_suffix(".json")


def load(output: Path, book: Path, page: Path, key: str) -> Record | None:
    """The page's record if it exists and its key is ``key``; None if missing or stale."""
    path = record_path(output, book, page)
    if not path.is_file():
        return None
    data = json.loads(path.read_text())
    if data.get("key") != key:
        return None
    return Record(**data)


def read_notebook(page: Path, book: Path):
    """The page as MyST-NB reads it (so that its jupyter-cache hash is the one MyST-NB
    computes), with the Markdown extensions of ``_config.yml``."""
    import yaml
    from myst_nb.core.read import read_myst_markdown_notebook
    from myst_parser.config.main import MdParserConfig

    config_file = book / "_config.yml"
    config = yaml.safe_load(config_file.read_text()) if config_file.is_file() else {}
    extensions = ((config or {}).get("parse") or {}).get("myst_enable_extensions") or []
    md_config = MdParserConfig(enable_extensions=set(extensions))
    return read_myst_markdown_notebook(
        page.read_text(encoding="utf-8"), config=md_config, add_source_map=True, path=str(page)
    )


def _cpu_seconds(pid: int | None) -> float | None:
    if pid is None:
        return None
    try:
        import psutil

        t = psutil.Process(pid).cpu_times()
        return t.user + t.system + t.children_user + t.children_system
    except Exception:  # psutil missing or the process gone: the time is unknown
        return None


def _errors(cell) -> list[dict]:
    return [
        {"ename": out.get("ename", ""), "evalue": out.get("evalue", "")}
        for out in cell.get("outputs", [])
        if out.get("output_type") == "error"
    ]


def execute(book: Path, page: Path, *, timeout: int, key: str = ""):
    """Execute ``page`` and then its solution blocks in one kernel.

    Returns (record, executed notebook of the page's own cells). Execution of the
    page stops at its first failing cell (the solutions then do not run); a failing
    solution block does not stop the next one.
    """
    import copy

    import nbformat
    from jupyter_core.utils import ensure_async, run_sync
    from nbclient import NotebookClient

    nb = read_notebook(page, book)
    own = len(nb.cells)
    lines = nb.metadata.get("source_map") or []
    blocks = (
        solution_blocks(page.read_text(encoding="utf-8")) if page.parent.name == "chapters" else []
    )
    client = NotebookClient(
        nb,
        timeout=timeout,
        kernel_name="python3",
        allow_errors=True,  # errors are recorded per cell here, not raised
        record_timing=False,  # cell metadata is part of the jupyter-cache hash
        resources={"metadata": {"path": str(page.parent)}},
    )
    rel = str(page.relative_to(book))
    record = Record(page=rel, key=key, seconds=0.0, cpu_seconds=None)
    executed = None

    async def run():
        nonlocal executed
        async with client.async_setup_kernel():
            info = await client.async_wait_for_reply(await ensure_async(client.kc.kernel_info()))
            if info is not None and "language_info" in info["content"]:
                nb.metadata["language_info"] = info["content"]["language_info"]
            pid = getattr(getattr(client.km, "provisioner", None), "pid", None)
            cpu0, start = _cpu_seconds(pid), time.perf_counter()
            for index in range(own):
                cell = nb.cells[index]
                try:
                    await client.async_execute_cell(
                        cell, index, execution_count=client.code_cells_executed + 1
                    )
                    errors = _errors(cell)
                except Exception as err:  # a time-out or a dead kernel
                    errors = [{"ename": type(err).__name__, "evalue": str(err).splitlines()[0]}]
                if errors:
                    line = lines[index] + 1 if index < len(lines) else "?"
                    record.errors += [{"cell": index + 1, "line": line, **e} for e in errors]
                    break
            record.seconds = round(time.perf_counter() - start, 2)
            cpu1 = _cpu_seconds(pid)
            if cpu0 is not None and cpu1 is not None:
                record.cpu_seconds = round(cpu1 - cpu0, 2)
            client.set_widgets_metadata()
            executed = copy.deepcopy(nb)
            if record.errors:
                return
            start = time.perf_counter()
            for label, code in blocks:
                cell = nbformat.v4.new_code_cell(code)
                cell.metadata["solution"] = label
                nb.cells.append(cell)
                try:
                    await client.async_execute_cell(
                        cell, len(nb.cells) - 1, execution_count=client.code_cells_executed + 1
                    )
                    errors = _errors(cell)
                except Exception as err:
                    errors = [{"ename": type(err).__name__, "evalue": str(err).splitlines()[0]}]
                    record.solutions.append({"label": label, "errors": errors})
                    break  # the kernel is gone or stuck: the next blocks cannot run
                record.solutions.append({"label": label, "errors": errors})
            record.solution_seconds = round(time.perf_counter() - start, 2)

    run_sync(run)()
    return record, executed


def cell_timeout(book: Path) -> int:
    """Seconds per cell: BOOK_CELL_TIMEOUT, else ``execute: timeout`` of _config.yml, else 120."""
    import yaml

    if os.environ.get("BOOK_CELL_TIMEOUT"):
        return int(os.environ["BOOK_CELL_TIMEOUT"])
    config = yaml.safe_load((book / "_config.yml").read_text()) or {}
    return int((config.get("execute") or {}).get("timeout", 120))


def run_pages(
    book: Path, output: Path, pages: list[Path], sources: str, say=lambda msg: None
) -> list[Record]:
    """Execute every page whose record is missing or stale (or whose outputs are not in
    the jupyter-cache), store the outputs and the record; return the records."""
    from jupyter_cache import get_cache
    from jupyter_cache.base import CacheBundleIn

    cache = get_cache(str(output / CACHE_DIR))
    timeout = cell_timeout(book)
    records = []
    for page in pages:
        rel = page.relative_to(book)
        key = page_key(book, page, sources)
        record = load(output, book, page, key)
        if record is not None and not record.errors:
            try:
                cache.match_cache_notebook(read_notebook(page, book))
                records.append(record)
                continue
            except KeyError:
                pass  # outputs missing from the cache: execute again
        say(f"executing {rel}")
        record, executed = execute(book, page, timeout=timeout, key=key)
        if not record.errors:
            cache.cache_notebook_bundle(
                CacheBundleIn(executed, str(page), data={"execution_seconds": record.seconds}),
                check_validity=False,
                overwrite=True,
            )
        path = record_path(output, book, page)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(asdict(record), indent=1) + "\n")
        cpu = f", CPU {record.cpu_seconds:.1f} s" if record.cpu_seconds is not None else ""
        solved = f"; {len(record.solutions)} solution blocks in {record.solution_seconds:.1f} s"
        say(f"executed {rel} in {record.seconds:.1f} s{cpu}{solved if record.solutions else ''}")
        records.append(record)
    return records


def write_executed_copies(book: Path, output: Path, pages: list[Path]) -> int:
    """Write each page's executed notebook where the site offers it for download.

    MyST-NB, when it takes a page's outputs from the cache, writes the page's
    *unexecuted* notebook to ``_build/jupyter_execute`` (the theme copies that file to
    ``_sources/`` for the download button): put the executed one, merged from the
    cache as MyST-NB renders it, in both places. Returns the number of pages written.
    """
    import nbformat
    from jupyter_cache import get_cache

    cache = get_cache(str(output / CACHE_DIR))
    written = 0
    for page in pages:
        rel = page.relative_to(book).with_suffix(".ipynb")
        _, nb = cache.merge_match_into_notebook(read_notebook(page, book))
        text = nbformat.writes(nb)
        for target in (
            output / "_build" / "jupyter_execute" / rel,
            output / "_build" / "html" / "_sources" / rel,
        ):
            if target.parent.is_dir():
                target.write_text(text, encoding="utf-8")
                written += 1
    return written
