"""Course assignments: otter assign builds them, solutions pass, students get no solutions,
blank and typically wrong notebooks lose the points, bad submissions are reported."""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path

import assignments as asg
import pytest

pytestmark = pytest.mark.slow

NAMES = list(asg.masters())


@pytest.fixture(scope="session")
def built() -> Path:
    """Every assignment built (otter assign runs and checks each master's solutions).

    The same folder the book build writes (_build/assignments): the build's lock makes
    this wait while the book build, running beside these tests, builds them, and then
    finds them built (each is rebuilt only when its master, helpers or data change).
    """
    asg.build()
    return asg.OUT


def test_there_is_one_assignment_per_core_chapter():
    assert len(NAMES) >= 5
    chapters = sorted(p.stem for p in (asg.ROOT / "chapters").glob("0*.md"))
    assert [n.split("-", 1)[0] for n in NAMES] == [f"a{c[1]}" for c in chapters]


@pytest.mark.parametrize("name", NAMES)
def test_master_assigns_cleanly(built, name):
    folder = built / name
    assert (folder / "student" / f"{name}.ipynb").is_file()
    assert (folder / "autograder" / f"{name}.ipynb").is_file()
    assert asg.autograder_zip(folder).is_file()


def _solution_lines(master: Path) -> list[str]:
    """Lines of the master that only the solutions contain."""
    lines, inside = [], False
    for line in master.read_text().splitlines():
        if line.strip().startswith("# BEGIN SOLUTION"):
            inside = True
            continue
        if line.strip().startswith("# END SOLUTION"):
            inside = False
            continue
        if line.rstrip().endswith("# SOLUTION"):
            lines.append(line.rsplit("# SOLUTION", 1)[0].strip())
        elif inside and line.strip() and not line.startswith("#"):
            lines.append(line.strip())
    return [ln for ln in lines if len(ln) > 12]


@pytest.mark.parametrize("name", NAMES)
def test_student_version_has_no_solutions_and_no_hidden_tests(built, name):
    nb = json.loads((built / name / "student" / f"{name}.ipynb").read_text())
    text = "\n".join("".join(c["source"]) for c in nb["cells"])
    secrets = _solution_lines(asg.masters()[name])
    assert secrets, "the master should have solution code"
    leaked = [s for s in secrets if s in text]
    assert not leaked, leaked
    tests = nb["metadata"]["otter"]["tests"]
    cases = [c for t in tests.values() for s in t["suites"] for c in s["cases"]]
    assert cases and not any(c["hidden"] for c in cases)
    assert "BEGIN TEST CONFIG" not in json.dumps(nb)


@pytest.mark.parametrize("name", NAMES)
def test_student_version_opens_with_its_title_and_folds_the_set_up_cell(built, name):
    """Otter's init cell (which a6-a9 let otter put first) follows the title and carries
    the hide-input tag: the book's page folds it away; in Jupyter it runs as usual."""
    nb = json.loads((built / name / "student" / f"{name}.ipynb").read_text())
    cells = nb["cells"]
    assert cells[0]["cell_type"] == "markdown"
    assert "".join(cells[0]["source"]).startswith(f"# Assignment {name[1]}:")
    assert asg.init_cell_index(nb) == 1
    init = cells[1]
    assert "".join(init["source"]) == asg.INIT_CELL.format(name=name)
    assert "hide-input" in init["metadata"]["tags"]


@pytest.mark.parametrize("name", NAMES)
def test_book_page_puts_the_note_right_under_the_title(built, name):
    import build_book

    student = built / name / "student" / f"{name}.ipynb"
    page = build_book.assignment_page(student)
    heading, note, intro = (c.source for c in page.cells[:3])
    assert heading.startswith(f"# Assignment {name[1]}:") and "\n" not in heading
    assert note.startswith(":::{note}") and "**student version**" in note
    first_code = next(c for c in page.cells if c.cell_type == "code")
    assert "otter.Notebook(" in first_code.source
    assert "hide-input" in first_code.metadata["tags"]
    # The page is the student version plus the note, nothing lost or moved otherwise.
    original = json.loads(student.read_text())["cells"]
    text = ["".join(c["source"]) for c in original]
    assert f"{heading}\n\n{intro}" == text[0]
    assert [c.source for c in page.cells[3:]] == text[1:]
    assert page == build_book.assignment_page(student)  # the same page at every build


