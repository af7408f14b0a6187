"""hp.simulate_lmm, hp.power_simulation and hp.power_summary.

The reference values are the simulation's own truth (the parameters it draws from)
and the nominal size of a Wald test: a null effect is rejected in a share alpha of
the replicates, up to Monte Carlo error sqrt(alpha (1 - alpha) / R).
"""

import numpy as np
import pandas as pd
import pytest

import helpers as hp

SPEC = dict(
    gamma={"Intercept": 1.0, "x": 0.5, "z": 0.0},
    tau=0.3,
    sigma2=1.0,
    n_groups=40,
    group_size=8,
    level1={"x": "normal"},
    level2={"z": "balanced"},
)
FORMULA = "y ~ x + z + (1 | g)"


@pytest.fixture(scope="module")
def results():
    return hp.power_simulation(FORMULA, n_replicates=300, seed=11, **SPEC)


def test_simulate_from_spec_shapes_and_truth():
    d = hp.simulate_lmm(FORMULA, seed=1, **{**SPEC, "n_groups": 400, "group_size": 20})
    assert list(d.columns) == ["g", "z", "x", "y"]
    assert len(d) == 400 * 20 and d["g"].nunique() == 400
    assert (d.groupby("g")["z"].nunique() == 1).all()  # a level-2 predictor
    assert d.groupby("g")["z"].first().sum() == 200  # balanced: half the groups
    m = hp.fit_lmm(FORMULA, d)
    # 8000 rows, 400 groups: estimates within about 4 standard errors of the truth
    for term, value in SPEC["gamma"].items():
        assert abs(m.fixed.loc[term, "estimate"] - value) < 4 * m.fixed.loc[term, "std_error"]
    assert m.sigma2 == pytest.approx(1.0, abs=0.07)
    assert m.tau.iloc[0, 0] == pytest.approx(0.3, abs=0.1)


def test_unequal_group_sizes_and_callable_generator():
    sizes = [3, 5, 7, 9]
    d = hp.simulate_lmm(
        "y ~ x + (1 + x | g)",
        gamma={"Intercept": 0, "x": 1},
        tau=[[0.5, 0.1], [0.1, 0.2]],
        sigma2=1,
        n_groups=4,
        group_size=sizes,
        level1={"x": lambda rng, n: rng.uniform(0, 1, n)},
        seed=2,
    )
    assert d.groupby("g").size().tolist() == sizes
    assert d["x"].between(0, 1).all()


def test_recovers_parameters_within_monte_carlo_error(results):
    s = hp.power_summary(results)
    assert s["n_replicates"].eq(300).all()
    for term in ["Intercept", "x", "z", "sigma2_e"]:
        assert abs(s.loc[term, "bias"]) < 4 * s.loc[term, "bias_mcse"], term
    # REML variance of the intercepts: unbiased up to the truncation at 0 (few singular fits)
    assert abs(s.loc["sigma2_u0", "bias"]) < 4 * s.loc["sigma2_u0", "bias_mcse"] + 0.01
    # model-based standard errors match the spread of the estimates (within 15%)
    for term in ["Intercept", "x", "z"]:
        ratio = s.loc[term, "mean_std_error"] / s.loc[term, "empirical_se"]
        assert 0.85 < ratio < 1.15, term


def test_power_of_a_null_effect_is_the_size(results):
    s = hp.power_summary(results)
    alpha = results.attrs["alpha"]
    mcse = np.sqrt(alpha * (1 - alpha) / 300)
    assert abs(s.loc["z", "power"] - alpha) < 3.5 * mcse
    assert s.loc["z", "power_mcse"] == pytest.approx(
        np.sqrt(s.loc["z", "power"] * (1 - s.loc["z", "power"]) / 300)
    )
    assert s.loc["x", "power"] == 1.0  # 320 rows, slope 0.5 with SE about 0.06
    assert abs(s.loc["x", "coverage"] - 0.95) < 3.5 * np.sqrt(0.95 * 0.05 / 300)


