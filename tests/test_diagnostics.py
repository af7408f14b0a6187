"""hp.influence: leave-one-group-out estimates from downdated sufficient statistics, checked
against refitting the model on the data without the group (hp.fit_lmm from scratch) and, for
fixed variance components, against the closed-form GLS estimate without the group."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

import helpers as hp


@pytest.fixture(scope="module")
def hsb30():
    d = hp.load_dataset("hsb")
    keep = d["school"].cat.categories[:30]
    d = d[d["school"].isin(keep)].copy()
    d["school"] = d["school"].cat.remove_unused_categories()
    return d


def _refit(formula, data, group, reml):
    rest = data[data["school"] != group].copy()
    rest["school"] = rest["school"].cat.remove_unused_categories()
    return hp.fit_lmm(formula, rest, reml=reml)


@pytest.mark.parametrize(
    ("formula", "reml"),
    [
        ("mAch ~ cses + meanses + sector + (1 | school)", True),
        ("mAch ~ cses + meanses + (1 + cses | school)", False),
    ],
)
def test_influence_equals_refitting_without_the_group(hsb30, formula, reml):
    m = hp.fit_lmm(formula, hsb30, reml=reml)
    before = hsb30.copy(deep=True)
    infl = hp.influence(m)
    pd.testing.assert_frame_equal(hsb30, before)
    assert list(infl.index) == list(m.groups)
    assert infl["converged"].all()
    assert (infl["n"].to_numpy() == m.group_sizes().to_numpy()).all()
    vinv = np.linalg.inv(m.vcov.to_numpy())
    # The most and least influential groups, and one more, each refitted from scratch.
    order = infl["cooks_distance"].sort_values().index
    for g in [order[-1], order[0], order[len(order) // 2]]:
        r = _refit(formula, hsb30, g, reml)
        change = r.fixed["estimate"] - m.fixed["estimate"]
        got = infl.loc[g, [f"dfbeta_{t}" for t in m.fixed.index]].to_numpy(dtype=float)
        np.testing.assert_allclose(got, change.to_numpy(), rtol=0, atol=1e-6)
        cook = change.to_numpy() @ vinv @ change.to_numpy() / len(change)
        assert infl.loc[g, "cooks_distance"] == pytest.approx(cook, rel=1e-4, abs=1e-9)
        assert infl.loc[g, "sigma2_e"] == pytest.approx(r.sigma2, rel=1e-6)
        for t in m.tau.index:
            assert infl.loc[g, f"tau_{t}"] == pytest.approx(r.tau.loc[t, t], rel=1e-4, abs=1e-7)


def test_fixed_variance_components_give_the_gls_estimate_without_the_group(hsb30):
    m = hp.fit_lmm("mAch ~ cses + meanses + (1 + cses | school)", hsb30)
    infl = hp.influence(m, refit=False)
    tau, s2 = m.tau.to_numpy(), m.sigma2
    X, y, Z, codes = m.X, m.y, m.Z, m.group_codes
    # Per-group GLS pieces with V_j = Z_j tau Z_j' + sigma^2 I, written out directly.
    A, c = [], []
    for j in range(m.n_groups):
        rows = codes == j
        Vinv = np.linalg.inv(Z[rows] @ tau @ Z[rows].T + s2 * np.eye(rows.sum()))
        A.append(X[rows].T @ Vinv @ X[rows])
        c.append(X[rows].T @ Vinv @ y[rows])
    A, c = np.array(A), np.array(c)
    beta = np.linalg.solve(A.sum(0), c.sum(0))
    np.testing.assert_allclose(beta, m.fixed["estimate"], atol=1e-8)
    for j in [0, 7, 29]:
        b_j = np.linalg.solve(A.sum(0) - A[j], c.sum(0) - c[j])
        got = infl.iloc[j][[f"dfbeta_{t}" for t in m.fixed.index]].to_numpy(dtype=float)
        np.testing.assert_allclose(got, b_j - beta, rtol=0, atol=1e-8)
    # theta held: every variance stays in the full fit's proportion to sigma^2.
    np.testing.assert_allclose(infl["tau_cses"] / infl["sigma2_e"], tau[1, 1] / s2, rtol=1e-10)


def test_influence_validates_its_input(hsb30):
    m = hp.fit_lmm("mAch ~ cses + (1 | school)", hsb30)
    with pytest.raises(TypeError, match="hp.fit_lmm"):
        hp.influence(hp.fit_ols("mAch ~ cses", hsb30))
    with pytest.raises(TypeError, match="refit must be True or False"):
        hp.influence(m, refit="yes")
    with pytest.raises(TypeError, match="positional"):
        hp.influence(m, False)  # options are keyword-only
    two = hsb30[hsb30["school"].isin(hsb30["school"].cat.categories[:2])].copy()
    two["school"] = two["school"].cat.remove_unused_categories()
    with pytest.raises(ValueError, match="2 groups"):
        hp.influence(hp.fit_lmm("mAch ~ cses + (1 | school)", two))


def test_a_group_that_carries_a_column_alone_gets_nan_and_a_warning(hsb30):
    d = hsb30.copy()
    first = d["school"].cat.categories[0]
    d["only_first"] = (d["school"] == first).astype(float)
    m = hp.fit_lmm("mAch ~ cses + only_first + (1 | school)", d)
    with pytest.warns(UserWarning, match=rf"group\(s\) {first} "):
        infl = hp.influence(m)
    assert infl.loc[first, ["cooks_distance", "sigma2_e"]].isna().all()
    assert infl.drop(index=first)["cooks_distance"].notna().all()
