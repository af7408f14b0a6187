"""helpers.fit_lmm with several grouping factors against R's lme4.

Expected values: tests/reference/crossed_reference.json, written by the committed
script tests/reference/make_crossed_reference.R (lme4 with tightened convergence
settings) from the data it writes to tests/reference/crossed/ (lme4's Pastes and
Penicillin, and nested, crossed, partially crossed and singular data simulated
there). Tolerances are those of the one-factor reference tests
(tests/test_lmm_reference.py): the criterion within 1e-4 (absolute; in fact it
agrees to 1e-6, asserted too), fixed effects within 1e-5 and their standard errors
within 1e-4 (relative), variance components within 1e-4 (relative to the variances
involved), conditional modes within 1e-4 of the largest in absolute value.
"""

from __future__ import annotations

import json
import re
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import helpers as hp

HERE = Path(__file__).parent / "reference"
REF = json.loads((HERE / "crossed_reference.json").read_text())
MODELS = REF["models"]
KEYS = sorted(MODELS)

_cache: dict = {}


def _name(term: str) -> str:
    return term.replace("(Intercept)", "Intercept")


def _grp(name: str) -> str:
    """lme4's name of a factor in as.data.frame(VarCorr()) -> helpers' name.

    With (1 + x || g) lme4 makes the names unique: "g", "g.1", and writes another
    factor "a:b" as "a.b"; helpers names each factor once, as in the formula."""
    return re.sub(r"\.\d+$", "", name).replace(".", ":")


def fitted(key: str):
    if key not in _cache:
        spec = MODELS[key]
        data = pd.read_csv(HERE / "crossed" / f"{spec['data']}.csv")
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", hp.SingularFitWarning)
            _cache[key] = hp.fit_lmm(spec["formula"], data, reml=spec["reml"])
    return _cache[key]


@pytest.mark.parametrize("key", KEYS)
def test_criterion_and_likelihood(key):
    ref, fit = MODELS[key], fitted(key)
    assert fit.n_obs == ref["n_obs"]
    assert fit.n_levels == ref["n_levels"]
    assert fit.converged
    assert fit.deviance == pytest.approx(ref["deviance"], abs=1e-6)
    assert fit.loglik == pytest.approx(ref["loglik"], abs=1e-4)
    assert fit.aic == pytest.approx(ref["aic"], abs=1e-4)
    assert fit.bic == pytest.approx(ref["bic"], abs=1e-4)
    # At least as good an optimum as lme4's default settings reach.
    assert fit.deviance <= ref["deviance_default"] + 1e-6


@pytest.mark.parametrize("key", KEYS)
def test_fixed_effects_and_standard_errors(key):
    ref, fit = MODELS[key], fitted(key)
    terms = ref["fixed"]["term"]
    terms = terms if isinstance(terms, list) else [terms]
    est = np.atleast_1d(ref["fixed"]["estimate"])
    se = np.atleast_1d(ref["fixed"]["std_error"])
    table = fit.wald(ddf="z")  # estimates and SEs (the df: tests/test_crossed_ddf.py)
    assert list(table.index) == [_name(t) for t in terms]
    np.testing.assert_allclose(table["estimate"], est, rtol=1e-5, atol=1e-9)
    np.testing.assert_allclose(table["std_error"], se, rtol=1e-4)


@pytest.mark.parametrize("key", KEYS)
def test_varcorr_in_lme4s_layout(key):
    ref, fit = MODELS[key], fitted(key)
    vc = ref["varcorr"]
    theirs = {
        (_grp(g), _name(a), _name(b)): (v, s)
        for g, a, b, v, s in zip(
            vc["grp"], vc["var1"], vc["var2"], vc["vcov"], vc["sdcor"], strict=True
        )
    }
    ours = fit.varcorr
    assert list(ours.columns) == ["grp", "var1", "var2", "vcov", "sdcor"]
    mine = {
        (g, a or "", b or ""): (v, s) for g, a, b, v, s in ours.itertuples(index=False, name=None)
    }
    assert sorted(mine) == sorted(theirs)
    variances = {k[:2]: v for k, (v, _) in theirs.items() if not k[2]}
    for k, (v, s) in theirs.items():
        if k[2]:  # a covariance: judged against the product of the two SDs
            scale = np.sqrt(variances[(k[0], k[1])] * variances[(k[0], k[2])])
            assert abs(mine[k][0] - v) <= 1e-4 * scale + 1e-12, k
            assert abs(mine[k][1] - s) <= 1e-4, k
        else:
            assert mine[k][0] == pytest.approx(v, rel=1e-4, abs=1e-10), k
    assert fit.singular == ref["singular"]
    # lme4's order of the factors: most levels first, then the residual.
    assert list(dict.fromkeys(ours.grp)) == list(dict.fromkeys(_grp(g) for g in vc["grp"]))


@pytest.mark.parametrize("key", KEYS)
def test_conditional_modes_per_factor(key):
    ref, fit = MODELS[key], fitted(key)
    ours = fit.ranef()
    assert sorted(ours) == sorted(r["grp"] for r in ref["ranef"])
    for r in ref["ranef"]:
        table = ours[r["grp"]]
        expected = np.array(r["values"], dtype=float).reshape(len(r["levels"]), -1)
        got = table.set_axis([str(x) for x in table.index]).loc[r["levels"]]
        terms = r["terms"] if isinstance(r["terms"], list) else [r["terms"]]
        assert sorted(got.columns) == sorted(_name(t) for t in terms)
        got = got[[_name(t) for t in terms]]
        tol = 1e-4 * np.abs(expected).max(axis=0)
        assert np.all(np.abs(got.to_numpy() - expected) <= tol + 1e-12), r["grp"]


def test_singular_fit_names_the_factor():
    fit = fitted("singular_reml")
    assert fit.singular and "session" in fit.boundary_reason
    with pytest.warns(hp.SingularFitWarning, match="session"):
        hp.fit_lmm(
            MODELS["singular_reml"]["formula"],
            pd.read_csv(HERE / "crossed" / "singular.csv"),
        )
