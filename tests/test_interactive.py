"""helpers.interactive: valid Vega-Lite, closed forms in the spec that agree with helpers.

The spec's expressions are evaluated by a small evaluator of Vega expressions
(tests/vega_expr.py) at a grid of slider values and compared with the closed forms
computed independently in Python (helpers and scipy). The browser test
(test_site_charts.py) checks the same numbers as Vega itself computes them.
"""

from __future__ import annotations

import importlib.resources
import itertools
import json
import math

import jsonschema
import numpy as np
import pandas as pd
import pytest
import vega_expr as vx
from scipy import stats

import helpers as hp
from helpers import interactive as hi

SCHEMA = json.loads(
    (importlib.resources.files("altair") / "vegalite/v6/schema/vega-lite-schema.json").read_text()
)


@pytest.fixture(scope="module")
def pupils():
    return hp.load_dataset("popularity")


@pytest.fixture(scope="module")
def empty_fit(pupils):
    return hp.fit_lmm("popular ~ 1 + (1 | class)", pupils)


@pytest.fixture(scope="module")
def charts(empty_fit):
    return {
        "design effect": hi.design_effect_chart(rho=0.37, group_size=20, n_total=2000),
        "funnel": hi.no_pooling_funnel_chart(grand_mean=5.0, tau00=0.7, sigma2=1.3),
        "random intercepts": hi.random_intercepts_chart(
            gamma00=2.5, gamma10=0.5, tau00=0.7, sigma2=0.95
        ),
        "random slopes": hi.random_slopes_chart(
            gamma00=2.4,
            gamma10=0.5,
            tau00=3.19,
            tau11=0.04,
            tau01=-0.33,
            sigma2=0.9,
            x_range=(1, 10),
        ),
        "shrinkage": hi.shrinkage_chart(n=20, tau00=0.45, sigma2=0.55, distance=1.5),
        "pooling": hi.pooling_chart(empty_fit),
        "power budget": hi.power_budget_chart(rho=0.1, effect=0.3, budget=5000, cost_ratio=10),
        "three levels": hi.three_level_chart(sigma2_v0=0.2, sigma2_u0=0.3, sigma2_e=0.55),
        "within between": hi.within_between_chart(
            gamma_w=2.191, gamma_b=5.866, icc_x=0.26, icc_y=0.11, group_size=45
        ),
        "occasion correlation": hi.occasion_correlation_chart(
            tau00=414.4, tau11=29.85, corr01=0.97, sigma2=955.3, phi=0.45
        ),
    }


def test_every_spec_is_valid_vega_lite(charts):
    # The validator of the schema's own draft, without re-checking the schema itself
    # against its meta-schema (where format checkers are installed, as JupyterLab's
    # dependencies bring, that check trips over Vega-Lite's definition names).
    validator = jsonschema.validators.validator_for(SCHEMA)(SCHEMA)
    for name, chart in charts.items():
        spec = chart.to_dict()
        validator.validate(spec)  # raises with the offending path
        assert not validator.is_valid({**spec, "width": "wide"}), "the validator accepts anything"
        assert spec["$schema"].endswith("/v6.4.1.json") or "v6" in spec["$schema"], name
        assert vx.sliders(spec), f"{name}: no control"
        assert len(spec["description"]) > 80, f"{name}: the text alternative is missing"


def test_every_slider_starts_on_its_grid_and_is_labelled(charts):
    # A range input snaps to min + k * step: a start value off that grid would be shown
    # as one number and used as another (issue 11: 0.45 and 0.55 shown as 0.501).
    for name, chart in charts.items():
        for p in vx.sliders(chart.to_dict()):
            b = p["bind"]
            k = (p["value"] - b["min"]) / b["step"]
            assert b["min"] <= p["value"] <= b["max"], (name, p["name"])
            assert k == pytest.approx(round(k), abs=1e-9), (name, p["name"], p["value"])
            assert b["name"].strip(), (name, p["name"])


def test_slider_refuses_a_start_value_off_the_grid():
    with pytest.raises(ValueError, match="not on the slider's grid"):
        hi.slider("x", "x", value=0.45, low=0.01, high=2.0, step=0.1)
    with pytest.raises(ValueError, match="low <= value <= high"):
        hi.slider("x", "x", value=3.0, low=0.0, high=2.0, step=0.1)
    assert hi.on_grid(0.7439, 0.05) == 0.75
    assert hi.on_grid(0.456, 0.01, low=0.01) == 0.46


def test_design_effect_closed_forms(charts):
    spec = charts["design effect"].to_dict()
    ((curve_expr, rows),) = [c for c in vx.calculations(spec, "coverage") if "datum.r" in c[0]]
    for rho, m in itertools.product([0.0, 0.05, 0.1, 0.25, 0.5], [2, 5, 20, 100]):
        env = vx.params(spec, rho=rho, m=m)
        deff = hp.design_effect(rho, m)
        assert env["deff"] == pytest.approx(deff, rel=1e-12)
        assert env["neff"] == pytest.approx(2000 / deff, rel=1e-12)
        # independent: P(|Z| < 1.96 / sqrt(deff)) from scipy's normal distribution
        z = stats.norm.ppf(0.975) / math.sqrt(deff)
        assert env["cover"] == pytest.approx(stats.norm.cdf(z) - stats.norm.cdf(-z), abs=1e-12)
        assert env["cover"] == pytest.approx(hi.naive_coverage(deff), abs=1e-12)
        for row in rows[::10]:
            expected = hi.naive_coverage(hp.design_effect(row["r"], m))
            assert vx.evaluate(curve_expr, env, row) == pytest.approx(expected, abs=1e-12)
    assert hi.naive_coverage(1.0) == pytest.approx(0.95, abs=1e-12)  # no clustering