def _grade(built, name, nb_path):
    return asg.grade_one(nb_path, name, asg.autograder_zip(built / name))


@pytest.mark.parametrize("name", NAMES)
def test_blank_student_notebook_fails_the_autograded_questions(built, name):
    row = _grade(built, name, built / name / "student" / f"{name}.ipynb")
    assert row["status"] == "graded"
    auto = [k for k in row if re.fullmatch(r"q\d+", k)]
    assert auto and all(row[k] == 0 for k in auto), row


# A typical wrong answer per assignment: (question, solution text, wrong text).
WRONG = {
    "a1-complete-pooling": ("q1", "n0 = (N - (n_j**2).sum() / N) / (J - 1)", "n0 = N / J"),
    "a2-no-pooling": ("q3", "slopes.std(ddof=1)", "slopes.std(ddof=0)"),
    "a3-random-intercepts": (
        "q1",
        'hp.fit_lmm("mAch ~ 1 + (1 | school)", hsb, reml=False)',
        'hp.fit_lmm("mAch ~ 1 + (1 | school)", hsb)',
    ),
    "a4-random-slopes": (
        "q2",
        'p_slope = hp.compare(m_a, m_b)["p_value"].iloc[1]',
        "p_slope = scipy.stats.chi2.sf(m_a.deviance - m_b.deviance, 2)",
    ),
    "a5-shrinkage": (
        "q1",
        "lam2 = tau00 / (tau00 + sigma2 / 2)",
        "lam2 = tau00 / (tau00 + sigma2)",
    ),
    "a6-within-between": (
        "q4",
        "var_at_1 = t[0, 0] + 2 * t[0, 1] + t[1, 1] + ms.sigma2",
        "var_at_1 = t[0, 0] + t[1, 1] + ms.sigma2",
    ),
    "a7-growth": (
        "q4",
        'ci = m_ml.confint(method="profile")',
        'ci = m_ml.confint(method="wald")',
    ),
    "a8-sample-size": (
        "q1",
        "deff = 1 + (n - 1) * rho",
        "deff = 1 + n * rho",
    ),
    "a9-binary-outcomes": (
        "q1",
        "icc_latent = tau00 / (tau00 + np.pi**2 / 3)",
        "icc_latent = tau00 / (tau00 + 1)",
    ),
}


@pytest.mark.parametrize("name", NAMES)
def test_typical_wrong_answer_fails_its_hidden_test(built, name, tmp_path):
    question, right, wrong = WRONG[name]
    solution = built / name / "autograder" / f"{name}.ipynb"
    text = solution.read_text()
    assert json.dumps(right)[1:-1] in text, "the solution changed: update WRONG"
    bad = tmp_path / f"{name}.ipynb"
    bad.write_text(text.replace(json.dumps(right)[1:-1], json.dumps(wrong)[1:-1]))
    row = _grade(built, name, bad)
    assert row["status"] == "graded"
    points = _points(asg.masters()[name])
    # The public test still passes (partial credit); the hidden one catches the mistake.
    assert row[question] < points[question], row
    # The notebook still runs: questions that do not build on the mistake keep their points
    # (in a3 the REML fit of q1 is reused in q2 and q3, so those lose points too).
    others = [k for k in row if re.fullmatch(r"q\d+", k) and k != question]
    assert any(row[k] == points[k] for k in others), row


def _points(master: Path) -> dict[str, float]:
    """Points of the auto-graded questions, from the master's question configs."""
    found = re.findall(r"# name: (q\d+)\n((?:# \w+: .*\n)*)", master.read_text())
    return {
        q: float(re.search(r"points: ([\d.]+)", cfg).group(1))
        for q, cfg in found
        if "manual: true" not in cfg
    }