def test_tidy_table(results):
    assert list(results.columns) == hp.simulate.RESULT_COLUMNS
    assert len(results) == 300 * 5  # 3 fixed effects, 2 variances
    assert results.groupby("replicate").size().eq(5).all()
    fixed = results[results["term"].isin(["Intercept", "x", "z"])]
    assert (fixed["reject"] == (fixed["p_value"] < 0.05)).all()
    assert (fixed["ci_lower"] < fixed["estimate"]).all()
    var = results[results["term"] == "sigma2_u0"]
    assert var["p_value"].isna().all() and var["ci_lower"].isna().all()  # variance_ci=False
    assert results.attrs["n_fits"] == 300 and results.attrs["seconds"] > 0


def test_new_design_draws_new_predictors():
    r = hp.power_simulation(FORMULA, n_replicates=3, seed=3, new_design=True, **SPEC)
    s = hp.power_summary(r)
    assert s.loc["x", "n_replicates"] == 3 and r.attrs["n_fits"] == 3
    with pytest.raises(ValueError, match="new_design=True needs a formula"):
        m = hp.fit_lmm(FORMULA, hp.simulate_lmm(FORMULA, seed=1, **SPEC))
        hp.power_simulation(m, new_design=True)


def test_seed_reproduces_exactly():
    a = hp.power_simulation(FORMULA, n_replicates=5, seed=3, **SPEC)
    b = hp.power_simulation(FORMULA, n_replicates=5, seed=3, **SPEC)
    c = hp.power_simulation(FORMULA, n_replicates=5, seed=4, **SPEC)
    pd.testing.assert_frame_equal(a, b)
    assert not a["estimate"].equals(c["estimate"])
    d1 = hp.simulate_lmm(FORMULA, seed=np.random.default_rng(9), **SPEC)
    d2 = hp.simulate_lmm(FORMULA, seed=9, **SPEC)
    pd.testing.assert_frame_equal(d1, d2)


def test_variance_rows_match_random_part():
    spec = {**SPEC, "level1": {"x": "normal"}}
    d = hp.simulate_lmm(
        "y ~ x + z + (1 + x | g)", seed=4, **{**spec, "tau": [[0.3, 0.05], [0.05, 0.1]]}
    )
    m = hp.fit_lmm("y ~ x + z + (1 + x | g)", d)
    rows = hp.simulate._variance_components(m)
    rp = m.random_part()["estimate"]
    assert [r[0] for r in rows] == list(rp.index)
    np.testing.assert_allclose([r[2] for r in rows], rp.to_numpy())


def test_variance_intervals():
    r = hp.power_simulation(FORMULA, n_replicates=20, seed=5, variance_ci=True, **SPEC)
    v = r[r["term"] == "sigma2_e"]
    assert v["std_error"].notna().all()
    # Wald interval on the variance scale: symmetric about the estimate
    np.testing.assert_allclose(v["estimate"] - v["ci_lower"], v["ci_upper"] - v["estimate"])


def test_from_a_fit_keeps_design_and_data_untouched():
    d = hp.simulate_lmm(FORMULA, seed=6, **SPEC)
    before = d.copy()
    m = hp.fit_lmm(FORMULA, d)
    new = hp.simulate_lmm(m, data=d, seed=7)
    pd.testing.assert_frame_equal(d, before)  # input not mutated
    pd.testing.assert_frame_equal(new.drop(columns="y"), d.drop(columns="y"))
    assert not np.allclose(new["y"], d["y"])
    r = hp.power_simulation(m, n_replicates=10, seed=8)
    assert set(r["term"]) == {"Intercept", "x", "z", "sigma2_e", "sigma2_u0"}
    truth = r.drop_duplicates("term").set_index("term")["true_value"]
    assert truth["x"] == m.fixed.loc["x", "estimate"]
    assert truth["sigma2_e"] == m.sigma2