def test_power_budget_closed_forms(charts):
    spec = charts["power budget"].to_dict()
    ((power_expr, rows),) = [c for c in vx.calculations(spec, "power") if "datum.n" in c[0]]
    ((j_expr, _),) = vx.calculations(spec, "J")
    z = stats.norm.ppf(0.975)
    for rho, delta, budget, ratio in itertools.product(
        [0.01, 0.1, 0.3], [0.1, 0.3, 1.0], [1000, 5000, 20000], [1, 10, 50]
    ):
        env = vx.params(spec, rho=rho, delta=delta, budget=budget, ratio=ratio)
        # Snijders & Bosker (2012, ch. 11): n* = sqrt((c2/c1)(1 - rho)/rho), rounded
        n_star = max(1, math.floor(math.sqrt(ratio * (1 - rho) / rho) + 0.5))
        assert env["nstar"] == n_star
        assert env["nstar"] == max(1, round(hi.optimal_group_size(rho, ratio)))
        assert env["jstar"] == budget // (ratio + n_star)
        if env["jstar"] >= 2:
            assert env["pstar"] == pytest.approx(
                hi.cluster_trial_power(env["jstar"], n_star, icc=rho, effect=delta), abs=1e-12
            )
        for row in rows[::9]:
            n = row["n"]
            J = budget // (ratio + n)
            assert vx.evaluate(j_expr, env, row) == J
            if J < 2:
                continue
            # independent: the variance of a difference of two arms of J/2 group means
            se = math.sqrt(2 * (rho + (1 - rho) / n) / (J / 2))
            want = stats.norm.sf(z - delta / se) + stats.norm.cdf(-z - delta / se)
            got = vx.evaluate(power_expr, env, row)
            assert got == pytest.approx(want, abs=1e-12)
            assert got == pytest.approx(
                hi.cluster_trial_power(J, n, icc=rho, effect=delta), abs=1e-12
            )
    # no effect: the power is the size of the test
    assert hi.cluster_trial_power(30, 10, icc=0.2, effect=0.0) == pytest.approx(0.05)
    # the optimum beats its neighbours on the budget (continuous J)
    for rho, ratio in [(0.05, 20), (0.2, 5)]:
        n_opt = hi.optimal_group_size(rho, ratio)

        def var(n, rho=rho, ratio=ratio):
            return (rho + (1 - rho) / n) * (ratio + n)

        assert var(n_opt) < min(var(0.8 * n_opt), var(1.25 * n_opt))


def test_funnel_closed_forms(charts):
    spec = charts["funnel"].to_dict()
    (est_expr, rows), *_ = vx.calculations(spec, "estimate")
    ((up_expr, sizes),) = vx.calculations(spec, "upper")
    assert len(rows) == 100
    for n in [2, 5, 10, 50, 100]:
        env = vx.params(spec, n=n)
        assert env["se"] == pytest.approx(math.sqrt(1.3 / n), rel=1e-12)
        est = np.array([vx.evaluate(est_expr, env, r) for r in rows])
        truth = np.array([r["truth"] for r in rows])
        e = np.array([r["e"] for r in rows])
        np.testing.assert_allclose(est - truth, math.sqrt(1.3 / n) * e, atol=1e-12)
    # The funnel is the 95% range of a class mean's sampling error.
    for row in sizes[::7]:
        half = stats.norm.ppf(0.975) * math.sqrt(1.3 / row["size"])
        assert vx.evaluate(up_expr, {}, row) == pytest.approx(half, rel=1e-12)
    # The precomputed true means and noise are standard normal draws, as documented.
    assert abs(np.mean(e)) < 0.35 and 0.7 < np.std(e) < 1.3


def test_random_intercepts_closed_forms(charts, empty_fit):
    spec = charts["random intercepts"].to_dict()
    for t, s in itertools.product([0.0, 0.3, 0.75, 2.0], [0.05, 0.5, 1.3, 3.0]):
        env = vx.params(spec, tau00=t, sigma2=s)
        assert env["icc"] == pytest.approx(hi.variance_shares(t, s)["icc"], rel=1e-12)
    # At a fitted model's variances the chart's ICC is helpers' icc() of that fit.
    env = vx.params(spec, tau00=float(empty_fit.tau.iloc[0, 0]), sigma2=float(empty_fit.sigma2))
    assert env["icc"] == pytest.approx(hp.icc(empty_fit), rel=1e-12)
    ((share_expr, rows),) = vx.calculations(spec, "share")
    shares = [vx.evaluate(share_expr, env, r) for r in rows]
    assert sum(shares) == pytest.approx(1.0)


def test_three_level_closed_forms(charts):
    """The chart's shares and ICCs are Hox's (2010, sec. 2.4) and Siddiqui et al.'s (1996)
    formulas, checked against the correlations of the covariance matrix that the
    three-level model implies for pupils in one class, one school and two schools."""
    spec = charts["three levels"].to_dict()
    ((share_expr, rows),) = vx.calculations(spec, "share")
    ((cor_expr, pairs),) = vx.calculations(spec, "correlation")
    for v, u, e in itertools.product([0.0, 0.2, 1.35], [0.0, 0.3, 2.0], [0.05, 0.55, 3.0]):
        env = vx.params(spec, s2v=v, s2u=u, s2e=e)
        got = hi.three_level_iccs(v, u, e)
        # independent: the implied covariance of three pupils (two in one class, a third in
        # another class of the same school) and one pupil of another school
        school = np.array([0, 0, 0, 1])
        klass = np.array([0, 0, 1, 2])
        cov = (
            v * (school[:, None] == school[None, :])
            + u * (klass[:, None] == klass[None, :])
            + e * np.eye(4)
        )
        cor = cov / np.sqrt(np.outer(np.diag(cov), np.diag(cov)))
        assert env["rho_class"] == pytest.approx(cor[0, 1], rel=1e-12, abs=1e-15)
        assert env["rho_school"] == pytest.approx(cor[0, 2], rel=1e-12, abs=1e-15)
        assert got["rho_class"] == pytest.approx(cor[0, 1], rel=1e-12, abs=1e-15)
        assert got["rho_school"] == pytest.approx(cor[0, 2], rel=1e-12, abs=1e-15)
        bars = [vx.evaluate(cor_expr, env, r) for r in pairs]
        assert bars == pytest.approx([cor[0, 1], cor[0, 2], cor[0, 3]], abs=1e-12)
        shares = [vx.evaluate(share_expr, env, r) for r in rows]
        assert shares == pytest.approx([got["school"], got["class"], got["pupil"]], rel=1e-12)
        assert sum(shares) == pytest.approx(1.0)
    texts = [
        vx.evaluate(t, vx.params(spec, s2v=0.2, s2u=0.3, s2e=0.55)) for t in vx.mark_texts(spec)
    ]
    assert any(t.endswith(f"= {0.5 / 1.05:.3f}") for t in texts), texts
    assert any(t.endswith(f"= {0.2 / 1.05:.3f}") for t in texts), texts


