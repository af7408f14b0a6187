"""Build and grade the course assignments (otter-grader).

The instructor masters are ``chapters/assignments/*.py`` (Jupytext percent format, so
they diff and review as text). ``build`` turns each into an otter master notebook and
runs ``otter assign``, which checks that the solutions pass every test and writes

    _build/assignments/<name>/student/<name>.ipynb     (no solutions, public tests)
    _build/assignments/<name>/autograder/<name>.ipynb  (solutions)
    _build/assignments/<name>/autograder/<name>-autograder_*.zip  (all tests)

``grade`` grades a folder of submitted notebooks locally with ``otter run`` (no Docker),
each sealed in its own sandbox (``tools/sandbox.py``), and writes one row per
submission; a submission that cannot be graded gets a message saying why, and the rest
of the batch goes on. A sandbox that cannot be set up stops the batch before any
submission is marked.

Usage::

    python tools/assignments.py build [NAME ...] [--out _build/assignments]
    python tools/assignments.py grade NAME SUBMISSIONS_DIR [--out _build/grades/NAME]
    python tools/assignments.py points NAME

``grade --out`` names a folder: it receives ``grades.csv``, ``written/`` (one
Markdown file of hand-graded answers per submission), ``executed/`` (each submission's
notebook as the grader ran it) and ``logs/``; the results of an earlier grading there
move to ``earlier/<time>/``. Run these with the book's
environment (``.venv/bin/python``), or through ``make assignments``, ``make grade``
and ``make points``.
"""

from __future__ import annotations

import argparse
import fcntl
import hashlib
import inspect
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import textwrap
import time
from concurrent.futures import ThreadPoolExecutor, as_completed
from datetime import UTC, datetime
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import sandbox
from _common import ROOT, BuildError, env_tool, package_requirement, source_key

MASTERS = ROOT / "chapters" / "assignments"
OUT = ROOT / "_build" / "assignments"


class AssignmentError(RuntimeError):
    """An assignment could not be built; the message says which and why."""


def number(name: str) -> int:
    """The chapter number of an assignment: 10 for ``a10-three-level-crossed``."""
    head = name.split("-", 1)[0]
    if not re.fullmatch(r"a\d+", head):
        raise AssignmentError(f"{name!r} is not an assignment name (a1-..., a2-..., ...).")
    return int(head[1:])


def masters() -> dict[str, Path]:
    """The masters in chapter order (a1, a2, ..., a9, a10, ...)."""
    paths = MASTERS.glob("a*.py")
    return {p.stem: p for p in sorted(paths, key=lambda p: (number(p.stem), p.stem))}


def _digest(path: Path, shared: bool = False) -> str:
    """Key of a built assignment: its master, what its tests compute with, how the
    master is prepared and the otter output changed afterwards (the init cell, the
    autograder's requirement), and whether the class shares one data set."""
    steps = (
        add_requirements, prepare_master, init_cell_index, title_cell_index, fix_init_cell,
        fix_student_id,
    )  # fmt: skip
    after = "".join(inspect.getsource(f) for f in steps) + INIT_CELL + package_requirement()
    after += f"shared={shared}"
    return hashlib.sha256(
        path.read_bytes() + source_key(ROOT).encode() + after.encode()
    ).hexdigest()


def autograder_zip(folder: Path) -> Path:
    zips = sorted((folder / "autograder").glob("*-autograder_*.zip"))
    if not zips:
        raise AssignmentError(f"No autograder zip in {folder / 'autograder'}: run the build first.")
    return zips[-1]


def add_requirements(master_nb: Path) -> None:
    """Make the autograder zip install helpers (Gradescope, otter's Docker grading).

    Otter's own set-up installs only otter; the assignments import helpers, so its
    requirement (from the repository named in _config.yml) goes into the zip.
    """
    nb = json.loads(master_nb.read_text(encoding="utf-8"))
    for cell in nb["cells"]:
        text = "".join(cell["source"])
        if cell["cell_type"] == "raw" and "ASSIGNMENT CONFIG" in text:
            if "requirements:" not in text:
                line = f"requirements:\n- {package_requirement()}\n"
                cell["source"] = text.rstrip("\n") + "\n" + line
            break
    else:
        raise AssignmentError(f"{master_nb.name}: no ASSIGNMENT CONFIG cell.")
    master_nb.write_text(json.dumps(nb), encoding="utf-8")


def build_one(name: str, out: Path = OUT, force: bool = False, shared: bool = False) -> Path:
    """Run otter assign on one master; skipped when master, helpers and data are unchanged.

    ``shared`` fills in the student ID ``"shared"`` in the student and autograder
    versions: everybody works on one data set (``make assignments SHARED=1``).
    """
    src = masters().get(name)
    if src is None:
        raise AssignmentError(f"No assignment {name!r}; available: {', '.join(masters())}.")
    questions(name)  # kinds and rubrics checked (points add up) before otter runs
    target = out / name
    stamp = target / ".source-key"
    key = _digest(src, shared)
    if not force and stamp.exists() and stamp.read_text() == key:
        return target
    shutil.rmtree(target, ignore_errors=True)
    with tempfile.TemporaryDirectory() as tmp:
        nb_path = Path(tmp) / f"{name}.ipynb"
        convert = subprocess.run(
            [env_tool("jupytext"), "--to", "ipynb", str(src), "-o", str(nb_path)],
            capture_output=True,
            text=True,
        )
        if convert.returncode != 0:
            raise AssignmentError(f"{name}: could not convert the master: {convert.stderr}")
        add_requirements(nb_path)
        prepare_master(nb_path, shared)
        proc = subprocess.run(
            [env_tool("otter"), "assign", str(nb_path), str(target)],
            capture_output=True,
            text=True,
            cwd=tmp,
        )
    if proc.returncode != 0:
        tail = "\n".join((proc.stdout + proc.stderr).strip().splitlines()[-25:])
        raise AssignmentError(f"otter assign failed for {name} (its solutions must pass):\n{tail}")
    fix_init_cell(target / "student" / f"{name}.ipynb", name)
    fix_student_id(target, name)
    stamp.write_text(key)
    return target


