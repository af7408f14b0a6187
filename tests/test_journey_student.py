"""Journey: a student outside the repository installs the book's package and runs notebooks.

A wheel is built from the working tree once; a scratch virtual environment gets that
wheel and exactly the distributions its ``[student]`` extra requires (their closure,
taken from this environment, so the test needs no network); then a chapter notebook
as the site offers it for download and a student assignment notebook run there,
from a folder that has nothing to do with the repository.
"""

from __future__ import annotations

import json
import os
import re
import site
import subprocess
import sys
import zipfile
from importlib import metadata
from pathlib import Path

import pytest
from packaging.markers import Marker
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

ROOT = Path(__file__).resolve().parents[1]
pytestmark = pytest.mark.slow


@pytest.fixture(scope="session")
def wheel(tmp_path_factory) -> Path:
    """The project's wheel, built once per session without network or build isolation."""
    out = tmp_path_factory.mktemp("wheel")
    proc = subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--quiet", "--no-deps", "--no-index",
         "--no-build-isolation", "--wheel-dir", str(out), str(ROOT)],
        capture_output=True, text=True,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    (found,) = out.glob("multilevel_book_helpers-*.whl")
    return found


def _requires(wheel: Path) -> list[str]:
    """The Requires-Dist lines of the wheel's METADATA."""
    with zipfile.ZipFile(wheel) as zf:
        meta = zf.read(next(n for n in zf.namelist() if n.endswith(".dist-info/METADATA")))
    return re.findall(r"^Requires-Dist: (.+)$", meta.decode(), re.M)


def _closure(wheel: Path, extra: str) -> dict[str, metadata.Distribution]:
    """Installed distributions that the wheel with ``extra`` needs, transitively."""
    todo = [(r, extra) for r in _requires(wheel)]
    found: dict[str, metadata.Distribution] = {}
    while todo:
        text, with_extra = todo.pop()
        req = Requirement(text)
        if req.marker and not req.marker.evaluate({"extra": with_extra or ""}):
            continue
        name = canonicalize_name(req.name)
        wanted = [(r, x) for x in req.extras for r in metadata.distribution(name).requires or []]
        if name in found:
            todo += [(r, x) for r, x in wanted if r not in found[name].requires]
            continue
        dist = metadata.distribution(name)
        assert req.specifier.contains(dist.version, prereleases=True), (req, dist.version)
        found[name] = dist
        todo += [(r, None) for r in dist.requires or []] + wanted
    return found