def test_random_slopes_closed_forms(charts):
    spec = charts["random slopes"].to_dict()
    ((var_expr, xs),) = vx.calculations(spec, "v")
    tau00, sigma2 = 3.19, 0.9
    for t11, t01 in itertools.product([0.0, 0.01, 0.04, 0.2], [-0.5, -0.33, 0.0, 0.1, 0.5]):
        env = vx.params(spec, tau11=t11, tau01=t01)
        c = env["c"]
        bound = math.sqrt(tau00 * t11)
        assert abs(c) <= bound + 1e-12
        assert c == pytest.approx(t01 if abs(t01) <= bound else math.copysign(bound, t01))
        tau = np.array([[tau00, c], [c, t11]])
        # The class effects u0 = s0 z1, u1 = load z1 + rest z2 have covariance tau.
        chol = np.array([[math.sqrt(tau00), 0.0], [env["load"], env["rest"]]])
        np.testing.assert_allclose(chol @ chol.T, tau, atol=1e-12)
        got = np.array([vx.evaluate(var_expr, env, r) for r in xs])
        want = hi.var_y_given_x(np.array([r["x"] for r in xs]), tau, sigma2)
        np.testing.assert_allclose(got, want, rtol=1e-12)


def test_shrinkage_closed_forms(charts):
    spec = charts["shrinkage"].to_dict()
    ((pos_expr, rows),) = vx.calculations(spec, "pos")
    for n, t, s, d in itertools.product(
        [1, 2, 20, 100], [0.01, 0.45, 2.0], [0.01, 0.55, 3.0], [-3.0, 1.5]
    ):
        env = vx.params(spec, n_j=n, tau00=t, sigma2=s, dist=d)
        point = hp.widgets.shrinkage_point(n=n, tau00=t, sigma2=s, distance=d)
        assert env["lam"] == pytest.approx(point["reliability"], rel=1e-12)
        positions = {r["what"]: vx.evaluate(pos_expr, env, r) for r in rows}
        assert positions["overall mean"] == 0
        assert positions["class's own mean"] == d
        assert positions["EB estimate"] == pytest.approx(point["eb"], rel=1e-12, abs=1e-15)


def test_shrinkage_text_shows_lambda_to_three_decimals(charts):
    spec = charts["shrinkage"].to_dict()
    env = vx.params(spec, n_j=7, tau00=0.3, sigma2=1.2)
    texts = [vx.evaluate(e, env) for e in vx.mark_texts(spec)]
    lam = 0.3 / (0.3 + 1.2 / 7)
    assert any(t.endswith(f"= {lam:.3f}") for t in texts), texts


def test_pooling_chart_reaches_the_fitted_predictions(charts, empty_fit, pupils):
    spec = charts["pooling"].to_dict()
    (expr, rows), *_ = vx.calculations(spec, "pooled")
    n = empty_fit.group_sizes().to_numpy(dtype=float)
    k = empty_fit.sigma2 / float(empty_fit.tau.iloc[0, 0])
    p_hat = k / (n.mean() + k)
    at = {p: np.array([vx.evaluate(expr, {"pool": p}, r) for r in rows]) for p in (0.0, p_hat, 1.0)}
    class_means = pupils.groupby("class", observed=True)["popular"].mean().to_numpy()
    g00 = empty_fit.fixed.loc["Intercept", "estimate"]
    np.testing.assert_allclose(at[0.0], class_means, rtol=1e-10)  # no pooling
    np.testing.assert_allclose(at[1.0], g00, rtol=1e-12)  # complete pooling
    np.testing.assert_allclose(at[p_hat], empty_fit.coef()["Intercept"].to_numpy(), rtol=1e-9)
    mid = np.array([vx.evaluate(expr, {"pool": 0.3}, r) for r in rows])
    np.testing.assert_allclose(mid, hi.pooled_estimates(class_means, n, g00, 0.3), rtol=1e-10)
    assert vx.sliders(spec)[0]["value"] == round(p_hat, 2)


def test_pooling_chart_refuses_models_it_cannot_draw(pupils):
    slope = hp.fit_lmm("popular ~ extrav + (1 + extrav | class)", pupils)
    with pytest.raises(ValueError, match="random-intercept"):
        hi.pooling_chart(slope)
    with_x = hp.fit_lmm("popular ~ extrav + (1 | class)", pupils)
    with pytest.raises(ValueError, match="empty model"):
        hi.pooling_chart(with_x)
    with pytest.raises(TypeError, match="fit_lmm"):
        hi.pooling_chart("not a fit")


