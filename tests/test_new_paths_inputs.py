"""Degenerate or badly scaled inputs to the newer model paths (several grouping factors,
residual structures in fit_lmm, fit_gls) are refused with a message that names the
problem, instead of a raw error from deep inside or a fit whose numbers mean nothing."""

import re

import numpy as np
import pandas as pd
import pytest

import helpers as hp


def _data() -> pd.DataFrame:
    rng = np.random.default_rng(7)
    J, k = 12, 4
    d = pd.DataFrame({"g": np.repeat(np.arange(J), k), "t": np.tile(np.arange(k), J)})
    d["item"] = d["t"]
    d["x"] = rng.normal(size=len(d))
    u = rng.normal(size=J)
    d["y"] = 1 + 0.5 * d["x"] + u[d["g"]] + rng.normal(size=len(d))
    d["u"] = u[d["g"]]  # constant within every group of g
    return d


D = _data()
CS = hp.CompoundSymmetry()
AR = hp.AR1(time="t")
CAR = hp.CAR1(time="t")

CASES = {
    # several factors: constant within every level of g (not the factor with fewest
    # levels) used to fail with AttributeError deep in the engine
    "multi_outcome_constant_within_g": (
        lambda: hp.fit_lmm("u ~ x + (1 | g) + (1 | item)", D),
        "constant within every group of 'g'",
    ),
    # fit_gls with a correlation: an outcome constant within groups gave rho = 1
    "gls_cs_outcome_constant_within_groups": (
        lambda: hp.fit_gls("u ~ x", D, group="g", residuals=CS),
        "constant within every group",
    ),
    "gls_ar1_outcome_constant_within_groups": (
        lambda: hp.fit_gls("u ~ x", D, group="g", residuals=AR),
        "constant within every group",
    ),
    # no pair of residuals in any group: phi was reported (-0.9) though not estimable
    "gls_ar1_every_group_one_row": (
        lambda: hp.fit_gls("y ~ x", D[D["t"] == 0], group="g", residuals=AR),
        "every group has one row",
    ),
    "gls_car1_every_group_one_row": (
        lambda: hp.fit_gls("y ~ x", D[D["t"] == 0], group="g", residuals=CAR),
        "every group has one row",
    ),
    # AR1 occasions all an even step apart: phi and -phi fit alike
    "lmm_ar1_even_gaps": (
        lambda: hp.fit_lmm("y ~ x + (1 | g)", D.assign(t=2 * D["t"]), residuals=AR),
        "multiple of 2",
    ),
    "gls_ar1_huge_gaps": (
        lambda: hp.fit_gls("y ~ x", D.assign(t=10**12 * D["t"]), group="g", residuals=AR),
        "multiple of 1000000000000",
    ),
    # CAR1 time in units far from the gaps: phi reached 0 or 0.05 with a worse loglik
    "lmm_car1_time_tiny_units": (
        lambda: hp.fit_lmm("y ~ x + (1 | g)", D.assign(t=1e-3 * D["t"]), residuals=CAR),
        "median gap",
    ),
    "lmm_car1_time_huge_units": (
        lambda: hp.fit_lmm("y ~ x + (1 | g)", D.assign(t=1e6 * D["t"]), residuals=CAR),
        "median gap",
    ),
    "gls_car1_time_huge_units": (
        lambda: hp.fit_gls("y ~ x", D.assign(t=1e3 * D["t"]), group="g", residuals=CAR),
        "median gap",
    ),
}


@pytest.mark.parametrize("case", list(CASES))
def test_refused_with_a_clear_message(case):
    call, phrase = CASES[case]
    with pytest.raises(ValueError, match=phrase):
        call()


def test_car1_rescaled_time_inside_the_range_is_the_same_fit():
    """The range refused above leaves ordinary units alone: time x 10 gives the same
    likelihood and phi^(1/10) (the closed form of CAR1's change of units)."""
    f = "y ~ x + (1 | g)"
    base = hp.fit_lmm(f, D, reml=False, residuals=CAR)
    m = hp.fit_lmm(f, D.assign(t=10.0 * D["t"]), reml=False, residuals=CAR)
    assert m.loglik == pytest.approx(base.loglik, rel=1e-9)
    assert m.residual_params["phi"] == pytest.approx(base.residual_params["phi"] ** 0.1, rel=1e-5)


@pytest.mark.parametrize(
    ("column", "kw"),
    [("t", {"residuals": AR}), ("s", {"variance": hp.VarIdent(by="s")})],
)
def test_lmm_missing_drop_covers_the_structure_columns(column, kw):
    """missing='drop' leaves out a row with a missing occasion (or VarIdent level) and
    reports it, as fit_gls does: the fit is the fit without that row."""
    d = D.assign(s=np.where(D["x"] > 0, "a", "b"))
    holed = d.astype({column: object}).copy()
    holed.loc[5, column] = None
    if column == "t":
        holed["t"] = holed["t"].astype(float)
    with pytest.warns(UserWarning, match=f"1 of 48 rows dropped .* '{column}'"):
        m = hp.fit_lmm("y ~ x + (1 | g)", holed, missing="drop", **kw)
    ref = hp.fit_lmm("y ~ x + (1 | g)", d.drop(index=5), **kw)
    assert m.n_dropped == 1
    assert m.loglik == pytest.approx(ref.loglik, rel=1e-10)
    with pytest.raises(
        ValueError, match=f"Missing values in the columns the model uses: '{column}'"
    ):
        hp.fit_lmm("y ~ x + (1 | g)", holed, **kw)


@pytest.mark.parametrize(
    ("kw", "named"),
    [
        ({"group": "nope"}, "group='nope'"),
        ({"group": "g", "residuals": hp.AR1(time="nope")}, "AR1(time='nope')"),
        ({"variance": hp.VarPower(of="nope")}, "VarPower(of='nope')"),
    ],
)
def test_gls_absent_column_names_the_argument(kw, named):
    """A column named by group= or a structure is not 'used in the formula': the
    message names the argument that asked for it."""
    with pytest.raises(KeyError, match=re.escape(named) + ": the data have no column 'nope'"):
        hp.fit_gls("y ~ x", D, **kw)