def test_a_batch_with_bad_submissions_reports_each_and_goes_on(built, tmp_path):
    name = "a2-no-pooling"
    subs = tmp_path / "submissions"
    subs.mkdir()
    shutil.copy(built / name / "autograder" / f"{name}.ipynb", subs / "alice.ipynb")
    (subs / "bob.ipynb").write_text("this is not a notebook")
    shutil.copy(
        built / "a3-random-intercepts" / "student" / "a3-random-intercepts.ipynb",
        subs / "carol.ipynb",
    )
    crashing = json.loads((built / name / "autograder" / f"{name}.ipynb").read_text())
    for cell in crashing["cells"]:
        if cell["cell_type"] == "code" and "import helpers" in "".join(cell["source"]):
            cell["source"] = ["raise RuntimeError('my notebook does not run')\n"]
    (subs / "dave.ipynb").write_text(json.dumps(crashing))
    rows = {r["submission"]: r for r in asg.grade(name, subs, out=built)}
    assert rows["alice.ipynb"]["status"] == "graded"
    # The solution earns every autograded point (the manual q5 is graded by hand).
    assert rows["alice.ipynb"]["autograded"] == rows["alice.ipynb"]["autograded_max"] > 0
    assert rows["bob.ipynb"]["status"] == "not graded"
    assert "not a Jupyter notebook" in rows["bob.ipynb"]["message"]
    assert "belongs to assignment 'a3-random-intercepts'" in rows["carol.ipynb"]["message"]
    dave = rows["dave.ipynb"]
    assert (
        dave["status"] == "graded" and dave["autograded"] == 0 and "lost points" in dave["message"]
    )
    assert "RuntimeError: my notebook does not run" in dave["message"]


def test_printed_grade_summary_is_narrow_and_keeps_every_message():
    """`make grade` prints submission, status and score; long messages go underneath,
    wrapped, one per submission (grades.csv keeps the wide table)."""
    name = "a2-no-pooling"
    long_canvas_name = "doe_jane_12345_67890_a2-no-pooling.ipynb"
    error = (
        "2 cell(s) raised an error, first KeyError: 'school_mean' (in the cell starting "
        '\'hsb["school_mean"] = hsb.groupby("school")["ses"].transform("mean")\\n\')'
    )
    rows = [
        {"submission": long_canvas_name, "status": "graded", "message": error + "; lost points on q2",
         "q1": 2.0, "q2": 1.0, "autograded": 7.0, "autograded_max": 8.0},
        {"submission": "bob.ipynb", "status": "not graded",
         "message": "not a Jupyter notebook (the file is not valid notebook JSON)"},
        {"submission": "carol.ipynb", "status": "graded", "message": "",
         "autograded": 8.0, "autograded_max": 8.0},
    ]  # fmt: skip
    table = asg.grade_table(name, rows)
    assert len(table.to_string(index=False).splitlines()[1]) > 150  # what used to be printed
    text = asg.grade_summary(name, table, width=80)
    lines = text.splitlines()
    assert max(map(len, lines)) <= 80, text
    assert lines[0].split() == ["submission", "status", "autograded"]
    assert lines[2].split() == [long_canvas_name, "graded", "7/8"]
    assert lines[3].split() == ["bob.ipynb", "not", "graded", "-"]
    assert lines[4].split() == ["carol.ipynb", "graded", "8/8"]
    messages = text.split("Messages:\n", 1)[1]
    entries = [" ".join(e.split()) for e in messages.split("\n- ")]
    assert entries == [
        "- " + " ".join(f"{long_canvas_name}: {rows[0]['message']}".split()),
        " ".join(f"bob.ipynb: {rows[1]['message']}".split()),
    ]
    manual = [q["name"] for q in asg.questions(name) if q["manual"]]
    assert f"graded by hand (written/): {', '.join(manual)}, " in text