@pytest.mark.parametrize(
    "call, error, message",
    [
        (lambda: hi.design_effect_chart(rho=0.6), ValueError, "rho"),
        (lambda: hi.design_effect_chart(rho=0.123), ValueError, "grid"),
        (lambda: hi.design_effect_chart(n_total=1), ValueError, "n_total"),
        (
            lambda: hi.no_pooling_funnel_chart(grand_mean=5, tau00=0.5, sigma2=0),
            ValueError,
            "sigma2",
        ),
        (
            lambda: hi.no_pooling_funnel_chart(grand_mean="5", tau00=0.5, sigma2=1),
            TypeError,
            "grand_mean",
        ),
        (
            lambda: hi.random_intercepts_chart(gamma00=1, gamma10=0, tau00=0.7, sigma2=0.0),
            ValueError,
            "sigma2",
        ),
        (lambda: hi.naive_coverage(0.5), ValueError, "deff"),
        (
            lambda: hi.three_level_chart(sigma2_v0=0.23, sigma2_u0=0.3, sigma2_e=0.5),
            ValueError,
            "grid",
        ),
        (lambda: hi.three_level_iccs(0.2, 0.3, 0.0), ValueError, "sigma2_e"),
        (lambda: hi.three_level_iccs(-0.1, 0.3, 0.5), ValueError, "sigma2_v0"),
        (lambda: hi.power_budget_chart(rho=0.6), ValueError, "rho"),
        (lambda: hi.power_budget_chart(budget=5250), ValueError, "grid"),
        (lambda: hi.cluster_trial_power(1, 10, icc=0.1, effect=0.3), ValueError, "n_groups"),
        (lambda: hi.cluster_trial_power(10, 10, icc=1.5, effect=0.3), ValueError, "icc"),
        (lambda: hi.optimal_group_size(0.0, 10), ValueError, "icc"),
        (lambda: hi.optimal_group_size(0.1, "10"), TypeError, "cost_ratio"),
        (lambda: hi.var_y_given_x(1.0, [[1, 0.5], [0.2, 1]], 1.0), ValueError, "symmetric"),
        (lambda: hi.pooled_estimates([1, 2], [3], 0.0, 0.5), ValueError, "same length"),
    ],
)
def test_builders_validate_their_input(call, error, message):
    with pytest.raises(error, match=message):
        call()


def test_book_renderer_output(charts):
    chart = charts["shrinkage"]
    bundle = chart._repr_mimebundle_()
    if isinstance(bundle, tuple):
        bundle = bundle[0]
    # No text/html: JupyterLab ranks it above Vega-Lite and would show a dead fallback.
    assert set(bundle) == {hi.LAB_MIME, "text/plain"}
    lab = bundle[hi.LAB_MIME]
    assert lab["$schema"].endswith("/v5.json")
    assert {k: v for k, v in lab.items() if k != "$schema"} == {
        k: v for k, v in chart.to_dict().items() if k != "$schema"
    }
    assert bundle["text/plain"] == chart.to_dict()["description"]


def test_myst_nb_plugin_turns_the_lab_spec_into_page_html(charts):
    class Data:
        def __init__(self, mime_type, content):
            self.mime_type, self.content = mime_type, content

    spec = charts["shrinkage"].to_dict()
    lab = hi.spec_for_lab(spec)
    for content in (lab, json.dumps(lab)):
        (node,) = hi.MystNbLabSpec.handle_mime(None, Data(hi.LAB_MIME, content), False)
        page = node.astext()
        assert page.startswith('<div class="book-vega">') and "book-vega-fallback" in page
        spec_json = page.split('class="book-vega-spec">')[1].split("</script>")[0]
        assert json.loads(spec_json.replace("<\\/", "</")) == spec  # the original schema
        assert "https://" not in page.replace(spec["$schema"], "")
    assert hi.MystNbLabSpec.handle_mime(None, Data(hi.LAB_MIME, lab), True) is None
    assert hi.MystNbLabSpec.handle_mime(None, Data("text/html", "<p></p>"), False) is None
    assert ("html", hi.LAB_MIME, 5) in hi.MystNbLabSpec.mime_priority_overrides


def test_numpy_numbers_become_plain_numbers_in_expressions():
    # A chapter passes estimates as numpy scalars; their repr ("np.float64(...)") is
    # not a Vega expression and the chart would fail in the browser.
    chart = hi.random_slopes_chart(
        gamma00=np.float64(2.4),
        gamma10=np.float64(0.5),
        tau00=np.float64(3.19),
        tau11=np.float64(0.04),
        tau01=np.float64(-0.33),
        sigma2=np.float64(0.9),
    )
    text = json.dumps(chart.to_dict())
    assert "np." not in text and "float64" not in text
    for build in (
        lambda: hi.no_pooling_funnel_chart(
            grand_mean=np.float64(5), tau00=np.float64(0.7), sigma2=np.float64(1.3)
        ),
        lambda: hi.random_intercepts_chart(
            gamma00=np.float64(2.5), gamma10=np.float64(0.5), tau00=0.7, sigma2=np.float64(0.95)
        ),
    ):
        assert "np." not in json.dumps(build().to_dict())


# ------------------------------------------------------------------ chapter 9


@pytest.fixture(scope="module")
def contraception_fit():
    con = hp.load_dataset("contraception")
    fit = hp.fit_glmm("use ~ 1 + (1 | district)", con)
    counts = con.assign(y=(con["use"] == "Y").astype(int)).groupby("district", observed=True)
    return fit, counts["y"].agg(n="size", users="sum")


def _mode_by_root(n, y, gamma00, tau):
    """The conditional mode as the root of the score (brentq), independent of Newton."""
    from scipy import optimize, special

    def score(u):
        return y - n * special.expit(gamma00 + u) - u / tau

    return optimize.brentq(score, -50.0, 50.0, xtol=1e-13)


