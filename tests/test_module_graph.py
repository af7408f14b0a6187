"""The import graph of ``helpers``: no cycle, no private name of another module, one direction.

Every ``.py`` file under ``helpers/`` is read with :mod:`ast` (nothing is imported),
and every ``import`` and ``from ... import`` statement in it counts, wherever it
stands: at the top, inside a function or a method (a deferred import is how a
circle hides), under ``if TYPE_CHECKING:``. The rules:

1. **No cycle.** Module A imports B (an edge A -> B) when A names B or a name
   defined in B. An import of a package's submodule is an edge to that submodule,
   not to the package's ``__init__`` (``from . import _pirls`` is an edge to
   ``helpers._pirls``). No set of modules may reach each other along these edges.
2. **No private name of another module.** A module-level name that starts with
   ``_`` is its module's own: ``from ._pls import _x`` or ``from .glmm import
   _lbfgs`` fail. Importing a private *module* is allowed
   (``from . import _pirls``, ``from ._pls import optimize``): ``_validate``,
   ``_scale``, ``_coef``, ``_design``, ``_pls``, ``_pirls``, ``_profile``,
   ``_lmm_profile``, ``_fit``, ``interactive._shared`` and ``interactive._display``
   are the package's internal layers, and what one of them offers the others has a
   name without ``_``.
   (Attribute access such as ``fit._design`` is not an import and is not checked here.)
3. **One direction.** Every module has a layer (:data:`LAYERS`); a module imports
   only modules of its own layer or of a lower one. So the base class never imports
   a family, and neither imports a consumer. A new module must be given a layer here.
   ``resample`` (the simulate-refit loop) and ``_profile`` (interval machinery) know
   no fit class -- they work through ``fit.simulate``, ``fit.refit`` and
   ``fit.deviance_profile()`` -- and sit below ``_fit``, so that ``MixedFit.confint``
   can use them without the base importing what builds on it.

The checks are run on a small package written to a temporary folder, too, to show
that each of them fails when it should.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

HELPERS = Path(__file__).resolve().parents[1] / "helpers"

# Layers, lowest first: a module may import its own layer and the ones before it.
LAYERS: dict[str, set[str]] = {
    "plain values": {"_validate", "_scale", "_coef", "formula", "plots", "data"},
    "design": {"_design", "_design_multi"},
    "engines": {"_pls", "_pirls", "_blocked", "residuals"},
    "generic over a fit's interface": {"resample", "_profile", "ddf", "_multi_ddf"},
    "base class": {"_fit"},
    "families": {"lmm", "_lmm_profile", "_lmm_multi", "_multi_profile", "glmm", "ols", "gls"},
    "consumers": {
        "inference",
        "confint",
        "simulate",
        "shrinkage",
        "diagnostics",
        "centering",
        "report",
        "interactive",
        "widgets",
        "book",
        "course",
    },
    "package": {""},  # helpers/__init__.py: re-exports the public API
}


def _module_name(path: Path, root: Path, package: str) -> str:
    parts = list(path.relative_to(root).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join([package, *parts])


def import_graph(root: Path, package: str):
    """(edges, private): edges {module: {imported module: [line, ...]}} inside the
    package; private [(module, line, statement)] for each private name imported."""
    files = {_module_name(p, root, package): p for p in sorted(root.rglob("*.py"))}
    modules = set(files)
    edges: dict[str, dict[str, list[int]]] = {m: {} for m in modules}
    private: list[tuple[str, int, str]] = []

    def add(src, dst, line):
        if dst in modules:
            edges[src].setdefault(dst, []).append(line)

    for mod, path in files.items():
        is_pkg = path.name == "__init__.py"
        tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
        for node in ast.walk(tree):
            if isinstance(node, ast.Import):
                for alias in node.names:
                    if alias.name == package or alias.name.startswith(package + "."):
                        add(mod, alias.name, node.lineno)
            elif isinstance(node, ast.ImportFrom):
                if node.level:
                    base = mod.split(".") if is_pkg else mod.split(".")[:-1]
                    base = base[: len(base) - (node.level - 1)]
                    target = ".".join(base + ([node.module] if node.module else []))
                else:
                    target = node.module or ""
                if not (target == package or target.startswith(package + ".")):
                    continue
                for alias in node.names:
                    sub = f"{target}.{alias.name}"
                    if sub in modules:  # a submodule: an edge to it
                        add(mod, sub, node.lineno)
                        continue
                    add(mod, target, node.lineno)
                    if alias.name.startswith("_"):
                        private.append((mod, node.lineno, f"from {target} import {alias.name}"))
    return edges, private


def cycles(edges) -> list[list[str]]:
    """Strongly connected components with more than one module, or a self-import."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []
    counter = [0]

    def visit(v):
        index[v] = low[v] = counter[0]
        counter[0] += 1
        stack.append(v)
        on_stack.add(v)
        for w in edges[v]:
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            comp = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                comp.append(w)
                if w == v:
                    break
            if len(comp) > 1 or v in edges[v]:
                found.append(sorted(comp))

    for v in sorted(edges):
        if v not in index:
            visit(v)
    return found