def build(names=None, out: Path = OUT, force: bool = False, shared: bool = False) -> list[Path]:
    """Build the assignments (all by default) into ``out``, one process at a time.

    An exclusive lock on ``out/.build.lock`` makes a second caller (the book build and
    a test running beside it) wait, then find the work done (:func:`build_one` skips
    an assignment whose master, helpers and data are unchanged).
    """
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    with open(out / ".build.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            return [build_one(n, out, force, shared) for n in (names or list(masters()))]
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)


# --------------------------------------------------------------------------- questions

#: What a question asks of the student (issue 29), the ``kind:`` line of its config.
KINDS = ("predict", "interpret", "diagnose", "decide", "simulate", "compute")

_CELL = re.compile(r"^# %%.*$", re.M)
_KIND_LINE = re.compile(r"^(?:# )?kind:.*(?:\n|$)", re.M)  # in a question's raw cell
_STUDENT_ID = re.compile(r"^STUDENT_ID\s*=.*#\s*SOLUTION\s*$", re.M)


def _raw_lines(cell: str) -> list[str]:
    """The text of a raw cell of a Jupytext percent file (its lines start with '# ')."""
    lines = cell.splitlines()[1:]  # after the '# %% [raw]' line
    return [ln[2:] if ln.startswith("# ") else ln.lstrip("#") for ln in lines]


def _parse_rubric(text: str, where: str) -> dict:
    """The YAML between ``BEGIN RUBRIC`` and ``END RUBRIC``: ``points`` (a list of
    ``[points, element]``) and ``wrong`` (the common wrong answers)."""
    import yaml

    try:
        spec = yaml.safe_load(text) or {}
    except yaml.YAMLError as err:
        raise AssignmentError(f"{where}: the rubric is not valid YAML: {err}") from None
    if not isinstance(spec, dict) or set(spec) - {"points", "wrong"}:
        raise AssignmentError(
            f"{where}: a rubric has the keys 'points' (a list of [points, element]) and "
            f"'wrong' (a list of common wrong answers), found {spec!r}."
        )
    elements = spec.get("points") or []
    ok = isinstance(elements, list) and elements and all(
        isinstance(e, list) and len(e) == 2 and isinstance(e[0], int | float)
        and not isinstance(e[0], bool) and isinstance(e[1], str) and e[1].strip()
        for e in elements
    )  # fmt: skip
    if not ok:
        raise AssignmentError(
            f"{where}: the rubric's 'points' must be a list of [points, \"element\"] "
            f'pairs, e.g. - [2, "names the level at which the predictor varies"].'
        )
    wrong = spec.get("wrong") or []
    if not isinstance(wrong, list) or not all(isinstance(w, str) and w.strip() for w in wrong):
        raise AssignmentError(f"{where}: the rubric's 'wrong' must be a list of texts.")
    return {"points": [(float(p), t.strip()) for p, t in elements], "wrong": wrong}


def questions(name: str) -> list[dict]:
    """The questions of an assignment, in order.

    Each is a dict: ``name``, ``points``, ``manual`` (graded by hand), ``kind`` (one of
    :data:`KINDS`, or None in a master written before kinds) and ``rubric`` (for a
    hand-graded question: ``{"points": [(points, element), ...], "wrong": [...]}``,
    or None). Raises AssignmentError, naming the question, for an unknown kind, a
    rubric outside a hand-graded question or one whose points do not add up.
    """
    src = masters().get(name)
    if src is None:
        raise AssignmentError(f"No assignment {name!r}; available: {', '.join(masters())}.")
    text = src.read_text(encoding="utf-8")
    starts = [m.start() for m in _CELL.finditer(text)] + [len(text)]
    found, current = [], None
    for a, b in zip(starts, starts[1:], strict=False):
        cell = text[a:b]
        if not cell.startswith("# %% [raw]"):
            continue
        lines = _raw_lines(cell)
        head = next((ln.strip() for ln in lines if ln.strip()), "")
        if head == "# BEGIN QUESTION":
            cfg = {}
            for ln in lines[1:]:
                key, sep, value = ln.lstrip("# ").partition(":")
                if sep and key.strip():
                    cfg[key.strip()] = value.strip()
            if "name" not in cfg:
                raise AssignmentError(f"{src.name}: a '# BEGIN QUESTION' cell has no name.")
            kind = cfg.get("kind") or None
            if kind is not None and kind not in KINDS:
                raise AssignmentError(
                    f"{src.name}, {cfg['name']}: kind {kind!r} is not one of {', '.join(KINDS)}."
                )
            current = {
                "name": cfg["name"],
                "points": float(cfg.get("points", 1)),
                "manual": cfg.get("manual", "false") == "true",
                "kind": kind,
                "rubric": None,
            }
            found.append(current)
        elif head == "# END QUESTION":
            current = None
        elif head == "# BEGIN RUBRIC":
            where = f"{src.name}, {current['name'] if current else 'outside any question'}"
            if current is None or not current["manual"]:
                raise AssignmentError(
                    f"{where}: a rubric belongs inside a hand-graded question (manual: "
                    "true), after its '# END SOLUTION' and before '# END QUESTION'."
                )
            if current["rubric"] is not None:
                raise AssignmentError(f"{where}: two rubrics in one question.")
            body = "\n".join(lines)
            if "# END RUBRIC" not in body:
                raise AssignmentError(f"{where}: the rubric has no '# END RUBRIC' line.")
            inner = body.split("# BEGIN RUBRIC", 1)[1].split("# END RUBRIC", 1)[0]
            rubric = _parse_rubric(inner, where)
            total = sum(p for p, _ in rubric["points"])
            if abs(total - current["points"]) > 1e-9:
                raise AssignmentError(
                    f"{where}: the rubric's points add up to {total:g}, but the question "
                    f"has {current['points']:g} points: make them equal."
                )
            current["rubric"] = rubric
    if not found:
        raise AssignmentError(f"{src} has no '# BEGIN QUESTION' blocks.")
    return found