def test_eb_logit_mode_solves_the_penalised_likelihood():
    # Over the chart's whole slider range, including 0 of n and n of n.
    for n, tau, g in itertools.product([1, 2, 7, 40, 100], [0.01, 0.3, 3.0], [-3.0, -0.5, 3.0]):
        ys = np.arange(n + 1)
        got = hi.eb_logit_mode(np.full_like(ys, n), ys, gamma00=g, tau=tau)
        want = [_mode_by_root(n, y, g, tau) for y in ys]
        np.testing.assert_allclose(got, want, atol=1e-9)


def test_eb_logit_mode_agrees_with_the_fitted_glmm(contraception_fit):
    fit, counts = contraception_fit
    g00 = float(fit.fixed.loc["Intercept", "estimate"])
    tau = float(fit.tau.iloc[0, 0])
    got = hi.eb_logit_mode(counts["n"].to_numpy(), counts["users"].to_numpy(), gamma00=g00, tau=tau)
    want = fit.ranef()["Intercept"].loc[counts.index].to_numpy()
    np.testing.assert_allclose(got, want, atol=1e-6)


def test_log_odds_chart_computes_the_modes_in_the_spec(contraception_fit):
    fit, counts = contraception_fit
    g00 = round(float(fit.fixed.loc["Intercept", "estimate"]), 2)
    tau = round(float(fit.tau.iloc[0, 0]), 2)
    spec = hi.log_odds_shrinkage_chart(gamma00=g00, tau=tau).to_dict()
    assert jsonschema.Draft7Validator(SCHEMA).is_valid(spec)
    rows = [{"k": k} for k in range(101)]
    fields = [(f"v{k}", vx.calculations(spec, f"v{k}")[0][0]) for k in range(31)]
    (prob_expr, _), *_ = vx.calculations(spec, "eb_p")
    for n, y, t, g in [
        (10, 0, tau, g00),
        (10, 10, tau, g00),
        (3, 1, 0.5, -1.0),
        (100, 37, 3.0, 2.9),
    ]:
        env = vx.params(spec, nb=n, ys=y, tau=t, g00=g)
        mode = float(hi.eb_logit_mode(n, y, gamma00=g, tau=t))
        assert env["eb"] - g == pytest.approx(mode, abs=1e-12)
        assert env["eb"] - g == pytest.approx(_mode_by_root(n, y, g, t), abs=1e-9)
        # the curve of the lower panel: every count 0..n at this n
        for r in rows[: n + 1]:
            datum = dict(r)
            for name, expr in fields:
                datum[name] = vx.evaluate(expr, env, datum)
            want = 1 / (1 + math.exp(-(g + _mode_by_root(n, r["k"], g, t))))
            assert vx.evaluate(prob_expr, env, datum) == pytest.approx(want, abs=1e-9)
    # y above n counts as n; the own log-odds is infinite at 0 of n and n of n
    env = vx.params(spec, nb=5, ys=9)
    assert env["yb"] == 5 and env["own"] > 1e8
    assert vx.params(spec, nb=5, ys=0)["own"] < -1e8
    texts = [vx.evaluate(e, vx.params(spec, nb=12, ys=3)) for e in vx.mark_texts(spec)]
    p = 1 / (1 + math.exp(-(g00 + _mode_by_root(12, 3, g00, tau))))
    assert any(t.endswith(f"EB probability = {p:.3f}") for t in texts), texts
    assert any(
        "own log-odds " + f"{math.log(3 / 9):+.2f}".replace("-", "\u2212") in t for t in texts
    )
    assert any(
        "−∞ (no estimate)" in t
        for t in (vx.evaluate(e, vx.params(spec, nb=4, ys=0)) for e in vx.mark_texts(spec))
    )


@pytest.mark.parametrize(
    "kwargs, error",
    [
        ({"gamma00": 0.0, "tau": 0.0}, ValueError),
        ({"gamma00": "a", "tau": 0.5}, TypeError),
        ({"gamma00": 0.0, "tau": 0.5, "n": 5, "y": 6}, ValueError),
        ({"gamma00": 0.0, "tau": 0.5, "n": 0}, ValueError),
    ],
)
def test_log_odds_chart_validates_its_input(kwargs, error):
    with pytest.raises(error):
        hi.log_odds_shrinkage_chart(**kwargs)


def test_eb_logit_mode_validates_its_input():
    with pytest.raises(ValueError, match="0 <= y <= n"):
        hi.eb_logit_mode(3, 4, gamma00=0.0, tau=1.0)
    with pytest.raises(TypeError, match="whole numbers"):
        hi.eb_logit_mode(3.5, 1, gamma00=0.0, tau=1.0)
    with pytest.raises(ValueError, match="tau"):
        hi.eb_logit_mode(3, 1, gamma00=0.0, tau=0.0)


# ------------------------------------------------------------------ chapter 6


def test_within_between_chart_computes_the_blend_in_the_spec(charts):
    spec = charts["within between"].to_dict()
    ((raw_expr, rows),) = vx.calculations(spec, "raw-x slope (random intercept)")
    ((obs_expr, _),) = vx.calculations(spec, "slope on observed group means")
    assert [r["n"] for r in rows] == list(range(2, 101))
    for icc_x, icc_y, n in itertools.product(
        [0.01, 0.1, 0.26, 0.9], [0.0, 0.11, 0.9], [2, 20, 100]
    ):
        env = vx.params(spec, icc_x=icc_x, icc_y=icc_y, n=n)
        want = hi.within_between_blend(gamma_w=2.191, gamma_b=5.866, icc_x=icc_x, icc_y=icc_y, n=n)
        assert env["lam"] == pytest.approx(want["reliability"], rel=1e-12)
        assert env["bobs"] == pytest.approx(want["between_observed"], rel=1e-12)
        assert env["wshare"] == pytest.approx(want["within_weight"], rel=1e-12)
        assert env["raw"] == pytest.approx(want["raw_slope"], rel=1e-12)
        for row in rows[::13]:
            at = hi.within_between_blend(
                gamma_w=2.191, gamma_b=5.866, icc_x=icc_x, icc_y=icc_y, n=row["n"]
            )
            assert vx.evaluate(raw_expr, env, row) == pytest.approx(at["raw_slope"], rel=1e-12)
            assert vx.evaluate(obs_expr, env, row) == pytest.approx(
                at["between_observed"], rel=1e-12
            )
    texts = [vx.evaluate(e, vx.params(spec)) for e in vx.mark_texts(spec)]
    start = hi.within_between_blend(gamma_w=2.191, gamma_b=5.866, icc_x=0.26, icc_y=0.11, n=45)
    assert any(s.endswith(f"= {start['reliability']:.3f}") for s in texts), texts


