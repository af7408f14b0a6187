"""Journey: an instructor grades a folder of submissions with `make grade`.

Each submission runs sealed in its own sandbox (tools/sandbox.py, bubblewrap): a
notebook that loops forever or allocates without bound is stopped and reported; a
hostile one reaches nothing outside its scratch folder (home, siblings, masters,
_build, /tmp, the network); the file name does not matter; a notebook whose cells
raise is graded and the errors are reported; the CSV carries the hand-graded
questions and their maximum points; grading again gives the same rows and keeps the
earlier ones; a sandbox that cannot be set up stops grading before any submission is
marked.
"""

from __future__ import annotations

import contextlib
import csv
import io
import json
import os
import re
import shutil
import socket
import subprocess
import sys
import time
import uuid
from pathlib import Path

import assignments as asg
import psutil
import pytest
import sandbox

pytestmark = pytest.mark.slow

NAME = "a2-no-pooling"


@pytest.fixture(scope="module")
def built() -> Path:
    """The built assignments (_build/assignments; the book build has usually made them)."""
    asg.build([NAME])
    return asg.OUT


def _notebook_with(built: Path, cells: list[str], *, solution: bool = True) -> dict:
    """The solution notebook with extra code cells inserted after the imports cell."""
    kind = "autograder" if solution else "student"
    nb = json.loads((built / NAME / kind / f"{NAME}.ipynb").read_text())
    at = next(
        i
        for i, c in enumerate(nb["cells"])
        if c["cell_type"] == "code" and "import helpers" in "".join(c["source"])
    )
    for offset, src in enumerate(cells, start=1):
        nb["cells"].insert(
            at + offset,
            {
                "cell_type": "code",
                "metadata": {},
                "outputs": [],
                "execution_count": None,
                "source": src,
            },
        )
    return nb


def test_points_table_says_public_tests_carry_points(built):
    table = asg.points_table(NAME, built)
    auto = table[table["graded"] == "automatically"]
    assert (auto["public_points"] + auto["hidden_points"] == auto["points"]).all()
    # What book/instructors.md states: each test case carries an equal share.
    assert (auto["public_points"] > 0).all() and (auto["hidden_points"] > 0).all()
    doc = (asg.ROOT / "book" / "instructors.md").read_text()
    assert "divided equally among its test cases" in doc


def test_make_points_is_the_documented_command_and_prints_the_table(built, capsys):
    """book/instructors.md names `make points A=…`; the target runs the book's Python."""
    doc = (asg.ROOT / "book" / "instructors.md").read_text()
    assert "make points A=" in doc and "python tools/assignments.py points" not in doc
    dry = subprocess.run(
        ["make", "-n", "--no-print-directory", "points", f"A={NAME}"],
        cwd=asg.ROOT, capture_output=True, text=True,
    )  # fmt: skip
    assert dry.returncode == 0, dry.stderr
    assert f".venv/bin/python tools/assignments.py points {NAME}" in dry.stdout
    assert asg.main(["points", NAME, "--assignments", str(built)]) == 0
    out = capsys.readouterr().out.splitlines()
    qs = asg.questions(NAME)
    assert out[0].split()[:4] == ["question", "kind", "points", "graded"]
    table = out[1 : 1 + len(qs)]  # the table; the rubrics and typical mistakes follow
    assert [line.split()[:2] for line in table] == [[q["name"], q["kind"]] for q in qs]
    manual = [q["name"] for q in qs if q["manual"]]
    assert all("by hand" in line for line in table if line.split()[0] in manual)
    rubric = [line for line in out if line.endswith("graded by hand), rubric:")]
    assert [line.split()[0] for line in rubric] == manual


