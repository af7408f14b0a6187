"""The refit explorer (ipywidgets), driven through a real Jupyter kernel with nbclient.

Each control is moved as a reader would (by setting its value in the kernel, which
fires the same observers a slider drag does), and the explorer's fit is compared
with a fit of the same model to the same rows made directly with hp.fit_lmm.
"""

from __future__ import annotations

import json

import nbformat
import pytest
from nbclient import NotebookClient

pytestmark = pytest.mark.slow

SETUP = """
import json
import helpers as hp
pupils = hp.load_dataset("popularity")
ex = hp.widgets.refit_explorer(pupils, focus=1)
ex
"""

DRIVE = """
c = ex.controls
sizes = pupils.groupby("class", observed=True).size()
report = {"data": [len(pupils), int(sizes[1]), int(sizes[2])]}
report["start"] = [ex.formula, ex.fit.n_obs, ex.fit.reml, ex.fit.deviance]

c["slope"].value = True
report["slope"] = [ex.formula, list(ex.fit.tau.index)]

c["method"].value = "ML"
direct = hp.fit_lmm(ex.formula, pupils, reml=False)
report["ml"] = [ex.fit.reml, ex.fit.deviance, direct.deviance]

c["keep"].value = 3
sub = hp.fit_lmm(ex.formula, ex.data_used, reml=False)
report["keep"] = [
    ex.fit.n_obs,
    int((ex.data_used["class"] == 1).sum()),
    ex.fit.deviance,
    sub.deviance,
]

c["drop"].value = True
report["drop"] = [ex.fit.n_groups, bool((ex.data_used["class"] == 1).any())]

c["drop"].value = False
c["focus"].value = 2
report["focus"] = [c["keep"].value, c["keep"].max, ex.fit.n_obs]

report["outputs"] = len(ex.output.outputs)
print(json.dumps(report))
"""


def test_refit_explorer_refits_when_its_controls_move(root):
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_code_cell(SETUP), nbformat.v4.new_code_cell(DRIVE)]
    nb.metadata["kernelspec"] = {
        "name": "python3",
        "display_name": "Python 3",
        "language": "python",
    }
    NotebookClient(
        nb, timeout=300, kernel_name="python3", resources={"metadata": {"path": str(root)}}
    ).execute()

    shown = nb.cells[0].outputs[0]["data"]
    assert "application/vnd.jupyter.widget-view+json" in shown  # a live widget, not text
    report = json.loads(nb.cells[1].outputs[0]["text"])
    pupils, class_1, class_2 = report["data"]

    formula, n_obs, reml, _ = report["start"]
    assert formula == "popular ~ extrav + (1 | class)" and n_obs == pupils and reml is True

    formula, terms = report["slope"]
    assert formula == "popular ~ extrav + (1 + extrav | class)"
    assert terms == ["Intercept", "extrav"]

    reml, dev, direct = report["ml"]
    assert reml is False and dev == pytest.approx(direct, rel=1e-10)

    n_obs, kept, dev, direct = report["keep"]
    assert kept == 3 and n_obs == pupils - class_1 + 3
    assert dev == pytest.approx(direct, rel=1e-10)

    n_groups, still_there = report["drop"]
    assert n_groups == 99 and not still_there

    keep, keep_max, n_obs = report["focus"]
    assert keep == keep_max == class_2 and n_obs == pupils  # a new class starts with all pupils
    assert report["outputs"] >= 2  # the table was redrawn into the output area


def test_progress_is_a_widget_inside_a_kernel_and_silent_on_stderr(root):
    """hp.bootstrap(progress=True) shows an ipywidgets bar in a notebook, not text."""
    code = (
        "import helpers as hp\n"
        "d = hp.load_dataset('sleepstudy')\n"
        "m = hp.fit_lmm('Reaction ~ Days + (1 | Subject)', d)\n"
        "b = hp.bootstrap(m, n=3, seed=1, progress=True)\n"
    )
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_code_cell(code)]
    NotebookClient(
        nb, timeout=300, kernel_name="python3", resources={"metadata": {"path": str(root)}}
    ).execute()
    outputs = nb.cells[0].outputs
    widgets = [
        o for o in outputs if "application/vnd.jupyter.widget-view+json" in o.get("data", {})
    ]
    assert len(widgets) == 1
    assert not [o for o in outputs if o.get("name") == "stderr" and "bootstrap" in o["text"]]