def test_within_between_blend_is_the_large_sample_gls_slope():
    """Independent: simulate many balanced groups, compute the random-intercept GLS slope
    with the given variance components, the within slope and the slope on observed
    group means directly, and compare with the closed forms (seeded; J large)."""
    rng = np.random.default_rng(6)
    J, n, icc_x, icc_y, g_w, g_b = 20_000, 5, 0.3, 0.25, 0.5, 2.0
    xi = rng.normal(0, math.sqrt(icc_x), J)
    x = xi[:, None] + rng.normal(0, math.sqrt(1 - icc_x), (J, n))
    y = g_w * (x - xi[:, None]) + g_b * xi[:, None] + rng.normal(0, 1, J)[:, None]
    y = y + rng.normal(0, 1, (J, n))
    s2, t00 = 1 - icc_y, icc_y  # the variance components the GLS weights use
    c = t00 / (s2 + n * t00)  # V_j^-1 = (I - c 11') / s2
    X = np.stack([np.ones((J, n)), x], axis=-1)  # J x n x 2
    sx, sy = X.sum(axis=1), y.sum(axis=1)
    xtvx = (np.einsum("jia,jib->ab", X, X) - c * sx.T @ sx) / s2
    xtvy = (np.einsum("jia,ji->a", X, y) - c * sx.T @ sy) / s2
    gls = np.linalg.solve(xtvx, xtvy)[1]
    xbar, ybar = x.mean(axis=1), y.mean(axis=1)
    xw = x - xbar[:, None]
    b_w = (xw * (y - ybar[:, None])).sum() / (xw**2).sum()
    b_b = np.polyfit(xbar, ybar, 1)[0]
    W = (xw**2).sum() / s2
    B = n / (s2 + n * t00) * ((xbar - xbar.mean()) ** 2).sum()
    want = hi.within_between_blend(gamma_w=g_w, gamma_b=g_b, icc_x=icc_x, icc_y=icc_y, n=n)
    assert b_w == pytest.approx(g_w, abs=0.02)
    assert b_b == pytest.approx(want["between_observed"], abs=0.04)
    assert b_b - b_w == pytest.approx(want["contextual_observed"], abs=0.05)
    assert W / (W + B) == pytest.approx(want["within_weight"], abs=0.01)
    assert gls == pytest.approx(want["raw_slope"], abs=0.03)
    # the attenuation is real at this size: the observed between slope is well below g_b
    assert b_b < g_b - 0.3


@pytest.mark.parametrize(
    "kwargs, message",
    [
        ({"icc_x": 0.0}, "icc_x"),
        ({"icc_x": 1.0}, "icc_x"),
        ({"icc_y": 1.0}, "icc_y"),
        ({"n": 1}, "n must be"),
        ({"gamma_w": "2"}, "gamma_w"),
    ],
)
def test_within_between_blend_validates_its_input(kwargs, message):
    args = {"gamma_w": 1.0, "gamma_b": 2.0, "icc_x": 0.2, "icc_y": 0.1, "n": 10, **kwargs}
    with pytest.raises((ValueError, TypeError), match=message):
        hi.within_between_blend(**args)


def test_within_between_chart_validates_its_input():
    with pytest.raises(ValueError, match="group_size"):
        hi.within_between_chart(gamma_w=1.0, gamma_b=2.0, group_size=1)
    with pytest.raises(ValueError, match="grid"):
        hi.within_between_chart(gamma_w=1.0, gamma_b=2.0, icc_x=0.123)
    with pytest.raises(TypeError, match="gamma_b"):
        hi.within_between_chart(gamma_w=1.0, gamma_b=None)


# ------------------------------------------------------------------ chapter 4: simple slopes

CROSS = "popular ~ extrav + gender + texp + extrav:texp + (1 + extrav | class)"


@pytest.fixture(scope="module")
def cross_fit(pupils):
    return hp.fit_lmm(CROSS, pupils)


@pytest.fixture(scope="module")
def slope_spec(cross_fit):
    chart = hi.simple_slope_chart(
        cross_fit, "extrav", "texp", start=15, low=0, high=40, step=0.5, hold={"gender": 0}
    )
    return chart.to_dict()


def _filter_expr(spec):
    found = {
        t["filter"]
        for view in vx._views(spec)
        for t in view.get("transform", [])
        if isinstance(t.get("filter"), str)
    }
    (expr,) = found
    return expr


def _rows_with(spec, fields, env, rows):
    """Each row with the spec's calculated fields added in order (as Vega does)."""
    exprs = [(f, vx.calculations(spec, f)[0][0]) for f in fields]
    out = []
    for r in rows:
        datum = dict(r)
        for f, e in exprs:
            datum[f] = vx.evaluate(e, env, datum)
        out.append(datum)
    return out