def test_student_notebook_finds_itself_under_another_file_name(built, tmp_path):
    """`a2-no-pooling (1).ipynb`, as a browser saves a second download: grader.check works."""
    nb = json.loads((built / NAME / "autograder" / f"{NAME}.ipynb").read_text())
    student = json.loads((built / NAME / "student" / f"{NAME}.ipynb").read_text())
    # the student version's init cell
    nb["cells"][asg.init_cell_index(nb)] = student["cells"][asg.init_cell_index(student)]
    nb["metadata"] = student["metadata"]  # with the public tests, as students have them
    renamed = tmp_path / f"{NAME} (1).ipynb"
    renamed.write_text(json.dumps(nb))
    (tmp_path / "another-notebook.ipynb").write_text(
        json.dumps({"cells": [], "metadata": {}, "nbformat": 4, "nbformat_minor": 5})
    )
    proc = subprocess.run(
        [sys.executable, "-m", "jupyter", "nbconvert", "--to", "notebook", "--execute",
         "--stdout", renamed.name],
        cwd=tmp_path, capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr[-2000:]
    executed = json.loads(proc.stdout)
    checks = [
        "".join(o.get("data", {}).get("text/plain", ""))
        for c in executed["cells"]
        if c["cell_type"] == "code" and "grader.check(" in "".join(c["source"])
        for o in c["outputs"]
    ]
    assert checks and all("passed" in text for text in checks), checks


def _require_sandbox():
    """Grading tests need bubblewrap; CI (.ci/run installs it) fails without it."""
    if not sandbox.available() and not os.environ.get("CI"):
        pytest.skip(f"this machine cannot seal submissions: {sandbox.unavailable()}")


def test_endless_and_greedy_notebooks_are_stopped_in_parallel(built, tmp_path):
    """A notebook that loops forever and one that allocates without bound, graded side
    by side with short limits: both are stopped and reported, nothing keeps running."""
    _require_sandbox()
    subs = tmp_path / "limits"
    subs.mkdir()
    loop = _notebook_with(built, ["while True:\n    pass\n"])
    (subs / "loops.ipynb").write_text(json.dumps(loop))
    hog = _notebook_with(built, ["blocks = []\nwhile True:\n    blocks.append(bytearray(10**8))\n"])
    (subs / "hog.ipynb").write_text(json.dumps(hog))
    limits = sandbox.Limits(wall_seconds=15, cpu_seconds=30, memory_bytes=3 * sandbox.GIB)
    start = time.perf_counter()
    rows = {r["submission"]: r for r in asg.grade(NAME, subs, out=built, limits=limits, jobs=2)}
    print(f"graded 2 submissions on 2 cores in {time.perf_counter() - start:.1f} s")
    looped = rows["loops.ipynb"]
    assert looped["status"] == "not graded"
    assert "did not finish within 15 s" in looped["message"]
    hog = rows["hog.ipynb"]
    assert hog["status"] == "not graded" or "MemoryError" in hog["message"], hog
    # Nothing a submission started is still running.
    leftovers = [
        p.info["cmdline"]
        for p in psutil.process_iter(["cmdline"])
        if p.info["cmdline"] and str(asg.WORKER) in p.info["cmdline"]
    ]
    assert not leftovers, leftovers


def test_autograder_zip_installs_helpers_for_gradescope(built):
    import zipfile

    with zipfile.ZipFile(asg.autograder_zip(built / NAME)) as zf:
        env = zf.read("environment.yml").decode()  # otter puts pip requirements there
    assert f"- {asg.package_requirement()}" in env


def _sections(markdown: str, rubric: bool = False) -> dict[str, str]:
    """The answer under each '## <question> (...)' heading of a written-answers file
    (or, with ``rubric``, the rubric printed after it)."""
    parts = re.split(r"^## (\S+) .*$", markdown, flags=re.M)
    split = [body.split("**Rubric (", 1) for body in parts[2::2]]
    assert all(len(s) == 2 for s in split), "every answer is followed by its rubric"
    return {q: s[rubric].strip() for q, s in zip(parts[1::2], split, strict=True)}


@pytest.mark.parametrize("name", ["a1-complete-pooling", "a4-random-slopes"])
def test_written_export_has_every_hand_graded_answer(name, tmp_path):
    """Otter writes one question's END and the next one's BEGIN in a single cell; the
    second hand-graded question is exported too, and an untouched cell is no answer."""
    (folder,) = asg.build([name])
    student = folder / "student" / f"{name}.ipynb"
    manual = [q["name"] for q in asg.questions(name) if q["manual"]]
    assert len(manual) >= 2, manual
    nb = json.loads(student.read_text())
    cells = nb["cells"]
    prose = [
        k
        for k, c in enumerate(cells)
        if c["cell_type"] == "markdown" and "otter_answer_cell" in c["metadata"].get("tags", [])
    ]
    assert len(prose) == len(manual)  # one written answer cell per hand-graded question
    for q, k in zip(manual, prose, strict=True):
        assert "".join(cells[k]["source"]) == asg.PLACEHOLDER
        cells[k]["source"] = f"Larger. (my answer to {q})"

    # a4's q5 also asks for code and its output: a code answer cell after its prose one
    def _is_code_answer(cell):
        tags = cell["metadata"].get("tags", [])
        return cell["cell_type"] == "code" and "otter_answer_cell" in tags

    with_code = [i for i, k in enumerate(prose) if _is_code_answer(cells[k + 1])]
    has_code = bool(with_code)
    if has_code:
        code_after = cells[prose[with_code[0]] + 1]
        code_after["source"] = "m_quad = 'my fit'\nm_quad"
        code_after["outputs"] = [
            {"output_type": "execute_result", "data": {"text/plain": "'my fit'"},
             "metadata": {}, "execution_count": 1}
        ]  # fmt: skip
    subs = tmp_path / "subs"
    subs.mkdir()
    (subs / "answered.ipynb").write_text(json.dumps(nb))
    shutil.copy(student, subs / "untouched.ipynb")
    written = asg.write_written_answers(name, subs, tmp_path / "written", asg.OUT)
    assert sorted(p.name for p in written) == ["answered.md", "untouched.md"]

    answered = _sections((tmp_path / "written" / "answered.md").read_text())
    assert list(answered) == manual
    for q in manual:
        assert f"Larger. (my answer to {q})" in answered[q], answered
        assert "no answer" not in answered[q]
    assert (name == "a4-random-slopes") == has_code
    if has_code:  # the code, then what it printed
        q = manual[with_code[0]]
        assert "m_quad = 'my fit'\nm_quad\n```" in answered[q], answered
        assert "```text\n'my fit'\n```" in answered[q], answered

    untouched = _sections((tmp_path / "written" / "untouched.md").read_text())
    assert untouched == {q: "*(no answer)*" for q in manual}, untouched
    # Beside each answer, its rubric: the points of each element, the wrong answers.
    rubrics = _sections((tmp_path / "written" / "answered.md").read_text(), rubric=True)
    for q in asg.questions(name):
        if q["manual"] and q["rubric"]:
            for points, element in q["rubric"]["points"]:
                assert f"- [ ] {points:g} pt: {element}" in rubrics[q["name"]]
            assert all(w in rubrics[q["name"]] for w in q["rubric"]["wrong"])
    # otter's placeholder alone is no answer, also without the student version at hand
    assert asg.written_answers(student, name)[manual[0]] == ""


# --------------------------------------------------------------------------- sealed, twice

SECOND = "a1-complete-pooling"


def _probe(what: str, attempt: str) -> str:
    """A cell that tries one thing and prints REACHED if it worked; blocked, it raises."""
    return f"# probe: {what}\n{attempt}\nprint('REACHED {what}')\n"


def _grade_main(argv: list[str]) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = asg.main(argv)
    return code, out.getvalue(), err.getvalue()


@pytest.fixture(scope="module")
def graded(built, tmp_path_factory):
    """`make grade` run as an instructor does: a hostile notebook and the solution (with
    a written answer) graded into the default folder (_build/grades/<assignment>), then
    a second assignment's folder, twice; with canaries in $HOME, in a sibling of the repository and
    under /tmp, and a server listening on 127.0.0.1."""
    _require_sandbox()
    asg.build([SECOND])
    tmp = tmp_path_factory.mktemp("sealed")
    tag = uuid.uuid4().hex[:12]
    home_canary = Path.home() / f".grading-canary-{tag}"
    sibling = asg.ROOT.parent / f"grading-canary-{tag}"
    sibling_canary = sibling / "secret.txt"
    tmp_canary = tmp / "other-course-autograder_2026.zip"  # under the real /tmp
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(1)
    server.setblocking(False)
    port = server.getsockname()[1]
    subs = tmp / "subs"
    subs.mkdir()
    (subs / "solution.ipynb").write_text(json.dumps(_solution_with_written_answer(built)))
    ag_zip = asg.autograder_zip(built / NAME)
    written = {
        "the real /tmp": tmp / "written-by-a-student.txt",
        "the repository": asg.ROOT / f"written-by-a-student-{tag}.txt",
        "the home folder": Path.home() / f"written-by-a-student-{tag}.txt",
    }
    probes = {
        "the home folder": f"open({str(home_canary)!r}).read()",
        "a sibling folder": f"open({str(sibling_canary)!r}).read()",
        "the masters": f"open({str(asg.MASTERS / f'{NAME}.py')!r}).read()",
        "the autograder zip": f"open({str(ag_zip)!r}, 'rb').read()",
        "the tests": f"os.listdir({str(asg.ROOT / 'tests')!r})",
        "another zip under /tmp": f"open({str(tmp_canary)!r}, 'rb').read()",
        "another submission": f"open({str(subs / 'solution.ipynb')!r}).read()",
        "127.0.0.1": f"socket.create_connection(('127.0.0.1', {port}), timeout=5)",
        "a network interface": (
            "names = [n for _, n in socket.if_nameindex()]\n"
            "if names == ['lo']:\n    raise OSError(f'no network: only {names}')"
        ),
        "the parent of the scratch folder": (
            "open(os.path.join(os.path.dirname(os.environ['HOME']), 'escaped.txt'), 'w').write('x')"
        ),
        **{f"write into {k}": f"open({str(v)!r}, 'w').write('x')" for k, v in written.items()},
    }
    # A cell that raises first, then the probes: the notebook is still graded.
    crash = "raise RuntimeError('my notebook does not run')\n"
    cells = [crash, "import os, socket\n"] + [_probe(k, v) for k, v in probes.items()]
    (subs / "hostile.ipynb").write_text(json.dumps(_notebook_with(built, cells)))
    second = tmp / "second"
    second.mkdir()
    # The student version as handed out, with a student ID written in (a notebook
    # without one is not graded: test_assignments.py).
    plain = (built / SECOND / "student" / f"{SECOND}.ipynb").read_text()
    plain = plain.replace('"STUDENT_ID = ...', '"STUDENT_ID = \\"s1234567\\"')
    (second / "plain.ipynb").write_text(plain)

    runs = []
    grades_before = asg.GRADES
    asg.GRADES = tmp / "_build" / "grades"  # the default output folder, in a scratch copy
    try:
        home_canary.write_text("home canary")
        sibling.mkdir()
        sibling_canary.write_text("sibling canary")
        tmp_canary.write_bytes(b"zip canary")
        # The hostile notebook and the solution; then a second assignment, twice (the
        # same folder graded again); the three into the default folder, _build/grades.
        for name, folder in ((NAME, subs), (SECOND, second), (SECOND, second)):
            argv = ["grade", name, str(folder), "--assignments", str(built), "--jobs", "2"]
            runs.append(_grade_main(argv))
        try:
            accepted = server.accept()
        except BlockingIOError:
            accepted = None
    finally:
        asg.GRADES = grades_before
        server.close()
        home_canary.unlink(missing_ok=True)
        shutil.rmtree(sibling, ignore_errors=True)
        leaked = {k: p.exists() for k, p in written.items()}
        for p in written.values():
            p.unlink(missing_ok=True)
    return {
        "runs": runs,
        "out": tmp / "_build" / "grades",
        "probes": probes,
        "leaked": leaked,
        "accepted": accepted,
    }


WRITTEN = "Partial pooling shrinks the noisy slopes."


def _solution_with_written_answer(built: Path) -> dict:
    """The solution, as a student's notebook (the public tests in its metadata, as
    students have them), with a written answer in every hand-graded answer cell."""
    nb = json.loads((built / NAME / "autograder" / f"{NAME}.ipynb").read_text())
    student = json.loads((built / NAME / "student" / f"{NAME}.ipynb").read_text())
    for cell in nb["cells"]:
        tags = cell["metadata"].get("tags", [])
        if cell["cell_type"] == "markdown" and "otter_answer_cell" in tags:
            cell["source"] = WRITTEN
    nb["metadata"] = student["metadata"]
    return nb


def _sheet(path: Path) -> list[dict]:
    with open(path, newline="") as fh:
        return list(csv.DictReader(fh))


def test_grading_again_gives_the_same_rows_and_keeps_the_earlier_ones(graded):
    """Issue: every grading after the first of an assignment marked all "not graded"."""
    (c1, out1, err1), (c2, out2, err2), (c3, out3, err3) = graded["runs"]
    assert (c1, c2, c3) == (0, 0, 0), (err1, err2, err3)
    rows = {r["submission"]: r for r in _sheet(graded["out"] / NAME / "grades.csv")[1:]}
    assert rows["solution.ipynb"]["status"] == rows["hostile.ipynb"]["status"] == "graded"
    # A second assignment graded after the first, into the same _build/grades, and the
    # same folder graded again: the same rows, the earlier results kept.
    out = graded["out"] / SECOND
    now = _sheet(out / "grades.csv")
    (earlier,) = (out / "earlier").iterdir()
    assert now == _sheet(earlier / "grades.csv")
    (plain,) = now[1:]
    assert plain["status"] == "graded" and float(plain["autograded"]) == 0, plain
    for part in ("written/plain.md", "executed/plain.ipynb", "logs/plain.log"):
        assert (earlier / part).is_file() and (out / part).is_file(), part
    assert f"the results of the earlier grading are in {earlier}" in out3
    assert not (graded["out"] / NAME / "earlier").exists()


def test_the_sheet_has_every_point_and_the_written_answers_wait_for_the_instructor(graded):
    out = graded["out"] / NAME
    top, *rows = _sheet(out / "grades.csv")
    manual = [q["name"] for q in asg.questions(NAME) if q["manual"]]
    assert manual and all(float(top[q]) > 0 for q in manual)
    assert float(top["manual_max"]) == sum(float(top[q]) for q in manual)
    for row in rows:  # the solution's cells ran in both: every autograded point
        assert float(row["autograded"]) == float(top["autograded_max"]) > 0, row
        assert all(row[q] == "" for q in manual)  # left for the instructor
    written = (out / "written" / "solution.md").read_text()
    assert WRITTEN in written and manual[0] in written
    assert asg.GRADES == asg.ROOT / "_build" / "grades"  # the default output folder


def test_make_grade_prints_a_line_per_finished_submission(graded):
    code, out, _ = graded["runs"][0]
    print(out)
    words = " ".join(out.split())  # the limits line is wrapped
    assert "Each submission: 120 s" in words and "sealed by bubblewrap" in words
    lines = re.findall(r"^  (\S+): (\S+) \((\d+\.\d) s\)$", out, flags=re.M)
    assert sorted(name for name, _, _ in lines) == ["hostile.ipynb", "solution.ipynb"], out
    table = {r["submission"]: r for r in _sheet(graded["out"] / NAME / "grades.csv")[1:]}
    for name, score, seconds in lines:
        row = table[name]
        assert score == f"{float(row['autograded']):g}/{float(row['autograded_max']):g}"
        assert 0 < float(seconds) < 120
    # the executed notebook and the log of each submission are kept
    log = (graded["out"] / NAME / "logs" / "solution.log").read_text()
    assert "sandbox: started" in log and "exit code 0" in log


def test_a_hostile_notebook_reaches_nothing_outside_its_folder(graded):
    """Each probe cell raises (it is reported), none prints REACHED, nothing leaks."""
    out = graded["out"] / NAME
    nb = json.loads((out / "executed" / "hostile.ipynb").read_text())
    outputs = {}
    for cell in nb["cells"]:
        src = "".join(cell["source"])
        if cell["cell_type"] == "code" and src.startswith("# probe: "):
            outputs[src.splitlines()[0][len("# probe: ") :]] = cell["outputs"]
    assert sorted(outputs) == sorted(graded["probes"])
    for what, outs in outputs.items():
        errors = [o for o in outs if o["output_type"] == "error"]
        assert errors, f"{what}: not blocked: {outs}"
        assert [o for o in outs if o["output_type"] != "error"] == [], what  # no REACHED
    assert graded["leaked"] == {k: False for k in graded["leaked"]}
    assert graded["accepted"] is None  # no connection reached the server on 127.0.0.1
    (hostile,) = [r for r in _sheet(out / "grades.csv") if r["submission"] == "hostile.ipynb"]
    n = len(graded["probes"]) + 1  # and the cell that raises on purpose, reported first
    assert f"{n} cell(s) raised an error, first RuntimeError" in hostile["message"]
    assert "RuntimeError: my notebook does not run" in hostile["message"]
    assert not (asg.ROOT / "written-by-a-student.txt").exists()


def test_a_sandbox_that_cannot_be_set_up_stops_grading_before_any_submission(
    built, tmp_path, monkeypatch
):
    """A folder the sandbox must bind is missing: make grade stops, naming the folder
    and bubblewrap's error, and writes no grade (it used to mark all "not graded")."""
    _require_sandbox()
    subs = tmp_path / "subs"
    subs.mkdir()
    shutil.copy(built / NAME / "student" / f"{NAME}.ipynb", subs / "plain.ipynb")
    missing = tmp_path / "gone" / "site-packages"
    real = asg.sandbox_folders
    monkeypatch.setattr(asg, "sandbox_folders", lambda: [*real(), missing])
    out = tmp_path / "grades"
    code, stdout, stderr = _grade_main(
        ["grade", NAME, str(subs), "--assignments", str(built), "--out", str(out)]
    )
    assert code == 1
    assert "ERROR: the grading sandbox could not be set up" in stderr, stderr
    assert str(missing) in stderr and "No such file or directory" in stderr, stderr
    assert "No submission was graded" in stderr
    assert "plain.ipynb" not in stdout
    assert not (out / "grades.csv").exists() and not (out / "logs").exists()


def test_without_namespaces_make_grade_refuses_and_names_container_grading(
    built, tmp_path, monkeypatch
):
    why = "the kernel refuses the namespaces bwrap needs (bwrap: setting up uid map: Permission denied)"
    monkeypatch.setattr(sandbox, "unavailable", lambda: why)
    subs = tmp_path / "subs"
    subs.mkdir()
    shutil.copy(built / NAME / "student" / f"{NAME}.ipynb", subs / "plain.ipynb")
    out = tmp_path / "grades"
    code, stdout, stderr = _grade_main(
        ["grade", NAME, str(subs), "--assignments", str(built), "--out", str(out)]
    )
    assert code == 2 and stdout == ""
    assert stderr.startswith("ERROR: this machine cannot seal the submissions") and why in stderr
    assert "otter grade" in stderr and "--unconfined" in stderr
    assert not out.exists()
    doc = (asg.ROOT / "book" / "instructors.md").read_text()
    assert "refuses unprivileged namespaces" in doc and "otter grade -a" in doc


def test_ci_installs_bubblewrap_and_git_ignores_submissions():
    assert "need+=(bubblewrap)" in (asg.ROOT / ".ci" / "run").read_text()
    ignored = subprocess.run(["git", "check-ignore", "-q", "submissions/alice.ipynb"], cwd=asg.ROOT)
    assert ignored.returncode == 0
