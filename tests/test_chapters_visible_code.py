"""The code a reader sees on a page runs on its own, in order, without the hidden cells.

Readers copy the visible code cells of a page into their own notebook and run them
top to bottom. A visible cell that uses a name defined only in a hidden cell (an
assert, a glue, a helper value kept off the page) then stops with a NameError. This
test finds such names statically, without executing anything:

* a cell tagged ``remove-cell`` or ``remove-input`` (or with MyST-NB's
  ``remove_code_source``) shows no code, so the reader does not have it;
* every other code cell is visible code, including ``hide-input`` and ``hide-cell``
  (shown behind a toggle), ``remove-output`` and ``skip-execution`` cells;
* the visible cells are read in order with :mod:`symtable`: a name loaded at the top
  level of a cell (or in a comprehension or class body, which run at once) must be
  assigned or imported by an earlier visible cell or by the same cell; a global
  loaded inside a function or lambda (which runs later) must be defined by some
  visible cell. Builtins and the names IPython provides (``display``) count as
  defined. An import done only in a hidden cell is not defined for the reader.

A failure names the page, the cell (its number among the page's code cells, its line
in the ``.md`` file and its first line of code) and the names, with the hidden cells
that define them.
"""

from __future__ import annotations

import builtins
import re
import symtable
from dataclasses import dataclass
from pathlib import Path

import build_book
import jupytext
import nbformat
import pytest
from IPython.core.inputtransformer2 import TransformerManager

PAGES = build_book.executable_pages()
HIDDEN_TAGS = {"remove-cell", "remove-input"}
# What an IPython kernel defines besides the builtins.
KERNEL_NAMES = {"display", "get_ipython", "In", "Out", "exit", "quit"}
PREDEFINED = set(dir(builtins)) | KERNEL_NAMES
# Scopes whose body runs where they are written (the others run when called).
IMMEDIATE_SCOPES = {"listcomp", "setcomp", "dictcomp", "genexpr"}
FENCE = re.compile(r"^(`{3,}|~{3,})\{code-cell\}")


@dataclass
class Cell:
    number: int  # 1-based among the page's code cells
    line: int | None  # line of the opening fence in the .md file
    source: str
    hidden: bool
    uses_now: set[str]  # globals loaded when the cell runs
    uses_later: set[str]  # globals loaded inside functions the cell defines
    defines: set[str]

    def label(self) -> str:
        first = next((s for s in self.source.splitlines() if s.strip()), "")
        where = f", line {self.line}" if self.line else ""
        return f"code cell {self.number}{where} ({first.strip()[:60]!r})"


def is_hidden(cell: nbformat.NotebookNode) -> bool:
    tags = set(cell.metadata.get("tags", []))
    removed = cell.metadata.get("mystnb", {}).get("remove_code_source", False)
    return bool(tags & HIDDEN_TAGS) or bool(removed)


def _scan(table: symtable.SymbolTable, deferred: bool, now: set, later: set, defs: set):
    """Collect the global names a scope loads and the module names it binds."""
    top = table.get_type() == "module"
    for sym in table.get_symbols():
        name = sym.get_name()
        if top:
            if sym.is_assigned() or sym.is_imported():
                defs.add(name)
            if sym.is_referenced():
                (later if deferred else now).add(name)
        else:
            if sym.is_declared_global() and sym.is_assigned():
                defs.add(name)
            if sym.is_global() and sym.is_referenced():
                (later if deferred else now).add(name)
    for child in table.get_children():
        immediate = child.get_type() == "class" or child.get_name() in IMMEDIATE_SCOPES
        _scan(child, deferred or not immediate, now, later, defs)


def read_cells(page: Path) -> list[Cell]:
    """The page's code cells, with the names each loads and binds."""
    nb = jupytext.read(page, fmt="md:myst")
    fences = [k for k, line in enumerate(page.read_text().splitlines(), 1) if FENCE.match(line)]
    code = [c for c in nb.cells if c.cell_type == "code"]
    lines = fences if len(fences) == len(code) else [None] * len(code)
    to_python = TransformerManager().transform_cell  # %magic and !shell lines
    cells = []
    for number, (cell, line) in enumerate(zip(code, lines, strict=True), 1):
        source = to_python(cell.source)
        table = symtable.symtable(source, f"{page.name}:{number}", "exec")
        now: set[str] = set()
        later: set[str] = set()
        defines: set[str] = set()
        _scan(table, False, now, later, defines)
        cells.append(Cell(number, line, cell.source, is_hidden(cell), now, later, defines))
    return cells