def has_student_id(name: str) -> bool:
    """Whether the master has per-student data (a ``STUDENT_ID = ...  # SOLUTION`` cell)."""
    return bool(_STUDENT_ID.search(masters()[name].read_text(encoding="utf-8")))


def prepare_master(master_nb: Path, shared: bool = False) -> None:
    """Make a converted master what otter reads: rubric cells out (they go to ``make
    points`` and the written-answer export, not to students), the ``kind:`` line out of
    each question's config (otter knows no such key), and, with ``shared``, the student
    ID filled in as ``"shared"`` in both versions (one data set for the whole class)."""
    nb = json.loads(master_nb.read_text(encoding="utf-8"))
    cells = []
    for cell in nb["cells"]:
        text = "".join(cell["source"])
        if cell["cell_type"] == "raw":
            head = text.strip().splitlines()[0].strip() if text.strip() else ""
            if head == "# BEGIN RUBRIC":
                continue
            if head == "# BEGIN QUESTION":
                cell["source"] = _KIND_LINE.sub("", text).rstrip("\n")
        elif shared and cell["cell_type"] == "code" and _STUDENT_ID.search(text):
            cell["source"] = _STUDENT_ID.sub(f"STUDENT_ID = {json.dumps(SHARED_ID)}", text)
        cells.append(cell)
    nb["cells"] = cells
    master_nb.write_text(json.dumps(nb), encoding="utf-8")