def test_simple_slope_chart_is_valid_and_starts_on_its_grid(slope_spec):
    validator = jsonschema.validators.validator_for(SCHEMA)(SCHEMA)
    validator.validate(slope_spec)
    (s,) = vx.sliders(slope_spec)
    assert (s["value"], s["bind"]["min"], s["bind"]["max"], s["bind"]["step"]) == (15, 0, 40, 0.5)
    assert len(slope_spec["description"]) > 80


def test_simple_slope_band_equals_helpers_slopes_on_the_grid(slope_spec, cross_fit):
    """Estimate, standard error and interval of the spec's closed form at every grid
    point are those of m.slopes (Satterthwaite df; m.slopes is checked against lmerTest
    and emmeans in test_lmm_ddf.py)."""
    (_, rows), *_ = vx.calculations(slope_spec, "estimate")
    zs = [r["z"] for r in rows]
    assert zs == pytest.approx(list(np.arange(0, 40.5, 0.5)))
    got = _rows_with(slope_spec, ["estimate", "se", "lower", "upper"], {}, rows)
    want = cross_fit.slopes("extrav", at={"texp": zs})
    for col, key in [("estimate", "estimate"), ("std_error", "se")]:
        np.testing.assert_allclose([g[key] for g in got], want[col], rtol=1e-10)
    np.testing.assert_allclose([g["lower"] for g in got], want["ci_lower"], rtol=1e-9)
    np.testing.assert_allclose([g["upper"] for g in got], want["ci_upper"], rtol=1e-9)
    np.testing.assert_allclose([r["df"] for r in rows], want["df"], rtol=1e-12)
    # the estimate is the slope gamma_10 + gamma_11 z of the fixed effects themselves
    b = cross_fit.fixed["estimate"]
    for g in got[::10]:
        assert g["estimate"] == pytest.approx(b["extrav"] + b["extrav:texp"] * g["z"], rel=1e-12)


def test_simple_slope_chart_marks_the_johnson_neyman_boundaries(slope_spec, cross_fit):
    jn = cross_fit.johnson_neyman("extrav", "texp")
    assert jn.significant == "outside" and 25 < jn.bounds[0] < jn.bounds[1] < 40
    (rules,) = [
        slope_spec["datasets"][v["data"]["name"]]
        for v in vx._views(slope_spec)
        if isinstance(v.get("mark"), dict) and v["mark"].get("strokeDash")
    ]
    assert [r["z"] for r in rules] == pytest.approx(list(jn.bounds), rel=1e-12)
    # at a boundary |t| is the critical value of t on that point's df
    for bound, df in zip(jn.bounds, jn.df, strict=True):
        row = cross_fit.slopes("extrav", at={"texp": [bound]}).iloc[0]
        assert abs(row["statistic"]) == pytest.approx(stats.t.ppf(0.975, df), rel=1e-8)
        assert row["df"] == pytest.approx(df, rel=1e-8)
    texts = [vx.evaluate(e) for e in vx.mark_texts(slope_spec)]
    lo, hi = jn.bounds
    assert f"slope ≠ 0 for texp < {lo:.1f} or > {hi:.1f}" in texts, texts
    assert "observed texp: 2 to 25 (grey)" in texts, texts
    # every line of text fits a phone's column (about 40 characters at 13 px)
    assert max(len(t) for t in texts) <= 40, texts


def test_simple_slope_chart_moves_with_the_slider(slope_spec, cross_fit):
    """The slider picks one grid row (dot, interval, text), and the fitted line below
    turns: its slope is the simple slope there, its band that of m.predict."""
    keep = _filter_expr(slope_spec)
    (_, rows), *_ = vx.calculations(slope_spec, "estimate")
    # the fitted line's layers share their parent's data: the values of extraversion
    (xs,) = [
        slope_spec["datasets"][v["data"]["name"]]
        for v in vx._views(slope_spec)
        if "layer" in v and "data" in v
    ]
    line_fields = ["fit", "fit_se", "fit_lower", "fit_upper"]
    slopes_seen = []
    for z in (2.0, 15.0, 25.0, 32.5):
        env = vx.params(slope_spec, mod=z)
        picked = [r for r in rows if vx.evaluate(keep, env, r)]
        assert [r["z"] for r in picked] == [z]
        (datum,) = _rows_with(slope_spec, ["estimate", "se", "lower", "upper"], env, picked)
        want = cross_fit.slopes("extrav", at={"texp": [z]}).iloc[0]
        line1 = vx.evaluate(vx.calculations(slope_spec, "line1")[0][0], env, datum)
        line2 = vx.evaluate(vx.calculations(slope_spec, "line2")[0][0], env, datum)
        assert line1 == f"texp = {z:.1f}: slope of extrav {want['estimate']:.3f}".replace(
            "-", "\u2212"
        )
        ci = f"95% CI {want['ci_lower']:.3f} to {want['ci_upper']:.3f}"
        assert line2 == ci.replace("-", "\u2212")
        line3 = vx.evaluate(vx.calculations(slope_spec, "line3")[0][0], env, datum)
        assert line3 == f"t = {want['statistic']:.1f} on {want['df']:.1f} df".replace("-", "\u2212")
        assert max(len(line1), len(line2), len(line3)) <= 40
        fitted = _rows_with(slope_spec, line_fields, env, xs)
        x = np.array([r["x"] for r in xs])
        y = np.array([r["fit"] for r in fitted])
        slope = np.polyfit(x, y, 1)[0]
        assert slope == pytest.approx(want["estimate"], rel=1e-9, abs=1e-12)
        slopes_seen.append(slope)
        new = pd.DataFrame({"extrav": x, "gender": 0, "texp": z, "class": "new"})
        pred = cross_fit.predict(new, include_random=False, interval="confidence")
        np.testing.assert_allclose(y, pred["predicted"], rtol=1e-10)
        np.testing.assert_allclose([r["fit_lower"] for r in fitted], pred["lower"], rtol=1e-9)
        np.testing.assert_allclose([r["fit_upper"] for r in fitted], pred["upper"], rtol=1e-9)
    assert len(set(np.round(slopes_seen, 6))) == 4