def undefined_for_reader(cells: list[Cell]) -> list[tuple[Cell, dict[str, str]]]:
    """Visible cells that load names the visible cells before them do not define.

    Each problem is (cell, {name: where the name is defined instead}).
    """
    visible = [c for c in cells if not c.hidden]
    anywhere_visible = set().union(*(c.defines for c in visible)) if visible else set()
    defined = set(PREDEFINED)
    problems = []
    for cell in visible:
        missing = (cell.uses_now - cell.defines - defined) | (
            cell.uses_later - anywhere_visible - defined
        )
        if missing:
            problems.append((cell, {name: _defined_where(name, cell, cells) for name in missing}))
        defined |= cell.defines
    return problems


def _defined_where(name: str, user: Cell, cells: list[Cell]) -> str:
    hidden = [c.number for c in cells if c.hidden and name in c.defines]
    later = [
        c.number for c in cells if not c.hidden and c.number > user.number and name in c.defines
    ]
    parts = []
    if hidden:
        parts.append(f"hidden cell(s) {', '.join(map(str, hidden))}")
    if later:
        parts.append(f"later visible cell(s) {', '.join(map(str, later))}")
    return "defined only in " + " and ".join(parts) if parts else "defined in no cell"


def report(page: Path, problems: list[tuple[Cell, dict[str, str]]]) -> str:
    lines = [f"{page.relative_to(build_book.ROOT)}: visible code uses names a reader lacks"]
    for cell, names in problems:
        lines.append(f"  {cell.label()}:")
        lines.extend(f"    {name}: {where}" for name, where in sorted(names.items()))
    return "\n".join(lines)


def test_there_are_pages_to_check():
    assert PAGES


@pytest.mark.parametrize("page", PAGES, ids=[str(p.relative_to(build_book.ROOT)) for p in PAGES])
def test_visible_code_runs_without_the_hidden_cells(page: Path):
    problems = undefined_for_reader(read_cells(page))
    assert not problems, report(page, problems)


# The checker itself, on a small page: it must catch what it is meant to catch.

PAGE = """\
```{{code-cell}} ipython3
{first}
```

```{{code-cell}} ipython3
:tags: [{tag}]

{hidden}
```

```{{code-cell}} ipython3
{last}
```
"""


def _problems(tmp_path: Path, first: str, tag: str, hidden: str, last: str) -> dict:
    page = tmp_path / "page.md"
    page.write_text(PAGE.format(first=first, tag=tag, hidden=hidden, last=last))
    return {cell.number: names for cell, names in undefined_for_reader(read_cells(page))}


@pytest.mark.parametrize("tag", ["remove-cell", "remove-input"])
def test_checker_flags_a_name_defined_only_in_a_removed_cell(tmp_path: Path, tag: str):
    found = _problems(tmp_path, "import numpy as np", tag, "g = np.ones(3)", "print(g.sum())")
    assert found == {3: {"g": "defined only in hidden cell(s) 2"}}


@pytest.mark.parametrize("tag", ["hide-cell", "hide-input", "remove-output"])
def test_checker_counts_a_toggled_cell_as_visible(tmp_path: Path, tag: str):
    assert _problems(tmp_path, "import numpy as np", tag, "g = np.ones(3)", "g.sum()") == {}


def test_checker_flags_a_hidden_import_a_later_name_and_a_function_global(tmp_path: Path):
    found = _problems(
        tmp_path,
        "x = later + 1",
        "remove-cell",
        "import numpy as np",
        "def f():\n    return np.pi + nowhere\n\nlater = [np.e for _ in range(2)]",
    )
    assert found == {
        1: {"later": "defined only in later visible cell(s) 3"},
        3: {"np": "defined only in hidden cell(s) 2", "nowhere": "defined in no cell"},
    }


def test_checker_accepts_builtins_magics_and_names_bound_in_the_cell(tmp_path: Path):
    found = _problems(
        tmp_path,
        "%matplotlib inline\nimport math",
        "remove-cell",
        "assert math.pi > 3",
        "r = [math.sqrt(k) for k in range(3)]\nprint(len(r), display)",
    )
    assert found == {}
