"""Journey: an instructor grades a folder of submissions with `make grade`.

Each submission runs in its own confined process (tools/sandbox.py): a notebook that
loops forever or allocates without bound is stopped and reported, one that tries to
read the hidden tests or write into the repository cannot, the file name does not
matter, a notebook whose cells raise is graded and the errors are reported, and the
CSV carries the hand-graded questions and their maximum points.
"""

from __future__ import annotations

import csv
import json
import re
import shutil
import subprocess
import sys
import time
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
    assert out[0].split()[:3] == ["question", "points", "graded"]
    manual = [q["name"] for q in asg.questions(NAME) if q["manual"]]
    assert [line.split()[0] for line in out[1:]] == [q["name"] for q in asg.questions(NAME)]
    assert all("by hand" in line for line in out[1:] if line.split()[0] in manual)


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


def test_a_batch_is_graded_in_parallel_each_confined(built, tmp_path):
    if not sandbox.namespaces_available():
        pytest.skip("this machine forbids user namespaces: only the limits apply")
    subs = tmp_path / "submissions"
    subs.mkdir()
    repo_probe = asg.ROOT / "written-by-a-student.txt"
    secret = built / NAME / "autograder" / f"{NAME}.ipynb"
    master = asg.MASTERS / f"{NAME}.py"
    shutil.copy(secret, subs / f"{NAME} (1).ipynb")  # the solution under a browser's name
    looping = tmp_path / "looping"
    looping.mkdir()
    loop = _notebook_with(built, ["while True:\n    pass\n"])
    (looping / "loops.ipynb").write_text(json.dumps(loop))
    shutil.copy(secret, subs / "other-student.ipynb")  # another submission, for the snoop
    hog = _notebook_with(built, ["blocks = []\nwhile True:\n    blocks.append(bytearray(10**8))\n"])
    (subs / "hog.ipynb").write_text(json.dumps(hog))
    snoop = _notebook_with(
        built,
        [
            f"open({str(secret)!r}).read()\n",
            f"open({str(master)!r}).read()\n",
            f"open({str(repo_probe)!r}, 'w').write('x')\n",
            f"open({str(subs / 'other-student.ipynb')!r}).read()\n",
        ],
    )
    (subs / "snoop.ipynb").write_text(json.dumps(snoop))
    crashing = _notebook_with(built, ["raise RuntimeError('my notebook does not run')\n"])
    (subs / "crash.ipynb").write_text(json.dumps(crashing))

    short = sandbox.Limits(wall_seconds=15, cpu_seconds=30)
    (looped,) = asg.grade(NAME, looping, out=built, limits=short, protect=[subs])
    limits = sandbox.Limits(wall_seconds=300, cpu_seconds=400, memory_bytes=3 * sandbox.GIB)
    start = time.perf_counter()
    rows = {r["submission"]: r for r in asg.grade(NAME, subs, out=built, limits=limits, jobs=2)}
    elapsed = time.perf_counter() - start
    print(f"graded 5 submissions on 2 cores in {elapsed:.1f} s")

    full = rows[f"{NAME} (1).ipynb"]
    assert full["status"] == "graded" and full["autograded"] == full["autograded_max"] > 0
    assert looped["status"] == "not graded"
    assert "did not finish within 15 s" in looped["message"]
    hog = rows["hog.ipynb"]
    assert hog["status"] == "not graded" or "MemoryError" in hog["message"], hog
    snoop = rows["snoop.ipynb"]
    assert snoop["status"] == "graded", snoop
    assert "4 cell(s) raised an error" in snoop["message"], snoop
    assert not repo_probe.exists()
    crash = rows["crash.ipynb"]
    assert crash["status"] == "graded" and crash["autograded"] == crash["autograded_max"]
    assert "RuntimeError: my notebook does not run" in crash["message"]
    # Nothing a submission started is still running.
    leftovers = [
        p.info["cmdline"]
        for p in psutil.process_iter(["cmdline"])
        if p.info["cmdline"] and any("grade_worker.py" in part for part in p.info["cmdline"])
    ]
    assert not leftovers, leftovers


def test_make_grade_writes_sheet_and_written_answers_under_build(built, tmp_path):
    subs = tmp_path / "subs"
    subs.mkdir()
    nb = json.loads((built / NAME / "autograder" / f"{NAME}.ipynb").read_text())
    student = json.loads((built / NAME / "student" / f"{NAME}.ipynb").read_text())
    answer = "Partial pooling shrinks the noisy slopes."
    for cell in nb["cells"]:
        if cell["cell_type"] == "markdown" and "otter_answer_cell" in cell["metadata"].get(
            "tags", []
        ):
            cell["source"] = answer
    nb["metadata"] = student["metadata"]
    (subs / "alice.ipynb").write_text(json.dumps(nb))
    out = tmp_path / "grades"
    code = asg.main(
        ["grade", NAME, str(subs), "--assignments", str(built), "--out", str(out),
         "--timeout", "120"]
    )  # fmt: skip
    assert code == 0
    with open(out / "grades.csv", newline="") as fh:
        table = list(csv.DictReader(fh))
    top, alice = table
    manual = [q["name"] for q in asg.questions(NAME) if q["manual"]]
    assert manual and all(float(top[q]) > 0 for q in manual)
    assert float(top["manual_max"]) == sum(float(top[q]) for q in manual)
    assert alice["submission"] == "alice.ipynb" and alice["status"] == "graded"
    assert all(alice[q] == "" for q in manual)  # left for the instructor
    written = (out / "written" / "alice.md").read_text()
    assert answer in written and manual[0] in written
    assert asg.GRADES == asg.ROOT / "_build" / "grades"  # the default output folder


def test_autograder_zip_installs_helpers_for_gradescope(built):
    import zipfile

    with zipfile.ZipFile(asg.autograder_zip(built / NAME)) as zf:
        env = zf.read("environment.yml").decode()  # otter puts pip requirements there
    assert f"- {asg.package_requirement()}" in env


def _sections(markdown: str) -> dict[str, str]:
    """The text under each '## <question> (...)' heading of a written-answers file."""
    parts = re.split(r"^## (\S+) .*$", markdown, flags=re.M)
    return {q: body.strip() for q, body in zip(parts[1::2], parts[2::2], strict=True)}


@pytest.mark.parametrize("name", ["a1-complete-pooling", "a4-random-slopes"])
def test_written_export_has_every_hand_graded_answer(name, tmp_path):
    """Otter writes one question's END and the next one's BEGIN in a single cell; the
    second hand-graded question is exported too, and an untouched cell is no answer."""
    (folder,) = asg.build([name])
    student = folder / "student" / f"{name}.ipynb"
    manual = [q["name"] for q in asg.questions(name) if q["manual"]]
    assert len(manual) == 2, manual
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
    code_after = cells[prose[-1] + 1]  # a4's q5 also asks for code and its output
    tags = code_after["metadata"].get("tags", [])
    has_code = code_after["cell_type"] == "code" and "otter_answer_cell" in tags
    if has_code:
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
        assert "m_quad = 'my fit'\nm_quad\n```" in answered[manual[-1]], answered
        assert "```text\n'my fit'\n```" in answered[manual[-1]], answered

    untouched = _sections((tmp_path / "written" / "untouched.md").read_text())
    assert untouched == {q: "*(no answer)*" for q in manual}, untouched
    # otter's placeholder alone is no answer, also without the student version at hand
    assert asg.written_answers(student, name)[manual[0]] == ""