@pytest.mark.parametrize(
    "change, error, message",
    [
        ({"fit": "model"}, TypeError, "fit_lmm"),
        ({"moderator": "gender"}, ValueError, "does not depend"),
        ({"moderator": "class"}, ValueError, "not a variable"),
        ({"start": 15.25}, ValueError, "grid"),
        ({"high": 40.25}, ValueError, "whole number"),
        ({"hold": {"age": 3}}, ValueError, "hold names 'age'"),
        ({"hold": {"gender": "boy"}}, TypeError, "gender"),
        ({"ddf": "kenward-roger"}, ValueError, "satterthwaite"),
        ({"level": 95}, ValueError, "level"),
    ],
)
def test_simple_slope_chart_validates_its_input(cross_fit, change, error, message):
    args = {
        "fit": cross_fit,
        "var": "extrav",
        "moderator": "texp",
        "start": 15,
        "low": 0,
        "high": 40,
        "step": 0.5,
        **change,
    }
    fit, var, mod = args.pop("fit"), args.pop("var"), args.pop("moderator")
    with pytest.raises(error, match=message):
        hi.simple_slope_chart(fit, var, mod, **args)


# ------------------------------------------------------------------ chapter 7


def test_occasion_correlation_chart_computes_the_closed_form_in_the_spec(charts):
    spec = charts["occasion correlation"].to_dict()
    exprs = vx.calculations(spec, "corr")
    assert len(exprs) == 2 and exprs[0][0] == exprs[1][0]  # the cells and their labels
    expr = exprs[0][0]
    # the layer shares one grid (Altair hoists it to the layer, out of the view)
    (rows,) = [v for v in spec["datasets"].values() if v and "s" in v[0]]
    assert {(r["t"], r["s"]) for r in rows} == {(t, s) for t in range(8) for s in range(8)}
    tau00, r01, sigma2 = 414.4, 0.97, 955.3
    for phi, sd1 in itertools.product([0.0, 0.3, 0.45, 0.95], [0.0, 2.5, 5.5, 12.0]):
        env = vx.params(spec, phi=phi, sd1=sd1)
        want = hi.occasion_correlation(
            range(8),
            tau00=tau00,
            tau01=r01 * math.sqrt(tau00) * sd1,
            tau11=sd1**2,
            sigma2=sigma2,
            phi=phi,
        )
        for row in rows[::5]:
            got = vx.evaluate(expr, env, row)
            assert got == pytest.approx(want[row["t"], row["s"]], rel=1e-12)
        assert env["r01"] == pytest.approx(want[0, 1], rel=1e-12)
        assert env["r0last"] == pytest.approx(want[0, 7], rel=1e-12)
        var0 = tau00 + sigma2
        var1 = tau00 + 2 * r01 * math.sqrt(tau00) * sd1 + sd1**2 + sigma2
        assert env["resid01"] == pytest.approx(sigma2 * phi / math.sqrt(var0 * var1), rel=1e-12)
    sliders = {p["name"]: p["value"] for p in vx.sliders(spec)}
    assert sliders == {"phi": 0.45, "sd1": 5.5}  # sqrt(29.85) = 5.46, to the slider's 0.5


def test_occasion_correlation_is_the_fitted_marginal_correlation():
    """Independent: the AR(1) growth fit's own R_i (m.residual_cov) plus Z T Z'."""
    sleep = hp.load_dataset("sleepstudy")
    restricted = sleep[sleep["Days"] >= 2].assign(T=lambda d: d["Days"] - 2)
    m = hp.fit_lmm("Reaction ~ T + (1 + T | Subject)", restricted, residuals=hp.AR1(time="T"))
    t = np.arange(8.0)
    z = np.column_stack([np.ones(8), t])
    cov = m.residual_cov(308).to_numpy() + z @ m.tau.to_numpy() @ z.T
    want = cov / np.sqrt(np.outer(np.diag(cov), np.diag(cov)))
    got = hi.occasion_correlation(
        t,
        tau00=m.tau.iloc[0, 0],
        tau01=m.tau.iloc[0, 1],
        tau11=m.tau.iloc[1, 1],
        sigma2=m.sigma2,
        phi=m.residual_params["phi"],
    )
    np.testing.assert_allclose(got, want, rtol=1e-10)
    assert m.residual_params["phi"] > 0.3  # the structure matters here, not a null case


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"phi": 1.0}, "phi must be < 1"),
        ({"sigma2": 0.0}, "sigma2 must be > 0"),
        ({"tau01": 50.0}, "covariance matrix"),
        ({"times": [0, 0.5, 1]}, "whole numbers"),
        ({"times": [0]}, "at least two"),
    ],
)
def test_occasion_correlation_validates_its_input(kwargs, message):
    args = {"times": range(4), "tau00": 4.0, "tau01": 1.0, "tau11": 1.0, "sigma2": 2.0, "phi": 0.5}
    args.update(kwargs)
    times = args.pop("times")
    with pytest.raises(ValueError, match=message):
        hi.occasion_correlation(times, **args)


def test_occasion_correlation_chart_validates_its_input():
    with pytest.raises(ValueError, match="occasions"):
        hi.occasion_correlation_chart(tau00=1.0, tau11=1.0, corr01=0.0, sigma2=1.0, occasions=2)
    with pytest.raises(ValueError, match="corr01"):
        hi.occasion_correlation_chart(tau00=1.0, tau11=1.0, corr01=1.5, sigma2=1.0)
    with pytest.raises(ValueError, match="not on the slider's grid"):
        hi.occasion_correlation_chart(tau00=1.0, tau11=1.0, corr01=0.0, sigma2=1.0, phi=0.33)
