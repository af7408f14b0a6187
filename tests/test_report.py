"""helpers.report: several fitted models side by side."""

from __future__ import annotations

import pytest

import helpers as hp


def test_model_table_lays_out_models_side_by_side(pop):
    m0 = hp.fit_lmm("popular ~ 1 + (1 | class)", pop, reml=False)
    m1 = hp.fit_lmm("popular ~ extrav + (1 + extrav | class)", pop, reml=False)
    table = hp.model_table({"empty": m0, "slope": m1}, digits=2)
    assert list(table.columns) == ["empty", "slope"]
    est, se = m1.fixed.loc["extrav", ["estimate", "std_error"]]
    assert table.loc[("Fixed part", "extrav"), "slope"] == f"{est:.2f} ({se:.2f})"
    assert table.loc[("Fixed part", "extrav"), "empty"] == ""  # not in the empty model
    assert (
        table.loc[("Random part", "cov(Intercept, extrav)"), "slope"] == f"{m1.tau.iloc[0, 1]:.2f}"
    )
    assert table.loc[("Model fit", "Deviance"), "empty"] == f"{m0.deviance:.1f}"
    with pytest.raises(TypeError, match="not a fit from hp.fit_lmm"):
        hp.model_table([m0, "not a model"])