def layer_violations(edges, package: str, layers: dict[str, set[str]]):
    """Imports from a lower layer to a higher one, and modules with no layer."""
    rank = {name: r for r, names in enumerate(layers.values()) for name in names}

    def top(mod):  # helpers.interactive.ch05 -> "interactive"; helpers -> ""
        rest = mod[len(package) + 1 :] if mod != package else ""
        return rest.split(".")[0]

    unplaced = sorted({top(m) for m in edges} - set(rank))
    wrong = []
    for src, targets in edges.items():
        for dst, lines in targets.items():
            if top(src) in rank and top(dst) in rank and rank[top(dst)] > rank[top(src)]:
                wrong.append(f"{src} (line {lines[0]}) imports {dst}, a higher layer")
    return unplaced, sorted(wrong)


# ------------------------------------------------------------------------ the package


@pytest.fixture(scope="module")
def graph():
    return import_graph(HELPERS, "helpers")


def test_helpers_has_no_import_cycle(graph):
    edges, _ = graph
    assert len(edges) > 20  # the walk found the package's modules
    assert cycles(edges) == []


def test_no_module_imports_another_modules_private_name(graph):
    _, private = graph
    assert private == []


def test_imports_run_from_lower_layers_to_higher_ones(graph):
    edges, _ = graph
    unplaced, wrong = layer_violations(edges, "helpers", LAYERS)
    assert unplaced == [], f"give these modules a layer in LAYERS: {unplaced}"
    assert wrong == []


def test_the_base_class_imports_no_family_and_no_consumer(graph):
    """The circle of issue 25: _fit -> confint -> glmm/lmm -> _fit, and _validate -> _fit."""
    edges, _ = graph
    assert "helpers.confint" not in edges["helpers._fit"]
    assert not {"helpers.lmm", "helpers.glmm"} & set(edges["helpers._fit"])
    assert "helpers._fit" not in edges["helpers._validate"]
    assert not {"helpers.lmm", "helpers.glmm"} & set(edges["helpers.confint"])


# ----------------------------------------------------------- the checks can fail


def _write(root: Path, files: dict[str, str]) -> Path:
    for name, text in files.items():
        path = root / "pkg" / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
    return root / "pkg"


def test_a_deferred_import_that_closes_a_circle_is_found(tmp_path):
    root = _write(
        tmp_path,
        {
            "__init__.py": "from .base import Base\n",
            "base.py": "class Base:\n    def ci(self):\n        from .consumer import ci\n"
            "        return ci(self)\n",
            "consumer.py": "def ci(fit):\n    from .family import Family\n    return Family\n",
            "family.py": "from .base import Base\n\nclass Family(Base):\n    pass\n",
            "fine.py": "from . import base\nfrom .base import Base\n",
        },
    )
    edges, private = import_graph(root, "pkg")
    assert cycles(edges) == [["pkg.base", "pkg.consumer", "pkg.family"]]
    assert private == []
    layers = {"low": {"base"}, "mid": {"family", "fine"}, "high": {"consumer"}, "pkg": {""}}
    unplaced, wrong = layer_violations(edges, "pkg", layers)
    assert unplaced == []
    assert wrong == ["pkg.base (line 3) imports pkg.consumer, a higher layer"]


def test_a_private_name_import_is_found_but_a_private_module_is_not(tmp_path):
    root = _write(
        tmp_path,
        {
            "__init__.py": "",
            "_engine.py": "def _step():\n    pass\n\ndef solve():\n    pass\n",
            "fit.py": "from . import _engine\nfrom ._engine import solve\n"
            "def f():\n    from pkg._engine import _step\n    return _step\n",
            "sub/__init__.py": "from ._shared import colour\n",
            "sub/_shared.py": "colour = 1\n_hidden = 2\n",
            "sub/ch1.py": "from ._shared import _hidden, colour\nfrom .. import fit\n",
        },
    )
    edges, private = import_graph(root, "pkg")
    assert cycles(edges) == []
    assert private == [
        ("pkg.fit", 4, "from pkg._engine import _step"),
        ("pkg.sub.ch1", 1, "from pkg.sub._shared import _hidden"),
    ]
    assert set(edges["pkg.fit"]) == {"pkg._engine"}
    assert set(edges["pkg.sub.ch1"]) == {"pkg.sub._shared", "pkg.fit"}