def _student_env(root: Path, wheel: Path) -> Path:
    """A venv with the wheel and, linked from this environment, the [student] closure."""
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(root)], check=True)
    python = root / "bin" / "python"
    target = Path(
        subprocess.check_output(
            [python, "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
            text=True,
        ).strip()
    )
    here = Path(site.getsitepackages()[0])
    for dist in _closure(wheel, "student").values():
        for top in {Path(f).parts[0] for f in dist.files or []}:
            src = here / top
            if top not in ("..", "__pycache__") and src.exists() and not (target / top).exists():
                (target / top).symlink_to(src)
    proc = subprocess.run(
        [sys.executable, "-m", "pip", "--python", str(python), "install", "--quiet",
         "--no-deps", "--no-index", str(wheel)],
        capture_output=True, text=True,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    return python


def test_wheel_carries_the_data_and_its_codebook(wheel):
    with zipfile.ZipFile(wheel) as zf:
        names = set(zf.namelist())
        meta = zf.read(next(n for n in names if n.endswith(".dist-info/METADATA"))).decode()
    shipped = {Path(n).name for n in names if n.startswith("helpers/_data/")}
    in_repo = {p.name for p in (ROOT / "data").glob("*.csv")} | {"datasets.toml"}
    assert shipped == in_repo
    assert "Provides-Extra: student" in meta
    assert re.search(r"Requires-Dist: otter-grader.*extra == .student.", meta)


@pytest.fixture(scope="module")
def student_python(wheel, tmp_path_factory) -> Path:
    return _student_env(tmp_path_factory.mktemp("student-env") / "venv", wheel)


def _env() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in ("HELPERS_DATA_DIR", "PYTHONPATH")}
    env.pop("VIRTUAL_ENV", None)
    return env


def test_student_env_loads_data_from_the_installed_package(student_python, tmp_path):
    code = (
        "import helpers as hp, pathlib, json;"
        "df = hp.load_dataset('radon');"
        "print(json.dumps([hp.__file__, str(hp.data.data_dir()), len(df)]))"
    )
    out = subprocess.run(
        [student_python, "-c", code], cwd=tmp_path, env=_env(), capture_output=True, text=True
    )
    assert out.returncode == 0, out.stderr
    where, data, rows = json.loads(out.stdout)
    venv = student_python.parents[1]
    assert Path(where).is_relative_to(venv) and Path(data).is_relative_to(venv)
    assert not Path(where).is_relative_to(ROOT)
    assert rows > 0
    # myst_nb (the book build's glue) is not part of what a student installs.
    probe = subprocess.run([student_python, "-c", "import myst_nb"], capture_output=True)
    assert probe.returncode != 0


def _run_notebook(python: Path, notebook: Path) -> dict:
    proc = subprocess.run(
        [python, "-m", "nbconvert", "--to", "notebook", "--execute", "--stdout",
         "--ExecutePreprocessor.timeout=300", notebook.name],
        cwd=notebook.parent, env=_env(), capture_output=True, text=True, timeout=900,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr[-3000:]
    return json.loads(proc.stdout)


def test_student_assignment_runs_and_checks_in_the_student_env(student_python, tmp_path):
    sys.path.insert(0, str(ROOT / "tools"))
    import assignments as asg

    name = "a1-complete-pooling"
    out = asg.OUT
    asg.build([name])  # cached when the book build has made it
    work = tmp_path / "Downloads"
    work.mkdir()
    nb = json.loads((out / name / "autograder" / f"{name}.ipynb").read_text())
    student = json.loads((out / name / "student" / f"{name}.ipynb").read_text())
    nb["cells"][asg.init_cell_index(nb)] = student["cells"][asg.init_cell_index(student)]
    nb["metadata"] = student["metadata"]
    (work / f"{name} (1).ipynb").write_text(json.dumps(nb))
    executed = _run_notebook(student_python, work / f"{name} (1).ipynb")
    checks = [
        "".join(o.get("data", {}).get("text/plain", ""))
        for c in executed["cells"]
        if "grader.check(" in "".join(c["source"]) and c["cell_type"] == "code"
        for o in c["outputs"]
    ]
    assert checks and all("passed" in t for t in checks), checks


CHAPTER = "chapters/01-complete-pooling"


def _imported_modules(code: str) -> set[str]:
    """Top-level modules a cell's code imports (magics and shell lines left out)."""
    import ast

    lines = [ln for ln in code.splitlines() if not ln.lstrip().startswith(("%", "!"))]
    found = set()
    for node in ast.walk(ast.parse("\n".join(lines))):
        if isinstance(node, ast.Import):
            found |= {a.name.split(".")[0] for a in node.names}
        elif isinstance(node, ast.ImportFrom) and node.level == 0:
            found.add(node.module.split(".")[0])
    return found


def test_every_module_a_chapter_imports_is_in_the_student_env(student_python, tmp_path):
    """A downloaded chapter (Colab, the student install) runs only if every module its
    cells import -- hidden cells included -- comes with ``[student]``: the book build's
    own packages (myst_nb) must not appear in a chapter."""
    import jupytext

    modules: dict[str, set[str]] = {}
    for page in sorted((ROOT / "chapters").glob("[0-9][0-9]-*.md")):
        for cell in jupytext.read(page).cells:
            if cell.cell_type == "code":
                for module in _imported_modules(cell.source):
                    modules.setdefault(module, set()).add(page.stem)
    assert {"helpers", "numpy", "pandas"} <= set(modules)  # the parser sees imports
    probe = "import importlib, sys\nfor m in sys.argv[1:]:\n    importlib.import_module(m)"
    missing = []
    for module, pages in sorted(modules.items()):
        out = subprocess.run(
            [student_python, "-c", probe, module], cwd=tmp_path, env=_env(),
            capture_output=True, text=True,
        )  # fmt: skip
        if out.returncode:
            missing.append(f"{module} (imported by {', '.join(sorted(pages))})")
    assert not missing, "not installed by [student]: " + "; ".join(missing)


def test_downloaded_chapter_runs_in_the_student_env(student_python, built_site, tmp_path):
    download = built_site / "_sources" / f"{CHAPTER}.ipynb"
    assert download.is_file(), f"the site offers no {download.name} for download"
    nb = tmp_path / "Downloads" / download.name
    nb.parent.mkdir()
    nb.write_bytes(download.read_bytes())
    executed = _run_notebook(student_python, nb)
    errors = [o for c in executed["cells"] for o in c.get("outputs", []) if "ename" in o]
    assert not errors


def test_marker_evaluation_sees_the_extra():
    assert Marker('extra == "student"').evaluate({"extra": "student"})
