"""helpers.fit_lmm against R's lme4 on the project's own data files.

Expected values: tests/reference/lme4_reference.json, written by the committed
script tests/reference/make_reference.R (lme4 with tightened convergence settings;
see the script's header). Tolerances are those the book promises: deviance within
1e-4 (absolute), fixed effects within 1e-5 (relative), their standard errors and
the variance components within 1e-4 (relative), conditional modes within 1e-4 of
the largest in absolute value.
"""

from __future__ import annotations

import json
import re
import warnings
from pathlib import Path

import numpy as np
import pytest

import helpers as hp

REF = json.loads((Path(__file__).parent / "reference" / "lme4_reference.json").read_text())
MODELS = REF["models"]


def normalise_term(name: str) -> str:
    """R and formulaic names of the same coefficient -> one spelling.

    R: '(Intercept)', 'sectorCatholic', 'cses:sectorCatholic';
    formulaic: 'Intercept', 'sector[T.Catholic]', 'sector[T.Catholic]:cses'.
    Interaction parts are sorted, since the two order them differently.
    """
    parts = []
    for part in name.split(":"):
        part = part.replace("(Intercept)", "Intercept")
        part = re.sub(r"^(sector)(Catholic)$", r"\1[T.\2]", part)
        parts.append(part)
    return ":".join(sorted(parts))


def as_list(value) -> list:
    """jsonlite writes a length-one vector as a scalar."""
    return value if isinstance(value, list) else [value]


_cache: dict = {}


def fitted(key: str):
    if key not in _cache:
        spec = MODELS[key]
        data = hp.load_dataset(spec["data"])
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            fit = hp.fit_lmm(spec["formula"], data, reml=spec["reml"])
        _cache[key] = (fit, caught)
    return _cache[key][0]


KEYS = sorted(MODELS)


@pytest.mark.parametrize("key", KEYS)
def test_deviance_and_likelihood(key):
    ref, fit = MODELS[key], fitted(key)
    assert fit.n_obs == ref["n_obs"] and fit.n_groups == ref["n_groups"]
    assert fit.deviance == pytest.approx(ref["deviance"], abs=1e-4)
    assert fit.loglik == pytest.approx(ref["loglik"], abs=1e-4)
    assert fit.aic == pytest.approx(ref["aic"], abs=1e-4)
    assert fit.bic == pytest.approx(ref["bic"], abs=1e-4)
    # helpers reaches an optimum at least as good as lme4's default settings.
    assert fit.deviance <= ref["deviance_default"] + 1e-6


@pytest.mark.parametrize("key", KEYS)
def test_fixed_effects_and_standard_errors(key):
    ref, fit = MODELS[key], fitted(key)
    ours = {normalise_term(t): row for t, row in fit.fixed.iterrows()}
    theirs = [normalise_term(t) for t in as_list(ref["fixed"]["term"])]
    assert sorted(ours) == sorted(theirs)
    estimates, ses = as_list(ref["fixed"]["estimate"]), as_list(ref["fixed"]["std_error"])
    for term, est, se in zip(theirs, estimates, ses, strict=True):
        assert ours[term]["estimate"] == pytest.approx(est, rel=1e-5, abs=1e-9), term
        assert ours[term]["std_error"] == pytest.approx(se, rel=1e-4), term


@pytest.mark.parametrize("key", KEYS)
def test_variance_components(key):
    ref, fit = MODELS[key], fitted(key)
    assert fit.sigma2 == pytest.approx(ref["sigma2"], rel=1e-4)
    terms = [normalise_term(t) for t in as_list(ref["tau"]["terms"])]
    assert [normalise_term(t) for t in fit.tau.index] == terms
    expected = np.array(ref["tau"]["matrix"], dtype=float)
    scale = np.sqrt(np.outer(np.diag(expected), np.diag(expected)))
    # Relative 1e-4 for every element, measured against the variances involved
    # (a covariance near zero is judged against the product of the SDs).
    np.testing.assert_array_less(np.abs(fit.tau.to_numpy() - expected), 1e-4 * scale + 1e-12)
    assert fit.singular == ref["singular"]


@pytest.mark.parametrize("key", KEYS)
def test_conditional_modes_and_their_sds(key):
    ref, fit = MODELS[key], fitted(key)
    re_ref = np.array(ref["ranef"]["values"], dtype=float)
    sd_ref = np.array(ref["ranef"]["cond_sd"], dtype=float)
    ours = fit.ranef()
    assert [str(g) for g in ours.index] == ref["ranef"]["group"]
    assert [normalise_term(t) for t in ours.columns] == [
        normalise_term(t) for t in as_list(ref["ranef"]["terms"])
    ]
    tol = np.broadcast_to(1e-4 * np.abs(re_ref).max(axis=0), re_ref.shape)
    np.testing.assert_array_less(np.abs(ours.to_numpy() - re_ref), tol + 1e-12)
    np.testing.assert_allclose(fit.ranef_sd().to_numpy(), sd_ref, rtol=1e-4)


def test_singular_reference_fit_is_flagged_with_a_warning():
    """lme4 reports the REML fit of the 'complete' popularity model as singular."""
    assert MODELS["pop_complete_reml"]["singular"] is True
    fitted("pop_complete_reml")
    fit, caught = _cache["pop_complete_reml"]
    assert fit.singular and fit.boundary_reason
    assert any(issubclass(w.category, hp.SingularFitWarning) for w in caught)