@pytest.mark.parametrize(
    ("change", "error", "words"),
    [
        ({"gamma": {"Intercept": 1.0, "x": 0.5}}, ValueError, "missing ['z']"),
        ({"gamma": {"Intercept": 1, "x": 1, "z": 1, "w": 1}}, ValueError, "unknown ['w']"),
        ({"gamma": [1, 2, 3]}, TypeError, "gamma must be a dict"),
        ({"gamma": {"Intercept": 1, "x": "a", "z": 0}}, TypeError, "gamma['x']"),
        ({"tau": -0.1}, ValueError, "negative eigenvalue"),
        ({"tau": [[1, 0], [0, 1]]}, ValueError, "tau must be 1 x 1"),
        ({"sigma2": 0}, ValueError, "sigma2 (the residual variance) must be positive"),
        ({"n_groups": 1}, ValueError, "n_groups must be at least 2"),
        ({"n_groups": 2.5}, TypeError, "n_groups"),
        ({"group_size": [5, 5]}, ValueError, "one size per group"),
        ({"group_size": "8"}, TypeError, "group_size"),
        ({"level1": {}}, ValueError, "No generator for the predictor(s) ['x']"),
        ({"level1": {"x": "uniform"}}, ValueError, "not a known generator"),
        ({"level1": {"x": 3}}, TypeError, "level1['x']"),
        ({"level1": {"x": lambda rng, n: np.zeros(3)}}, ValueError, "must return 320 values"),
        ({"level2": {"z": "normal", "w": "normal"}}, ValueError, "does not use"),
        ({"level1": {"x": "normal", "z": "normal"}}, ValueError, "both level1 and level2"),
    ],
)
def test_bad_specification(change, error, words):
    with pytest.raises(error) as info:
        hp.simulate_lmm(FORMULA, seed=1, **{**SPEC, **change})
    assert words in str(info.value)


@pytest.mark.parametrize(
    ("kwargs", "error", "words"),
    [
        ({"n_replicates": 0}, ValueError, "n_replicates must be at least 1"),
        ({"alpha": 1.5}, ValueError, "alpha must lie between 0 and 1"),
        ({"progress": "yes"}, TypeError, "progress"),
        ({"seed": -1}, ValueError, "seed"),
        ({"seed": "abc"}, TypeError, "seed"),
    ],
)
def test_bad_simulation_options(kwargs, error, words):
    with pytest.raises(error, match=None) as info:
        hp.power_simulation(FORMULA, **{**SPEC, **kwargs})
    assert words in str(info.value)


def test_bad_model_arguments():
    with pytest.raises(TypeError, match="formula string"):
        hp.simulate_lmm(42, seed=1)
    with pytest.raises(ValueError, match="several grouping factors.*one grouping"):
        hp.simulate_lmm("y ~ x + (1 | g) + (1 | h)", seed=1, **SPEC)
    d = hp.simulate_lmm(FORMULA, seed=6, **SPEC)
    m = hp.fit_lmm(FORMULA, d)
    with pytest.raises(ValueError, match="cannot be given with a fitted model"):
        hp.simulate_lmm(m, data=d, tau=0.2)
    with pytest.raises(TypeError, match="pass the data it was fitted to"):
        hp.simulate_lmm(m)
    with pytest.raises(ValueError, match="does not hold the rows"):
        hp.simulate_lmm(m, data=d.iloc[:10])
    with pytest.raises(ValueError, match="refits use the same method"):
        hp.power_simulation(m, reml=False)
    with pytest.raises(ValueError, match="data= is for simulating from a fitted model"):
        hp.simulate_lmm(FORMULA, data=d, **SPEC)
    with pytest.raises(TypeError, match="table of hp.power_simulation"):
        hp.power_summary([1, 2])
    with pytest.raises(ValueError, match="lacks the column"):
        hp.power_summary(pd.DataFrame({"term": ["x"]}))


def test_progress_line_outside_a_notebook(capsys):
    r = hp.power_simulation(FORMULA, n_replicates=3, seed=1, progress=True, **SPEC)
    err = capsys.readouterr().err
    assert "simulation 3/3" in err
    assert r["replicate"].nunique() == 3


def test_progress_line_when_ipykernel_is_imported_outside_a_kernel(capsys):
    """Importing ipykernel (as test runners and tools do) does not make a notebook."""
    import ipykernel  # noqa: F401

    hp.power_simulation(FORMULA, n_replicates=2, seed=1, progress=True, **SPEC)
    assert "simulation 2/2" in capsys.readouterr().err