def fix_student_id(target: Path, name: str) -> None:
    """The student ID line outside any question, which otter leaves as it is: the
    student version gets ``STUDENT_ID = ...`` (the student writes the ID), the
    autograder version the solution's ID without the ``# SOLUTION`` marker."""
    for version, new in (("student", "STUDENT_ID = ..."), ("autograder", None)):
        path = target / version / f"{name}.ipynb"
        nb = json.loads(path.read_text(encoding="utf-8"))
        changed = False
        for cell in nb["cells"]:
            text = "".join(cell["source"])
            if cell["cell_type"] == "code" and _STUDENT_ID.search(text):
                repl = new or (lambda m: re.sub(r"\s*#\s*SOLUTION\s*$", "", m.group(0)))
                cell["source"] = _STUDENT_ID.sub(repl, text).splitlines(keepends=True)
                changed = True
        if changed:
            path.write_text(json.dumps(nb, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")


#: The ID that gives the whole class one data set (helpers.course.SHARED).
SHARED_ID = "shared"


# Student notebooks find themselves by their assignment, not by their file name: a browser
# saves a second download as "a5-shrinkage (1).ipynb", and otter's default init cell
# (otter.Notebook("a5-shrinkage.ipynb")) then fails and every grader.check with it.
INIT_CELL = """\
# Initialize Otter (finds this notebook by its assignment, whatever its file name)
import glob, json, os
import otter

def _this_notebook(assignment={name!r}):
    for path in sorted(glob.glob("*.ipynb"), key=os.path.getmtime, reverse=True):
        try:
            with open(path, encoding="utf-8") as fh:
                if json.load(fh)["metadata"]["otter"]["assignment_name"] == assignment:
                    return path
        except (OSError, ValueError, KeyError, TypeError):
            continue
    raise FileNotFoundError(
        f"Save this notebook (assignment {{assignment}}) in the folder Jupyter runs it in, "
        f"{{os.getcwd()}}, then run this cell again."
    )

grader = otter.Notebook(_this_notebook())"""


def init_cell_index(nb: dict, notebook: Path | str = "notebook") -> int:
    """Position of the one cell that creates ``otter.Notebook(...)``.

    It may follow the title (the masters put it there), so it is looked for.
    """
    init = [
        k
        for k, c in enumerate(nb["cells"])
        if c["cell_type"] == "code" and "otter.Notebook(" in "".join(c["source"])
    ]
    if len(init) != 1:
        raise AssignmentError(
            f"{notebook}: expected one cell that creates otter.Notebook(...), found {len(init)}."
        )
    return init[0]


def title_cell_index(nb: dict) -> int | None:
    """Position of the markdown cell with the assignment's title (``# ...``), if any."""
    for k, c in enumerate(nb["cells"]):
        if c["cell_type"] == "markdown" and "".join(c["source"]).lstrip().startswith("# "):
            return k
    return None


def fix_init_cell(notebook: Path, name: str) -> None:
    """Replace otter's file-name-bound init cell of a student notebook by INIT_CELL.

    The cell goes right after the title (otter puts the one it generates first) and is
    tagged ``hide-input``: the assignment's page in the book shows its title and
    explanation first and the set-up code folded away; in Jupyter it runs as before.
    """
    nb = json.loads(notebook.read_text(encoding="utf-8"))
    at = init_cell_index(nb, notebook)
    title = title_cell_index(nb)
    cell = nb["cells"].pop(at)
    cell["source"] = INIT_CELL.format(name=name).splitlines(keepends=True)
    tags = cell.setdefault("metadata", {}).setdefault("tags", [])
    if "hide-input" not in tags:
        tags.append("hide-input")
    nb["cells"].insert(title if title is not None and title > at else at, cell)
    notebook.write_text(json.dumps(nb, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")


# --------------------------------------------------------------------------- grading

GRADES = ROOT / "_build" / "grades"
NOT_SEALED = (
    "this machine cannot seal the submissions in a sandbox: {why}. Students' code would "
    "run with your permissions, network and files. Grade in containers instead "
    "(otter's `otter grade`, with Docker; or Gradescope), or, for submissions you trust, "
    'add GRADE_ARGS="--unconfined" to grade with the time and memory limits only '
    "(book/instructors.md)"
)
WORKER = Path(__file__).resolve().parent / "grade_worker.py"


def _check_submission(path: Path, name: str) -> str | None:
    """Why the file cannot be graded as assignment `name`, or None if it can."""
    try:
        nb = json.loads(path.read_text(encoding="utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError):
        return "not a Jupyter notebook (the file is not valid notebook JSON)"
    if not isinstance(nb, dict) or "cells" not in nb:
        return "not a Jupyter notebook (no cells)"
    meta = nb.get("metadata", {}).get("otter", {})
    other = meta.get("assignment_name")
    if other is None:
        return "not an assignment notebook of this book (no otter metadata): was the wrong file submitted?"
    if other != name:
        return f"belongs to assignment {other!r}, not {name!r}"
    return None


def submitted_student_id(nb: dict):
    """The value of ``STUDENT_ID = ...`` in a notebook's code, as written.

    None when no code cell assigns it; ``...`` (Ellipsis) when the student left the
    blank of the student version; the text (or number) otherwise; a string starting
    with ``"<not text: "`` when it is not a plain value (a name, a call).
    """
    import ast

    for cell in nb.get("cells", []):
        if cell.get("cell_type") != "code":
            continue
        source = "".join(cell.get("source", []))
        for line in source.splitlines():
            if not re.match(r"\s*STUDENT_ID\s*=", line):
                continue
            try:
                node = ast.parse(line.strip()).body[0].value
                return ast.literal_eval(node)
            except (SyntaxError, ValueError, IndexError, AttributeError):
                return f"<not text: {line.strip()[:60]}>"
    return None


def student_id_problem(nb: dict, name: str) -> str | None:
    """Why the student's data cannot be reproduced from a submission, or None.

    Only for a master with per-student data: the hidden tests recompute every answer
    from the data of the ID in the notebook, so a notebook without a usable ID cannot
    be graded.
    """
    if name not in masters() or not has_student_id(name):
        return None
    sid = submitted_student_id(nb)
    fix = (
        "ask the student for it, write it in the notebook's first code cell "
        '(STUDENT_ID = "s1234567", or "shared" if the class shared one data set) '
        "and grade the notebook again"
    )
    if sid is None:
        return f"no student ID: the line STUDENT_ID = ... was removed; {fix}"
    if sid is Ellipsis:
        return f"no student ID: STUDENT_ID = ... was left blank; {fix}"
    if isinstance(sid, str) and sid.startswith("<not text: "):
        return f"the student ID is not written as text ({sid[11:-1]}); {fix}"
    from helpers import course

    try:
        course.student_seed(name.split("-", 1)[0], sid)
    except (TypeError, ValueError) as err:
        return f"no usable student ID ({err}); {fix}"
    return None


# What otter puts in a markdown answer cell of the student version.
PLACEHOLDER = "_Type your answer here, replacing this text._"
_MARKER = re.compile(r"<!--\s*(BEGIN|END) QUESTION\s*-->")
_OUTPUT_LINES = 40  # lines of a code answer's printed output copied into the export


def _answer_text(cell: dict) -> str:
    """An answer cell as Markdown: prose as written, code and its text output fenced."""
    source = "".join(cell.get("source", [])).strip()
    if cell.get("cell_type") != "code":
        return source
    parts = [f"```python\n{source}\n```"]
    shown = []
    for out in cell.get("outputs", []):
        if out.get("output_type") == "stream":
            shown.append("".join(out.get("text", [])))
        elif "data" in out and "text/plain" in out["data"]:
            shown.append("".join(out["data"]["text/plain"]))
        elif out.get("output_type") == "error":
            shown.append(f"{out.get('ename', 'Error')}: {out.get('evalue', '')}")
    lines = "\n".join(s.rstrip("\n") for s in shown).splitlines()
    if lines:
        more = len(lines) - _OUTPUT_LINES
        lines = lines[:_OUTPUT_LINES] + ([f"... ({more} more lines)"] if more > 0 else [])
        parts.append("Output:\n\n```text\n" + "\n".join(lines) + "\n```")
    return "\n\n".join(parts)


def starter_cells(name: str, out: Path = OUT) -> set[str]:
    """The answer cells of the built student version as handed out (nothing answered)."""
    student = Path(out) / name / "student" / f"{name}.ipynb"
    if not student.is_file():
        return set()
    nb = json.loads(student.read_text(encoding="utf-8"))
    return {
        "".join(c["source"]).strip()
        for c in nb["cells"]
        if "otter_answer_cell" in c.get("metadata", {}).get("tags", [])
    }


def written_answers(path: Path, name: str, blank: set[str] = frozenset()) -> dict[str, str]:
    """The text of each hand-graded question's answer cells in a submitted notebook.

    Otter marks a hand-graded question with ``<!-- BEGIN QUESTION -->`` and
    ``<!-- END QUESTION -->`` in markdown cells, and one cell often holds the END of
    one question and the BEGIN of the next: the markers are read in order wherever
    they are. An answer cell left as handed out (otter's placeholder, or a cell in
    ``blank``, e.g. from :func:`starter_cells`) is no answer; a question with no
    other answer cell maps to "".
    """
    manual = [q["name"] for q in questions(name) if q["manual"]]
    unanswered = {PLACEHOLDER, *blank}
    nb = json.loads(path.read_text(encoding="utf-8"))
    answers, current = {}, None
    for cell in nb["cells"]:
        text = "".join(cell.get("source", []))
        tags = cell.get("metadata", {}).get("tags", [])
        if current is not None and "otter_answer_cell" in tags:
            if text.strip() and text.strip() not in unanswered:
                answers[current] += _answer_text(cell) + "\n\n"
            continue
        if cell.get("cell_type") != "markdown":
            continue
        for marker in _MARKER.findall(text):
            if marker == "BEGIN":
                idx = len(answers)
                current = manual[idx] if idx < len(manual) else f"manual{idx + 1}"
                answers[current] = ""
            else:
                current = None
    return answers


def sandbox_folders() -> list[Path]:
    """What a submission sees, read-only, inside the sandbox: exactly the Python
    environment (the venv and the interpreter it points to), the installed package
    ``helpers`` and its data files, and the grader's worker script.

    The repository's masters, ``_build`` (the autograder zip is copied into each
    submission's scratch folder), tests and everything else stay out of sight.
    """
    import importlib.util

    spec = importlib.util.find_spec("helpers")
    if spec is None or not spec.submodule_search_locations:
        raise AssignmentError("helpers is not installed in this Python: run `make setup`.")
    from helpers.data import data_dir

    folders = [
        Path(sys.prefix),
        Path(sys.base_prefix),
        Path(spec.submodule_search_locations[0]),
        data_dir(),
        WORKER,
    ]
    paths = {p for folder in folders for p in (folder.absolute(), folder.resolve())}
    unique: list[Path] = []
    for path in sorted(paths, key=lambda p: len(p.parts)):  # a folder before what it holds
        if not any(path.is_relative_to(u) for u in unique):
            unique.append(path)
    return unique


def check_sandbox(visible: list[Path], sealed: bool = True) -> None:
    """Start the grader's Python once in the sandbox; raise sandbox.SandboxError, naming
    the folder and the error, if the sandbox cannot be set up or the environment does not
    work inside it."""
    with tempfile.TemporaryDirectory(prefix="grade-check-") as tmp:
        probe = "import sys; print('" + sandbox.STARTED + "', file=sys.stderr); "
        probe += "import otter, ipykernel, nbconvert, helpers"
        outcome = sandbox.run(
            [sys.executable, "-c", probe],
            scratch=Path(tmp),
            limits=sandbox.Limits(wall_seconds=120),
            visible=visible,
            sealed=sealed,
        )
    if outcome.timed_out or outcome.returncode != 0:
        last = (outcome.stderr or outcome.stdout).strip().splitlines()[-1:] or ["no output"]
        raise sandbox.SandboxError(
            f"the grader's Python does not start inside the sandbox ({last[0]}); it sees "
            f"only {', '.join(map(str, visible))}"
        )


def _keep(keep: Path | None, path: Path, log: str, executed: Path | None = None) -> None:
    """Store a submission's log and executed notebook under ``keep``."""
    if keep is None:
        return
    (keep / "logs").mkdir(parents=True, exist_ok=True)
    (keep / "logs" / f"{path.stem}.log").write_text(log, encoding="utf-8")
    if executed is not None and executed.is_file():
        (keep / "executed").mkdir(parents=True, exist_ok=True)
        shutil.copy(executed, keep / "executed" / path.name)


def grade_one(
    path: Path,
    name: str,
    ag_zip: Path,
    limits: sandbox.Limits | None = None,
    visible: list[Path] | None = None,
    keep: Path | None = None,
    sealed: bool = True,
) -> dict:
    """Grade one submission sealed in its own sandbox; never raises for a bad submission.

    ``visible`` lists what the sandbox shows read-only (:func:`sandbox_folders` by
    default); ``keep`` is a folder that receives ``executed/<submission>.ipynb`` and
    ``logs/<submission>.log``. Raises sandbox.SandboxError if the sandbox cannot be set up.
    """
    limits = limits or sandbox.Limits()
    visible = sandbox_folders() if visible is None else visible
    row = {"submission": path.name, "status": "graded", "message": ""}
    reason = _check_submission(path, name)
    if not reason and has_student_id(name):
        nb = json.loads(path.read_text(encoding="utf-8"))
        reason = student_id_problem(nb, name)
        sid = submitted_student_id(nb)
        if isinstance(sid, str | int) and not reason:
            row["student_id"] = str(sid)
    if reason:
        row.update(status="not graded", message=reason)
        _keep(keep, path, f"not graded: {reason}\n")
        return row
    with tempfile.TemporaryDirectory(prefix="grade-") as tmp:
        scratch = Path(tmp)
        # Keyed on the assignment: the notebook is graded under its assignment's name.
        shutil.copy(path, scratch / f"{name}.ipynb")
        shutil.copy(ag_zip, scratch / "autograder.zip")
        env = {k: v for k, v in os.environ.items() if not k.startswith("JPY_")}
        env.update(OMP_NUM_THREADS="1", OPENBLAS_NUM_THREADS="1", MKL_NUM_THREADS="1")
        outcome = sandbox.run(
            [sys.executable, str(WORKER), "autograder.zip", f"{name}.ipynb", "result.json",
             "executed.ipynb"],
            scratch=scratch,
            limits=limits,
            visible=visible,
            env=env,
            sealed=sealed,
        )  # fmt: skip
        result_file = scratch / "result.json"
        result = json.loads(result_file.read_text()) if result_file.exists() else None
        log = f"$ otter run (exit code {outcome.returncode})\n{outcome.stdout}{outcome.stderr}"
        if outcome.timed_out:
            log += f"\nstopped after {limits.wall_seconds:g} s\n"
        _keep(keep, path, log, scratch / "executed.ipynb")
    if outcome.timed_out:
        row.update(
            status="not graded",
            message=f"did not finish within {limits.wall_seconds:.0f} s (an endless loop?)",
        )
        return row
    if result is None or outcome.returncode != 0:
        last = (outcome.stderr or outcome.stdout).strip().splitlines()[-1:] or ["no output"]
        hint = ""
        if outcome.returncode is not None and outcome.returncode < 0:
            hint = f" (killed by signal {-outcome.returncode}: CPU or memory limit?)"
        row.update(status="not graded", message=f"the autograder failed{hint}: {last[0][:200]}")
        return row
    if result["crash"]:
        row.update(status="not graded", message=f"the notebook could not be run: {result['crash']}")
        return row
    total = possible = 0.0
    failed = []
    for q in questions(name):
        test = result["tests"].get(q["name"])
        if q["manual"] or test is None:
            continue
        row[q["name"]] = test["score"]
        total += test["score"]
        possible += test["possible"]
        if test["score"] < test["possible"]:
            failed.append(q["name"])
    row.update(autograded=total, autograded_max=possible)
    notes = []
    if result["errors"]:
        first = result["errors"][0]
        notes.append(
            f"{len(result['errors'])} cell(s) raised an error, first {first['ename']}: "
            f"{first['evalue']} (in the cell starting {first['cell']!r})"
        )
    if failed:
        notes.append("lost points on " + ", ".join(failed))
    row["message"] = "; ".join(notes)
    return row


def _workers() -> int:
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:
        return max(1, os.cpu_count() or 1)


def grade(
    name: str,
    folder: Path,
    out: Path = OUT,
    *,
    limits: sandbox.Limits | None = None,
    jobs: int | None = None,
    keep: Path | None = None,
    report=None,
    sealed: bool = True,
) -> list[dict]:
    """Grade every .ipynb in folder, in parallel; one dict per submission, errors included.

    ``out`` holds the built assignments; ``keep`` receives each submission's executed
    notebook and log; ``report(row, seconds)`` is called as each submission finishes.
    The sandbox is checked first: sandbox.SandboxError, before any submission is marked,
    if it cannot be set up (``sealed=False`` grades with the limits only).
    """
    folder = Path(folder)
    if not folder.is_dir():
        raise AssignmentError(f"{folder} is not a folder of submissions.")
    ag = autograder_zip(Path(out) / name)
    subs = sorted(folder.glob("*.ipynb"))
    if not subs:
        raise AssignmentError(f"No .ipynb files in {folder}.")
    visible = sandbox_folders()
    check_sandbox(visible, sealed)

    def one(path: Path) -> tuple[dict, float]:
        start = time.perf_counter()
        row = grade_one(path, name, ag, limits, visible, keep, sealed)
        return row, time.perf_counter() - start

    rows = {}
    with ThreadPoolExecutor(max_workers=jobs or _workers()) as pool:
        futures = [pool.submit(one, p) for p in subs]
        try:
            for future in as_completed(futures):
                row, seconds = future.result()
                rows[row["submission"]] = row
                if report is not None:
                    report(row, seconds)
        except sandbox.SandboxError:
            for future in futures:
                future.cancel()
            raise
    return [rows[p.name] for p in subs]


def report_line(row: dict, seconds: float) -> str:
    """The line ``make grade`` prints when a submission is finished: name, score, time."""
    if row["status"] == "graded":
        score = f"{row['autograded']:g}/{row['autograded_max']:g}"
    else:
        score = "not graded"
    return f"  {row['submission']}: {score} ({seconds:.1f} s)"


def keep_earlier(out: Path) -> Path | None:
    """Move the results of an earlier grading in ``out`` to ``out/earlier/<time>/``.

    The time is when that grades.csv was last written (UTC). Nothing is deleted: hand
    grades entered into an earlier grades.csv stay there.
    """
    parts = [out / n for n in ("grades.csv", "written", "executed", "logs")]
    if not any(p.exists() for p in parts):
        return None
    sheet = out / "grades.csv"
    when = datetime.fromtimestamp(
        (sheet if sheet.exists() else out).stat().st_mtime, tz=UTC
    ).strftime("%Y-%m-%dT%H-%M-%SZ")
    target = out / "earlier" / when
    n = 1
    while target.exists():
        n += 1
        target = out / "earlier" / f"{when}-{n}"
    target.mkdir(parents=True)
    for part in parts:
        if part.exists():
            part.rename(target / part.name)
    return target


def points_table(name: str, out: Path = OUT):
    """Per question: its points, and how they split over public and hidden test cases.

    Read from the autograder zip, i.e. exactly what otter will apply: a question's
    points are divided equally among its test cases unless a case sets its own.
    """
    import zipfile

    import pandas as pd

    rows = []
    with zipfile.ZipFile(autograder_zip(Path(out) / name)) as zf:
        for q in questions(name):
            if q["manual"]:
                rows.append(
                    {"question": q["name"], "kind": q["kind"] or "", "points": q["points"],
                     "graded": "by hand"}
                )  # fmt: skip
                continue
            ns: dict = {}
            exec(zf.read(f"tests/{q['name']}.py").decode(), ns)  # otter's test file format
            cases = [c for s in ns["test"]["suites"] for c in s["cases"]]
            each = [c.get("points") for c in cases]
            free = q["points"] - sum(p for p in each if p is not None)
            n_free = sum(p is None for p in each)
            pts = [p if p is not None else free / n_free for p in each]
            rows.append(
                {
                    "question": q["name"],
                    "kind": q["kind"] or "",
                    "points": q["points"],
                    "graded": "automatically",
                    "public_cases": sum(not c["hidden"] for c in cases),
                    "public_points": sum(
                        p for p, c in zip(pts, cases, strict=True) if not c["hidden"]
                    ),
                    "hidden_cases": sum(c["hidden"] for c in cases),
                    "hidden_points": sum(p for p, c in zip(pts, cases, strict=True) if c["hidden"]),
                }
            )
    return pd.DataFrame(rows)


def rubric_lines(q: dict, markdown: bool = False) -> list[str]:
    """A hand-graded question's rubric as lines of text: each element with its points
    (a box to tick in Markdown), then the common wrong answers."""
    if not q.get("rubric"):
        return ["(no rubric in the master)"]
    box = "- [ ] " if markdown else "  "
    lines = [f"{box}{p:g} pt: {text}" for p, text in q["rubric"]["points"]]
    if q["rubric"]["wrong"]:
        lines += ["", "Common wrong answers:" if markdown else "  common wrong answers:"]
        lines += [f"{'- ' if markdown else '  - '}{w}" for w in q["rubric"]["wrong"]]
    return lines


def points_text(name: str, out: Path = OUT) -> str:
    """What ``make points`` prints: the table of :func:`points_table`, then the rubric
    of every hand-graded question."""
    table = points_table(name, out)
    qs = questions(name)
    lines = [table.to_string(index=False, na_rep="", float_format="{:g}".format)]
    kinds = [q["kind"] for q in qs]
    if None in kinds:
        lines += ["", "(this master gives no kind for " + ", ".join(
            q["name"] for q in qs if q["kind"] is None) + ")"]  # fmt: skip
    total = sum(q["points"] for q in qs)
    lines += ["", f"{len(qs)} questions, {total:g} points."]
    for q in qs:
        if q["manual"]:
            lines += ["", f"{q['name']} ({q['kind'] or 'no kind'}, {q['points']:g} points, "
                      "graded by hand), rubric:"]  # fmt: skip
            lines += rubric_lines(q)
    mistakes = MASTERS / f"{name}.mistakes.yml"
    if mistakes.is_file():  # checked against the tests by tests/test_assignments.py
        import yaml

        lines += ["", "Typical mistakes the hidden tests catch (points lost):"]
        for m in yaml.safe_load(mistakes.read_text(encoding="utf-8")) or []:
            lost = ", ".join(f"{q} -{p:g}" for q, p in m["loses"].items())
            lines.append(f"  {m['question']}: {m['mistake']} ({lost})")
    return "\n".join(lines)


def grade_table(name: str, rows: list[dict]):
    """The grade sheet: a first row of maximum points, then one row per submission.

    Hand-graded questions have a column (empty, to fill in) and their maximum in the
    first row.
    """
    import pandas as pd

    qs = questions(name)
    auto_max = sum(q["points"] for q in qs if not q["manual"])
    manual_max = sum(q["points"] for q in qs if q["manual"])
    cols = ["submission", "student_id", "status"] + [q["name"] for q in qs]
    cols += ["autograded", "autograded_max", "manual_max", "message"]
    top = {
        "submission": "(maximum points)",
        **{q["name"]: q["points"] for q in qs},
        "autograded": auto_max,
        "autograded_max": auto_max,
        "manual_max": manual_max,
        "message": "hand-graded: " + (", ".join(q["name"] for q in qs if q["manual"]) or "none"),
    }
    table = pd.DataFrame([top, *rows]).reindex(columns=cols)
    table.loc[1:, "manual_max"] = manual_max
    return table


def grade_summary(name: str, table, width: int = 100) -> str:
    """What ``make grade`` prints: a narrow table, then each message on its own lines.

    One row per submission with its status and autograded score out of the maximum;
    the messages (why a notebook was not graded, errors, lost points) follow, wrapped
    to ``width``. ``grades.csv`` keeps every column.
    """
    top, rows = table.iloc[0], table.iloc[1:]
    score = [
        f"{r['autograded']:g}/{r['autograded_max']:g}" if r["status"] == "graded" else "-"
        for _, r in rows.iterrows()
    ]
    cells = [
        ("submission", "status", "autograded"),
        *zip(rows["submission"], rows["status"], score, strict=True),
    ]
    w1, w2 = (max(len(str(c[i])) for c in cells) for i in (0, 1))
    lines = [f"{a:<{w1}}  {b:<{w2}}  {c}" for a, b, c in cells]
    lines.insert(1, "-" * max(map(len, lines)))
    manual = [q["name"] for q in questions(name) if q["manual"]]
    by_hand = (
        f"graded by hand (written/): {', '.join(manual)}, {top['manual_max']:g} points"
        if manual
        else "no question is graded by hand"
    )
    lines += ["", *textwrap.wrap(
        f"Autograded maximum: {top['autograded_max']:g} points; {by_hand}.", width=width,
        break_long_words=False, break_on_hyphens=False,
    )]  # fmt: skip
    notes = [
        f"{r['submission']}: {r['message']}"
        for _, r in rows.iterrows()
        if isinstance(r["message"], str) and r["message"]
    ]
    if notes:
        lines += ["", "Messages:"]
        for note in notes:
            lines += textwrap.wrap(
                note, width=width, initial_indent="- ", subsequent_indent="  ",
                break_long_words=False, break_on_hyphens=False,
            )  # fmt: skip
    return "\n".join(lines)


def write_written_answers(name: str, folder: Path, target: Path, out: Path = OUT) -> list[Path]:
    """One Markdown file per submission with its answers to the hand-graded questions.

    ``out`` holds the built assignments: an answer cell left as in the student version
    there counts as no answer.
    """
    target.mkdir(parents=True, exist_ok=True)
    prompts = {q["name"]: q for q in questions(name) if q["manual"]}
    blank = starter_cells(name, out)
    written = []
    for path in sorted(Path(folder).glob("*.ipynb")):
        if _check_submission(path, name):
            continue
        answers = written_answers(path, name, blank)
        lines = [f"# {path.name}: written answers ({name})", ""]
        sid = submitted_student_id(json.loads(path.read_text(encoding="utf-8")))
        if has_student_id(name):
            shown = sid if isinstance(sid, str | int) and sid is not Ellipsis else "(none)"
            lines += [f"Student ID: {shown}", ""]
        for q, spec in prompts.items():
            kind = f"{spec['kind']}, " if spec["kind"] else ""
            lines += [f"## {q} ({kind}{spec['points']:g} points, graded by hand)", ""]
            lines += [answers.get(q, "").strip() or "*(no answer)*", ""]
            lines += [f"**Rubric ({spec['points']:g} points)**", ""]
            lines += [*rubric_lines(spec, markdown=True), ""]
        dest = target / f"{path.stem}.md"
        dest.write_text("\n".join(lines), encoding="utf-8")
        written.append(dest)
    return written


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description="Build or grade the course assignments.")
    sub = parser.add_subparsers(dest="command", required=True)
    b = sub.add_parser("build", help="student and autograder versions of the assignments")
    b.add_argument("names", nargs="*")
    b.add_argument("--out", default=str(OUT))
    b.add_argument("--force", action="store_true", help="rebuild even if unchanged")
    b.add_argument(
        "--shared",
        action="store_true",
        help='one data set for the whole class: STUDENT_ID = "shared" filled in',
    )
    g = sub.add_parser("grade", help="grade a folder of submitted notebooks")
    g.add_argument("name")
    g.add_argument("folder")
    g.add_argument("--out", default=None, help="folder for the results (_build/grades/NAME)")
    g.add_argument("--assignments", default=str(OUT))
    g.add_argument("--jobs", type=int, default=None, help="parallel graders (all cores)")
    g.add_argument("--timeout", type=float, default=120, help="seconds per submission (120)")
    g.add_argument("--memory-gb", type=float, default=4, help="memory per submission")
    g.add_argument(
        "--unconfined",
        action="store_true",
        help="grade with the limits only where this machine cannot seal a submission",
    )
    p = sub.add_parser("points", help="how the points of an assignment are earned")
    p.add_argument("name")
    p.add_argument("--assignments", default=str(OUT))
    args = parser.parse_args(argv)
    try:
        if args.command == "build":
            for path in build(args.names, Path(args.out), args.force, args.shared):
                note = ""
                if has_student_id(path.name):
                    note = " (one shared data set)" if args.shared else " (per-student data)"
                print(
                    f"{path.name}: student {path / 'student'}, autograder "
                    f"{path / 'autograder'}{note}"
                )
            return 0
        if args.command == "points":
            print(points_text(args.name, Path(args.assignments)))
            return 0
        out = Path(args.out) if args.out else GRADES / args.name
        limits = sandbox.Limits(
            wall_seconds=args.timeout,
            cpu_seconds=max(1, int(args.timeout * 1.5)),
            memory_bytes=int(args.memory_gb * sandbox.GIB),
        )
        sealed = not args.unconfined
        if not sandbox.available():
            why = sandbox.unavailable()
            if sealed:
                print(f"ERROR: {NOT_SEALED.format(why=why)}", file=sys.stderr)
                return 2
            print(f"WARNING: {NOT_SEALED.format(why=why)}", file=sys.stderr, flush=True)
        elif not sealed:
            print("WARNING: --unconfined: the submissions run with the limits only, NOT SEALED.")
        print(f"Grading {args.folder} as {args.name} with {args.jobs or _workers()} grader(s).")
        limits_line = f"Each submission: {args.timeout:g} s, {args.memory_gb:g} GB; " + (
            f"{sandbox.isolation()}." if sealed else "limits only, NOT SEALED."
        )
        print("\n".join(textwrap.wrap(limits_line, width=100, subsequent_indent="  ")), flush=True)
        out.mkdir(parents=True, exist_ok=True)
        staging = Path(tempfile.mkdtemp(prefix=".grading-", dir=out))
        try:
            rows = grade(
                args.name,
                Path(args.folder),
                Path(args.assignments),
                limits=limits,
                jobs=args.jobs,
                keep=staging,
                report=lambda row, s: print(report_line(row, s), flush=True),
                sealed=sealed,
            )
            earlier = keep_earlier(out)
            for part in ("executed", "logs"):
                if (staging / part).exists():
                    (staging / part).rename(out / part)
        finally:
            shutil.rmtree(staging, ignore_errors=True)
        table = grade_table(args.name, rows)
        table.to_csv(out / "grades.csv", index=False)
        written = write_written_answers(
            args.name, Path(args.folder), out / "written", Path(args.assignments)
        )
        print("\n" + grade_summary(args.name, table))
        print(f"\nwrote {out / 'grades.csv'} and {len(written)} file(s) of written answers")
        print(f"in {out / 'written'}; executed notebooks in {out / 'executed'},")
        print(f"autograder logs in {out / 'logs'}")
        if earlier is not None:
            print(f"the results of the earlier grading are in {earlier}")
        return 0
    except sandbox.SandboxError as err:
        print(f"ERROR: {err}. No submission was graded.", file=sys.stderr)
        return 1
    except (AssignmentError, BuildError) as err:
        print(f"ERROR: {err}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
