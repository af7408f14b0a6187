"""Interactive figures as Vega-Lite specs: sliders that recompute in the reader's browser.

Every builder returns an Altair chart whose parameters are bound to labelled
controls (range sliders). Everything that moves is computed *in the spec*, from a
closed form written as a Vega expression or from data precomputed here on a grid;
no Python runs when the reader moves a control, so the same chart works on the
static web page, in JupyterLab and in a downloaded notebook.

The closed forms used in the specs are also available as plain Python functions
(:func:`naive_coverage`, :func:`variance_shares`, :func:`var_y_given_x`,
:func:`pooled_estimates`; the shrinkage weight is
:func:`helpers.widgets.shrinkage_point`), and the tests evaluate the spec's
expressions against them.

Display. Importing this module registers an Altair renderer ``"book"`` and
enables it unless another renderer was chosen. Its output carries

* ``application/vnd.vegalite.v5+json``: the spec, which JupyterLab (and Notebook 7)
  renders live with the copy of Vega it ships (no network);
* ``text/plain``: the chart's description.

There is deliberately no ``text/html``: JupyterLab ranks HTML above Vega-Lite and
would show the (sanitised, script-less) HTML instead of the live chart. On the
book's pages the MyST-NB plugin :class:`MystNbLabSpec` turns the Vega-Lite output
into the page's HTML (:func:`chart_html`): the spec in a ``<div class="book-vega">``
with a text fallback, drawn by the site's own copies of vega, vega-lite and
vega-embed (``book/_ext/vegacharts.py``).
"""

from __future__ import annotations

import html
import json
from numbers import Integral, Real

import altair as alt
import numpy as np
import pandas as pd
from scipy import stats

from .plots import OKABE_ITO

__all__ = [
    "cluster_trial_power",
    "design_effect_chart",
    "eb_logit_mode",
    "log_odds_shrinkage_chart",
    "naive_coverage",
    "no_pooling_funnel_chart",
    "on_grid",
    "optimal_group_size",
    "pooled_estimates",
    "pooling_chart",
    "power_budget_chart",
    "random_intercepts_chart",
    "random_slopes_chart",
    "shrinkage_chart",
    "slider",
    "var_y_given_x",
    "variance_shares",
]

Z975 = float(stats.norm.ppf(0.975))
WIDTH = 520  # px; the page's loader narrows a view that does not fit its column
TEXT = "#1a1a1a"
FONT = 13


# ------------------------------------------------------------------ closed forms


def naive_coverage(deff: float, *, level: float = 0.95) -> float:
    """True coverage of an interval that ignores clustering, given the design effect.

    The naive interval uses the simple-random-sample standard error, which is too
    small by the factor sqrt(deff); it covers the true mean with probability
    ``2 * Phi(z / sqrt(deff)) - 1``, ``z`` the normal quantile of ``level``.
    """
    _number("deff", deff, low=1.0)
    _number("level", level, low=0.0, high=1.0, open_low=True, open_high=True)
    z = stats.norm.ppf(0.5 + level / 2)
    return float(2 * stats.norm.cdf(z / np.sqrt(deff)) - 1)


def variance_shares(tau00: float, sigma2: float) -> dict:
    """The shares of the total variance at the class level (the ICC) and the pupil level."""
    _number("tau00", tau00, low=0.0)
    _number("sigma2", sigma2, low=0.0, open_low=True)
    total = tau00 + sigma2
    return {"total": total, "icc": tau00 / total, "pupil": sigma2 / total}


def var_y_given_x(x, tau, sigma2: float) -> np.ndarray:
    """Var(Y | X = x) in a random-slope model: [1, x] tau [1, x]' + sigma2.

    ``tau`` is the 2 x 2 covariance matrix of (u0, u1); ``x`` a number or array.
    """
    t = np.asarray(tau, dtype=float)
    if t.shape != (2, 2) or not np.allclose(t, t.T):
        raise ValueError("tau must be a symmetric 2 x 2 covariance matrix of (u0, u1).")
    _number("sigma2", sigma2, low=0.0)
    xs = np.asarray(x, dtype=float)
    v = np.stack([np.ones_like(xs), xs], axis=-1)
    return np.einsum("...i,ij,...j->...", v, t, v) + sigma2


def pooled_estimates(own_mean, n, grand_mean: float, pooling: float) -> np.ndarray:
    """Class means pulled toward ``grand_mean``: 0 is no pooling, 1 complete pooling.

    With ``pooling = k / (mean(n) + k)`` and ``k = sigma2 / tau00`` the weight of a
    class's own mean is ``n_j / (n_j + k)``, the reliability of the fitted random-
    intercept model, so the result is the model's empirical Bayes prediction.
    """
    _number("pooling", pooling, low=0.0, high=1.0)
    own, size = np.asarray(own_mean, dtype=float), np.asarray(n, dtype=float)
    if own.shape != size.shape or own.ndim != 1:
        raise ValueError("own_mean and n must be 1-d arrays of the same length.")
    nbar = size.mean()
    lam = (1 - pooling) * size / ((1 - pooling) * size + pooling * nbar)
    return grand_mean + lam * (own - grand_mean)


def cluster_trial_power(
    n_groups: float, group_size: float, *, icc: float, effect: float, alpha: float = 0.05
) -> float:
    """Power of the two-sided z-test of a level-2 treatment given to half of the groups.

    ``effect`` is the difference between the arms in standard deviations of the
    outcome (total variance 1, of which ``icc`` between groups). A group's mean
    has variance ``icc + (1 - icc) / n`` = deff / n, so the difference of the two
    arms' means has variance ``4 deff / (n J)``: the design-effect approximation
    (Snijders & Bosker 2012, ch. 11), which ignores that the variances are
    estimated.
    """
    _number("n_groups", n_groups, low=2.0)
    _number("group_size", group_size, low=1.0)
    _number("icc", icc, low=0.0, high=1.0)
    _number("effect", effect)
    _number("alpha", alpha, low=0.0, high=1.0, open_low=True, open_high=True)
    z = stats.norm.ppf(1 - alpha / 2)
    se = np.sqrt(4 * (icc + (1 - icc) / group_size) / n_groups)
    return float(stats.norm.cdf(effect / se - z) + stats.norm.cdf(-effect / se - z))


def optimal_group_size(icc: float, cost_ratio: float) -> float:
    """Group size that minimises the variance of a level-2 effect at a fixed budget.

    With a cost ``c1`` per level-1 unit and ``c2`` per group, the budget
    ``C = J (c2 + n c1)`` is spent best on groups of size
    ``sqrt((c2 / c1) (1 - icc) / icc)`` (Snijders & Bosker 2012, ch. 11).
    """
    _number("icc", icc, low=0.0, high=1.0, open_low=True, open_high=True)
    _number("cost_ratio", cost_ratio, low=0.0, open_low=True)
    return float(np.sqrt(cost_ratio * (1 - icc) / icc))


# ------------------------------------------------------------------ building blocks


def _number(name, value, *, low=None, high=None, open_low=False, open_high=False):
    if isinstance(value, bool) or not isinstance(value, Real) or not np.isfinite(value):
        raise TypeError(f"{name} must be a finite number, not {value!r}.")
    if low is not None and (value < low or (open_low and value == low)):
        raise ValueError(f"{name} must be {'>' if open_low else '>='} {low}, not {value}.")
    if high is not None and (value > high or (open_high and value == high)):
        raise ValueError(f"{name} must be {'<' if open_high else '<='} {high}, not {value}.")


def on_grid(value: float, step: float, *, low: float = 0.0) -> float:
    """``value`` rounded to the nearest point ``low + k * step`` (a slider's start value)."""
    _number("value", value)
    _number("step", step, low=0.0, open_low=True)
    return round(low + round((value - low) / step) * step, 10)


def slider(name: str, label: str, *, value: float, low: float, high: float, step: float):
    """A parameter bound to a range slider whose start value lies on the slider's grid.

    A browser moves a range input to the nearest multiple of ``step`` above
    ``low``; a start value off that grid would be displayed as one number and
    used as another. Such a value is refused here.
    """
    for key, v in (("value", value), ("low", low), ("high", high), ("step", step)):
        _number(f"{name}: {key}", v)
    if not low <= value <= high or step <= 0:
        raise ValueError(f"{name}: need low <= value <= high and step > 0 (got {value}).")
    k = (value - low) / step
    if abs(k - round(k)) > 1e-9:
        raise ValueError(
            f"{name}: the start value {value} is not on the slider's grid ({low} + k * {step}); "
            f"a browser would show {low + round(k) * step:g}. Pick a value on the grid."
        )
    return alt.param(
        name=name,
        value=float(value),
        bind=alt.binding_range(min=low, max=high, step=step, name=label + " "),
    )


def _derived(name: str, expr: str):
    """A parameter computed from others (a Vega expression), shared by all layers."""
    return alt.param(name=name, expr=expr)


def _one_row():
    return alt.Data(values=[{"row": 0}])


def _text_line(expr: str, *, y: int = 0, size: int = FONT, width: int = WIDTH):
    """A line of text computed by a Vega expression (it updates with the sliders)."""
    return (
        alt.Chart(_one_row())
        .mark_text(
            align="left",
            baseline="top",
            fontSize=size,
            color=TEXT,
            text=alt.expr(expr),
        )
        .encode(x=alt.value(0), y=alt.value(y))
        .properties(width=width, height=y + 18)
    )


def _text_lines(*exprs: str):
    """Short lines of computed text, one above the other (they fit a phone's width)."""
    return alt.vconcat(*(_text_line(e) for e in exprs), spacing=2)


def _finish(chart, description: str):
    return (
        chart.properties(description=description)
        # The description is the chart's text alternative (aria-label of the SVG);
        # marks and axes are not announced one by one.
        .configure(aria=False)
        .configure_view(stroke=None)
        .configure_axis(labelFontSize=12, titleFontSize=12, labelColor=TEXT, titleColor=TEXT)
        .configure_legend(labelFontSize=12, titleFontSize=12, labelColor=TEXT, titleColor=TEXT)
    )


def _positive_int(name, value, low=1):
    if isinstance(value, bool) or not isinstance(value, Integral) or value < low:
        raise ValueError(f"{name} must be an integer of at least {low}, not {value!r}.")


# ------------------------------------------------------------------ chapter 1


def design_effect_chart(*, rho: float = 0.1, group_size: int = 20, n_total: int = 2000):
    """ICC and design effect: the true coverage of a naive 95% interval.

    Sliders: the intraclass correlation rho and the group size m. Shown: the
    design effect 1 + (m - 1) rho, the effective sample size n_total / deff, and the
    probability that the interval mean +/- 1.96 SE_naive covers the true mean, as a
    curve over rho for the chosen m with the chosen rho marked.
    """
    _positive_int("n_total", n_total, low=2)
    r = slider("rho", "ICC ρ", value=rho, low=0.0, high=0.5, step=0.01)
    m = slider("m", "group size m", value=group_size, low=2, high=100, step=1)
    deff = _derived("deff", "1 + (m - 1) * rho")
    neff = _derived("neff", f"{n_total} / deff")
    cover = _derived("cover", f"2 * cumulativeNormal({Z975!r} / sqrt(deff)) - 1")
    grid = pd.DataFrame({"r": np.round(np.linspace(0, 0.5, 101), 3)})
    base = alt.Chart(grid).transform_calculate(
        coverage=f"2 * cumulativeNormal({Z975!r} / sqrt(1 + (m - 1) * datum.r)) - 1"
    )
    x = alt.X("r:Q", title="intraclass correlation ρ", scale=alt.Scale(domain=[0, 0.5]))
    y = alt.Y(
        "coverage:Q",
        title="true coverage of the naive 95% interval",
        scale=alt.Scale(domain=[0, 1]),
        axis=alt.Axis(format="%"),
    )
    curve = base.mark_line(color=OKABE_ITO["blue"], strokeWidth=2.5).encode(x=x, y=y)
    nominal = (
        alt.Chart(_one_row())
        .mark_rule(color="#555555", strokeDash=[4, 4])
        .encode(y=alt.datum(0.95))
    )
    point = (
        alt.Chart(_one_row())
        .transform_calculate(r="rho", coverage="cover")
        .mark_point(filled=True, size=120, color=OKABE_ITO["vermillion"])
        .encode(x="r:Q", y="coverage:Q")
    )
    plot = alt.layer(curve, nominal, point).properties(width=WIDTH, height=260)
    lines = _text_lines(
        "'design effect 1 + (m − 1)ρ = ' + format(deff, '.2f')",
        f"'effective sample size = ' + format(neff, ',.0f') + ' of {n_total:,}'",
        "'true coverage of a nominal 95% interval = ' + format(cover, '.1%')",
    )
    chart = alt.vconcat(lines, plot, spacing=8).add_params(r, m, deff, neff, cover)
    return _finish(
        chart,
        "Line chart: the true coverage of a naive 95% confidence interval for a mean, "
        "against the intraclass correlation, for the chosen group size. The ICC slider "
        "moves the marked point; the group-size slider changes the curve. Text above "
        "gives the design effect and the effective sample size.",
    )


# ------------------------------------------------------------------ chapter 2


def no_pooling_funnel_chart(
    *,
    grand_mean: float,
    tau00: float,
    sigma2: float,
    n_groups: int = 100,
    group_size: int = 10,
    seed: int = 2,
):
    """No pooling: separate class means around their true values as the group size moves.

    The true class means are drawn once, ``grand_mean + sqrt(tau00) z_j``; each
    class's separate estimate is its true mean plus sampling noise
    ``sqrt(sigma2 / n) e_j`` (the same standard-normal ``e_j`` at every n, so the
    points move smoothly). Top: estimate against truth with the identity line.
    Bottom: the estimation error against n, inside the funnel +/- 1.96 sqrt(sigma2 / n).
    """
    _number("grand_mean", grand_mean)
    _number("tau00", tau00, low=0.0)
    _number("sigma2", sigma2, low=0.0, open_low=True)
    _positive_int("n_groups", n_groups, low=2)
    rng = np.random.default_rng(seed)
    truth = grand_mean + np.sqrt(tau00) * rng.standard_normal(n_groups)
    classes = pd.DataFrame(
        {"class": np.arange(1, n_groups + 1), "truth": truth, "e": rng.standard_normal(n_groups)}
    )
    n = slider("n", "pupils per class n", value=group_size, low=2, high=100, step=1)
    se = _derived("se", f"sqrt({float(sigma2)!r} / n)")
    est = alt.Chart(classes).transform_calculate(
        estimate="datum.truth + se * datum.e", error="se * datum.e", n_now="n"
    )
    # Fixed axes (so that moving the slider moves the points, not the axes): the
    # true means plus two standard errors of a class mean at the smallest n.
    reach = 2 * np.sqrt(sigma2 / 2)
    lo, hi = float(truth.min() - reach), float(truth.max() + reach)
    scale = alt.Scale(domain=[round(lo, 1), round(hi, 1)], clamp=True)
    identity = (
        alt.Chart(pd.DataFrame({"v": [lo, hi]}))
        .mark_line(color="#555555", strokeDash=[4, 4])
        .encode(x=alt.X("v:Q", scale=scale), y=alt.Y("v:Q", scale=scale))
    )
    dots = est.mark_circle(size=40, color=OKABE_ITO["vermillion"], opacity=0.8).encode(
        x=alt.X("truth:Q", title="true class mean", scale=scale),
        y=alt.Y("estimate:Q", title="separate estimate (class mean)", scale=scale),
        tooltip=[alt.Tooltip("class:N"), alt.Tooltip("estimate:Q", format=".2f")],
    )
    top = alt.layer(identity, dots).properties(width=WIDTH, height=260)
    sizes = pd.DataFrame({"size": np.arange(2, 101)})
    emax = round(1.2 * Z975 * np.sqrt(sigma2 / 2), 1)
    band = (
        alt.Chart(sizes)
        .transform_calculate(
            upper=f"{Z975!r} * sqrt({float(sigma2)!r} / datum.size)",
            lower=f"-{Z975!r} * sqrt({float(sigma2)!r} / datum.size)",
        )
        .mark_area(color=OKABE_ITO["sky"], opacity=0.35)
        .encode(
            x=alt.X("size:Q", title="pupils per class n", scale=alt.Scale(type="log")),
            y=alt.Y(
                "lower:Q",
                title="estimate − true mean",
                scale=alt.Scale(domain=[-emax, emax], clamp=True),
            ),
            y2="upper:Q",
        )
    )
    errs = est.mark_circle(size=30, color=OKABE_ITO["vermillion"], opacity=0.8).encode(
        x="n_now:Q", y="error:Q"
    )
    bottom = alt.layer(band, errs).properties(width=WIDTH, height=200)
    text = _text_lines(
        "'standard error of a class mean √(σ²ₑ/n) = ' + format(se, '.3f')",
        "'95% of the estimates lie within ±' + format(1.96 * se, '.2f')",
    )
    chart = alt.vconcat(text, top, bottom, spacing=8).add_params(n, se)
    return _finish(
        chart,
        f"Two scatter plots of {n_groups} simulated classes. Top: each class's separate "
        "mean against its true mean, with the identity line. Bottom: the error of each "
        "separate mean at the chosen class size, inside the funnel of ±1.96 standard "
        "errors over class sizes 2 to 100. The slider sets the number of pupils per "
        "class; smaller classes scatter further from the line.",
    )


# ------------------------------------------------------------------ chapter 3


def random_intercepts_chart(
    *,
    gamma00: float,
    gamma10: float,
    tau00: float,
    sigma2: float,
    x_range=(1, 10),
    n_classes: int = 8,
    n_pupils: int = 8,
    seed: int = 3,
    x_title: str = "extraversion",
    y_title: str = "popularity",
):
    """Random intercepts: parallel class lines and pupils around them; the variance shares.

    Sliders: sigma2_u0 (between classes) and sigma2_e (within). Class j's line is
    ``gamma00 + u_j + gamma10 x`` with ``u_j = sqrt(sigma2_u0) z_j``; its pupils
    scatter around it by ``sqrt(sigma2_e) e_ij``. The bar shows the share of the
    variance at each level; the class-level share is the ICC.
    """
    for name, v in (("gamma00", gamma00), ("gamma10", gamma10)):
        _number(name, v)
    _positive_int("n_classes", n_classes, low=2)
    _positive_int("n_pupils", n_pupils, low=1)
    rng = np.random.default_rng(seed)
    x0, x1 = x_range
    z = rng.standard_normal(n_classes)
    lines = pd.DataFrame(
        {
            "class": np.repeat(np.arange(1, n_classes + 1), 2),
            "z": np.repeat(z, 2),
            "x": np.tile([x0, x1], n_classes),
        }
    )
    pupils = pd.DataFrame(
        {
            "class": np.repeat(np.arange(1, n_classes + 1), n_pupils),
            "z": np.repeat(z, n_pupils),
            "x": rng.integers(x0, x1 + 1, n_classes * n_pupils),
            "e": rng.standard_normal(n_classes * n_pupils),
        }
    )
    t = slider("tau00", "class-level variance σ²ᵤ₀", value=tau00, low=0.0, high=2.0, step=0.05)
    s = slider("sigma2", "pupil-level variance σ²ₑ", value=sigma2, low=0.05, high=3.0, step=0.05)
    icc = _derived("icc", "tau00 / (tau00 + sigma2)")
    line_y = f"{float(gamma00)!r} + sqrt(tau00) * datum.z + {float(gamma10)!r} * datum.x"
    spread = 2 * (np.sqrt(2.0) + np.sqrt(3.0))  # two SDs at the sliders' maxima
    ydom = [
        round(gamma00 + gamma10 * min(x0, x1) - spread, 0),
        round(gamma00 + gamma10 * max(x0, x1) + spread, 0),
    ]
    yscale = alt.Scale(domain=ydom, clamp=True)
    palette = alt.Scale(scheme="dark2")
    class_lines = (
        alt.Chart(lines)
        .transform_calculate(y=line_y)
        .mark_line(strokeWidth=2)
        .encode(
            x=alt.X("x:Q", title=x_title),
            y=alt.Y("y:Q", title=y_title, scale=yscale),
            color=alt.Color("class:N", scale=palette, legend=None),
            detail="class:N",
        )
    )
    dots = (
        alt.Chart(pupils)
        .transform_calculate(y=f"{line_y} + sqrt(sigma2) * datum.e")
        .mark_circle(size=28, opacity=0.7)
        .encode(
            x="x:Q",
            y=alt.Y("y:Q", scale=yscale),
            color=alt.Color("class:N", scale=palette, legend=None),
        )
    )
    plot = alt.layer(class_lines, dots).properties(width=WIDTH, height=280)
    shares = (
        alt.Chart(pd.DataFrame({"level": ["between classes (ICC)", "within classes"], "k": [0, 1]}))
        .transform_calculate(share="datum.k == 0 ? icc : 1 - icc")
        .mark_bar(height=26)
        .encode(
            x=alt.X(
                "share:Q",
                stack="zero",
                title="share of the total variance",
                axis=alt.Axis(format="%"),
                scale=alt.Scale(domain=[0, 1]),
            ),
            color=alt.Color(
                "level:N",
                scale=alt.Scale(
                    domain=["between classes (ICC)", "within classes"],
                    range=[OKABE_ITO["vermillion"], OKABE_ITO["sky"]],
                ),
                legend=alt.Legend(title=None, orient="bottom"),
            ),
            order="k:Q",
        )
        .properties(width=WIDTH, height=40)
    )
    text = _text_lines(
        "'ICC = σ²ᵤ₀ / (σ²ᵤ₀ + σ²ₑ) = ' + format(icc, '.2f')",
        "'total variance σ²ᵤ₀ + σ²ₑ = ' + format(tau00 + sigma2, '.2f')",
    )
    chart = (
        alt.vconcat(text, plot, shares, spacing=8)
        .add_params(t, s, icc)
        .resolve_scale(color="independent")
    )
    return _finish(
        chart,
        f"Parallel regression lines of {n_classes} simulated classes with their pupils as "
        "dots, and a bar split into the between-class and within-class shares of the "
        "variance. The class-level variance slider spreads the lines apart; the "
        "pupil-level variance slider scatters the pupils around their line. The text "
        "gives the intraclass correlation.",
    )


# ------------------------------------------------------------------ chapter 4


def random_slopes_chart(
    *,
    gamma00: float,
    gamma10: float,
    tau00: float,
    tau11: float,
    tau01: float,
    sigma2: float,
    x_range=(-4.0, 4.0),
    n_classes: int = 15,
    seed: int = 4,
    x_title: str = "extraversion (centred)",
    y_title: str = "popularity",
):
    """Random slopes: the fan of class lines and Var(Y | x) as slope variance and covariance move.

    Sliders: sigma2_u1 and sigma_u01 (the covariance is held inside what the two
    variances allow, |sigma_u01| <= sqrt(sigma2_u0 sigma2_u1), and the text says
    when it is). Class lines use ``u0 = s0 z1``, ``u1 = (c / s0) z1 +
    sqrt(sigma2_u1 - c^2 / sigma2_u0) z2`` (a Cholesky factor of tau), so the
    class effects have exactly the chosen covariance matrix. Bottom:
    ``Var(Y | x) = sigma2_u0 + 2 sigma_u01 x + sigma2_u1 x^2 + sigma2_e``.
    """
    for name, v in (("gamma00", gamma00), ("gamma10", gamma10)):
        _number(name, v)
    _number("tau00", tau00, low=0.0, open_low=True)
    _number("sigma2", sigma2, low=0.0)
    _positive_int("n_classes", n_classes, low=2)
    rng = np.random.default_rng(seed)
    x0, x1 = x_range
    z1, z2 = rng.standard_normal(n_classes), rng.standard_normal(n_classes)
    lines = pd.DataFrame(
        {
            "class": np.repeat(np.arange(1, n_classes + 1), 2),
            "z1": np.repeat(z1, 2),
            "z2": np.repeat(z2, 2),
            "x": np.tile([x0, x1], n_classes),
        }
    )
    t11 = slider("tau11", "slope variance σ²ᵤ₁", value=tau11, low=0.0, high=0.2, step=0.005)
    t01 = slider("tau01", "covariance σᵤ₀₁", value=tau01, low=-0.5, high=0.5, step=0.01)
    cmax = _derived("cmax", f"sqrt({float(tau00)!r} * tau11)")
    c = _derived("c", "clamp(tau01, -cmax, cmax)")
    load = _derived("load", f"c / sqrt({float(tau00)!r})")
    rest = _derived("rest", f"sqrt(max(tau11 - c * c / {float(tau00)!r}, 0))")
    u0 = f"sqrt({float(tau00)!r}) * datum.z1"
    u1 = "(load * datum.z1 + rest * datum.z2)"
    fan = (
        alt.Chart(lines)
        .transform_calculate(y=f"{float(gamma00)!r} + {u0} + ({float(gamma10)!r} + {u1}) * datum.x")
        .mark_line(strokeWidth=1.8, opacity=0.85, color=OKABE_ITO["blue"])
        .encode(
            x=alt.X("x:Q", title=x_title),
            y=alt.Y("y:Q", title=y_title, scale=alt.Scale(zero=False)),
            detail="class:N",
        )
        .properties(width=WIDTH, height=260)
    )
    xs = pd.DataFrame({"x": np.round(np.linspace(x0, x1, 81), 4)})
    var_curve = (
        alt.Chart(xs)
        .transform_calculate(
            v=f"{float(tau00)!r} + 2 * c * datum.x + tau11 * datum.x * datum.x + {float(sigma2)!r}"
        )
        .mark_line(color=OKABE_ITO["vermillion"], strokeWidth=2.5)
        .encode(
            x=alt.X("x:Q", title=x_title),
            y=alt.Y("v:Q", title="Var(Y | x)", scale=alt.Scale(zero=True)),
        )
        .properties(width=WIDTH, height=180)
    )
    text = _text_lines(
        "'σᵤ₀₁ used = ' + format(c, '.3f') + ' (correlation ' + "
        "format(cmax > 0 ? c / cmax : 0, '.2f') + ')'",
        "abs(tau01) > cmax ? '(held at the largest value the variances allow)' : ''",
        "'Var(Y | x) is smallest at x = ' + (tau11 > 0 ? format(-c / tau11, '.2f') : 'every x')",
    )
    chart = alt.vconcat(text, fan, var_curve, spacing=8).add_params(t11, t01, cmax, c, load, rest)
    return _finish(
        chart,
        f"Regression lines of {n_classes} simulated classes, fanning out with the slope "
        "variance, and below them the variance of Y as a function of x. The slope-variance "
        "slider widens or narrows the fan and bends the variance curve; the covariance "
        "slider moves the point where the lines are closest together and the variance is "
        "smallest.",
    )


# ------------------------------------------------------------------ chapter 8


def power_budget_chart(
    *,
    rho: float = 0.1,
    effect: float = 0.3,
    budget: int = 5000,
    cost_ratio: int = 10,
    alpha: float = 0.05,
):
    """Power of a level-2 treatment effect against the group size, at a fixed budget.

    Sliders: the intraclass correlation rho, the effect (in SD of the outcome), the
    budget C and the cost of a group relative to a level-1 unit, c2 / c1 (c1 = 1).
    For each group size n the budget buys ``J = floor(C / (c2/c1 + n))`` groups;
    the curve is :func:`cluster_trial_power` of (J, n), and the point marks the
    optimal group size :func:`optimal_group_size` (rounded).
    """
    _number("alpha", alpha, low=0.0, high=1.0, open_low=True, open_high=True)
    r = slider("rho", "ICC ρ", value=rho, low=0.01, high=0.5, step=0.01)
    d = slider("delta", "effect δ (SD)", value=effect, low=0.05, high=1.0, step=0.05)
    c = slider("budget", "budget C", value=budget, low=500, high=20000, step=500)
    k = slider("ratio", "cost ratio c₂/c₁", value=cost_ratio, low=1, high=100, step=1)
    z = float(stats.norm.ppf(1 - alpha / 2))

    def power(n: str) -> str:
        se = f"sqrt(4 * (rho + (1 - rho) / {n}) / floor(budget / (ratio + {n})))"
        return f"cumulativeNormal(delta / {se} - {z!r}) + cumulativeNormal(-delta / {se} - {z!r})"

    nstar = _derived("nstar", "max(1, floor(sqrt(ratio * (1 - rho) / rho) + 0.5))")
    jstar = _derived("jstar", "floor(budget / (ratio + nstar))")
    pstar = _derived("pstar", f"jstar >= 2 ? {power('nstar')} : 0")
    grid = pd.DataFrame({"n": np.arange(1, 101)})
    x = alt.X("n:Q", title="group size n (J = floor(C / (c₂/c₁ + n)) groups)")
    y = alt.Y("power:Q", title="power", scale=alt.Scale(domain=[0, 1]), axis=alt.Axis(format="%"))
    curve = (
        alt.Chart(grid)
        .transform_calculate(J="floor(budget / (ratio + datum.n))")
        .transform_filter("datum.J >= 2")
        .transform_calculate(power=power("datum.n"))
        .mark_line(color=OKABE_ITO["blue"], strokeWidth=2.5)
        .encode(x=x, y=y)
    )
    point = (
        alt.Chart(_one_row())
        .transform_calculate(n="nstar", power="pstar")
        .transform_filter("jstar >= 2")
        .mark_point(filled=True, size=120, color=OKABE_ITO["vermillion"])
        .encode(x="n:Q", y="power:Q")
    )
    plot = alt.layer(curve, point).properties(width=WIDTH, height=240)
    lines = _text_lines(
        "'optimal group size n* = √((c₂/c₁)(1 − ρ)/ρ) ≈ ' + format(nstar, '.0f')",
        "'then J = ' + format(jstar, '.0f') + ' groups, power = ' + format(pstar, '.1%')",
    )
    chart = alt.vconcat(lines, plot, spacing=8).add_params(r, d, c, k, nstar, jstar, pstar)
    return _finish(
        chart,
        "Line chart: the power of a test of a level-2 treatment effect against the group "
        "size, when a fixed budget pays for the groups and their members, from the "
        "design-effect approximation. Sliders set the ICC, the effect size, the budget "
        "and the cost of a group relative to a member; a point marks the optimal group "
        "size, and the text gives it with the number of groups and the power.",
    )


# ------------------------------------------------------------------ chapter 5


def shrinkage_chart(
    *, n: int = 10, tau00: float = 0.45, sigma2: float = 0.55, distance: float = 1.5
):
    """The shrinkage explorer: where a class's empirical Bayes estimate lands.

    Sliders: class size n_j, sigma2_u0, sigma2_e and the distance of the class's
    own mean from the overall mean. Shown: the reliability
    ``lambda_j = sigma2_u0 / (sigma2_u0 + sigma2_e / n_j)``, the overall mean (0),
    the class's own mean, its EB estimate ``lambda_j * distance`` and the pull;
    below, lambda_j against n_j for the chosen variances with n_j marked.
    """
    nj = slider("n_j", "class size nⱼ", value=n, low=1, high=100, step=1)
    t = slider("tau00", "σ²ᵤ₀ (between classes)", value=tau00, low=0.01, high=2.0, step=0.01)
    s = slider("sigma2", "σ²ₑ (within classes)", value=sigma2, low=0.01, high=3.0, step=0.01)
    d = slider("dist", "own mean − overall mean", value=distance, low=-3.0, high=3.0, step=0.1)
    lam = _derived("lam", "tau00 / (tau00 + sigma2 / n_j)")
    marks = pd.DataFrame(
        {
            "what": ["overall mean", "class's own mean", "EB estimate"],
            "k": [0, 1, 2],
        }
    )
    colour = alt.Color(
        "what:N",
        scale=alt.Scale(
            domain=["overall mean", "class's own mean", "EB estimate"],
            range=["#000000", OKABE_ITO["vermillion"], OKABE_ITO["blue"]],
        ),
        legend=alt.Legend(title=None, orient="bottom"),
    )
    xscale = alt.Scale(domain=[-3.2, 3.2], nice=False)
    pts = (
        alt.Chart(marks)
        .transform_calculate(pos="datum.k == 0 ? 0 : (datum.k == 1 ? dist : lam * dist)")
        .mark_point(filled=True, size=160, opacity=1)
        .encode(
            x=alt.X(
                "pos:Q",
                title="position (overall mean = 0)",
                scale=xscale,
                axis=alt.Axis(values=list(range(-3, 4))),
            ),
            y=alt.value(40),
            color=colour,
            shape=alt.Shape(
                "what:N",
                scale=alt.Scale(
                    domain=["overall mean", "class's own mean", "EB estimate"],
                    range=["square", "circle", "circle"],
                ),
                legend=alt.Legend(title=None, orient="bottom"),
            ),
        )
    )
    arrow = (
        alt.Chart(_one_row())
        .transform_calculate(a="dist", b="lam * dist")
        .mark_rule(color=OKABE_ITO["blue"], strokeWidth=4, opacity=0.6)
        .encode(x="a:Q", x2="b:Q", y=alt.value(40))
    )
    track = alt.layer(arrow, pts).properties(width=WIDTH, height=60)
    sizes = pd.DataFrame({"size": np.arange(1, 101)})
    curve = (
        alt.Chart(sizes)
        .transform_calculate(lam_n="tau00 / (tau00 + sigma2 / datum.size)")
        .mark_line(color=OKABE_ITO["blue"], strokeWidth=2)
        .encode(
            x=alt.X("size:Q", title="class size nⱼ"),
            y=alt.Y("lam_n:Q", title="reliability λⱼ", scale=alt.Scale(domain=[0, 1])),
        )
    )
    here = (
        alt.Chart(_one_row())
        .transform_calculate(size="n_j", lam_n="lam")
        .mark_point(filled=True, size=110, color=OKABE_ITO["vermillion"])
        .encode(x="size:Q", y="lam_n:Q")
    )
    bottom = alt.layer(curve, here).properties(width=WIDTH, height=170)
    text = _text_lines(
        "'λⱼ = σ²ᵤ₀ / (σ²ᵤ₀ + σ²ₑ / nⱼ) = ' + format(lam, '.3f')",
        "'EB estimate at ' + format(lam * dist, '+.2f') + ', pulled by ' + "
        "format((1 - lam) * dist, '+.2f')",
        "'(' + format(1 - lam, '.0%') + ' of the way to the overall mean)'",
    )
    chart = alt.vconcat(text, track, bottom, spacing=8).add_params(nj, t, s, d, lam)
    return _finish(
        chart,
        "The shrinkage explorer. A horizontal track shows the overall mean (black square), "
        "a class's own mean (vermillion) and its empirical Bayes estimate (blue), joined by "
        "the pull; below, the reliability λⱼ against class size. Sliders set the class "
        "size, the two variances and the distance of the class's own mean; the text gives "
        "λⱼ and the pull.",
    )


def pooling_chart(fit):
    """The classes of a random-intercept fit, from no pooling to complete pooling.

    Slider: the pooling strength ``p`` in [0, 1]; each class's estimate is
    ``gamma00 + lambda_j(p) (own_j - gamma00)`` with
    ``lambda_j(p) = (1 - p) n_j / ((1 - p) n_j + p nbar)``. At ``p = 0`` every class
    keeps its own mean, at ``p = 1`` all sit on gamma00, and at the fitted value
    ``p_hat = k / (nbar + k)``, ``k = sigma2 / sigma2_u0``, the estimates are the
    model's EB predictions (grey ticks mark them throughout).
    """
    from .shrinkage import shrinkage_table

    table = shrinkage_table(fit)  # validates: a random-intercept LmmFit
    tau00 = float(fit.tau.iloc[0, 0])
    if tau00 <= 0:
        raise ValueError("The fit has sigma2_u0 = 0 (complete pooling); nothing to slide.")
    if len(fit.fixed) != 1:
        raise ValueError(
            "pooling_chart needs the empty model 'y ~ 1 + (1 | group)': with predictors the "
            "classes are not pulled toward one overall mean."
        )
    g00 = float(fit.fixed["estimate"].iloc[0])
    n = table["n"].to_numpy(dtype=float)
    nbar = float(n.mean())
    k = fit.sigma2 / tau00
    p_hat = k / (nbar + k)
    start = round(p_hat, 2)
    data = pd.DataFrame(
        {
            "group": table.index.astype(str),
            "n": n,
            "own": g00 + table["own"].to_numpy(),
            "eb": g00 + table["eb"].to_numpy(),
        }
    )
    p = slider(
        "pool", "pooling (0 = none, 1 = complete)", value=start, low=0.0, high=1.0, step=0.01
    )
    lam = f"(1 - pool) * datum.n / ((1 - pool) * datum.n + pool * {nbar!r})"
    est = alt.Chart(data).transform_calculate(
        pooled=f"{g00!r} + {lam} * (datum.own - {g00!r})", top="1", bottom="0"
    )
    lo, hi = float(data["own"].min()), float(data["own"].max())
    pad = 0.05 * (hi - lo)
    x = alt.X(
        "own:Q",
        title="mean of the class",
        scale=alt.Scale(domain=[round(lo - pad, 1), round(hi + pad, 1)]),
    )
    yscale = alt.Scale(domain=[-0.3, 1.3])
    links = est.mark_rule(color=OKABE_ITO["sky"], strokeWidth=0.8).encode(
        x=x, x2="pooled:Q", y=alt.Y("top:Q", scale=yscale, axis=None), y2="bottom:Q"
    )
    own_pts = est.mark_circle(size=26, color=OKABE_ITO["vermillion"]).encode(x="own:Q", y="top:Q")
    fitted = (
        alt.Chart(data)
        .mark_tick(color="#777777", thickness=1.5, size=18)
        .encode(x="eb:Q", y=alt.datum(-0.16))
    )
    pooled_pts = est.mark_circle(size=26, color=OKABE_ITO["blue"]).encode(
        x="pooled:Q",
        y="bottom:Q",
        tooltip=[
            alt.Tooltip("group:N", title="class"),
            alt.Tooltip("n:Q", title="pupils"),
            alt.Tooltip("own:Q", format=".2f", title="own mean"),
            alt.Tooltip("pooled:Q", format=".2f", title="estimate"),
        ],
    )
    labels = (
        alt.Chart(pd.DataFrame({"y": [1, 0], "t": ["own means", "estimates"]}))
        .mark_text(align="right", dx=-6, fontSize=12, color=TEXT)
        .encode(x=alt.value(0), y=alt.Y("y:Q", scale=yscale), text="t:N")
    )
    plot = alt.layer(links, fitted, own_pts, pooled_pts, labels).properties(width=WIDTH, height=220)
    text = _text_lines(
        f"'pooling ' + format(pool, '.2f') + '; the fitted model: {p_hat:.3f}'",
        "'(grey ticks: the fitted model’s predictions)'",
    )
    chart = alt.vconcat(text, plot, spacing=8).add_params(p)
    return _finish(
        chart,
        f"The {len(data)} classes as two rows of dots: each class's own mean (top) and its "
        "estimate (bottom), joined by a line. The pooling slider moves the estimates from "
        "the own means (0, no pooling) to the overall mean (1, complete pooling); grey ticks "
        "mark the fitted model's empirical Bayes predictions, reached at the fitted pooling.",
    )


# ------------------------------------------------------------------ chapter 9

NEWTON_STEPS = 30  # unrolled Newton steps of the conditional mode (in Python and in the spec)
NEWTON_CLAMP = 2.0  # largest step on the log-odds scale; keeps the iteration from overshooting


def _newton_step(u: str, y: str, n: str, gamma00: str, tau: str) -> str:
    """One Newton step for the mode of y (g + u) - n log(1 + e^(g + u)) - u² / (2 tau)."""
    p = f"(1 / (1 + exp(-({gamma00} + {u}))))"
    grad = f"({y} - {n} * {p} - {u} / {tau})"
    info = f"({n} * {p} * (1 - {p}) + 1 / {tau})"
    return f"{u} + clamp({grad} / {info}, -{NEWTON_CLAMP}, {NEWTON_CLAMP})"


def eb_logit_mode(n, y, *, gamma00: float, tau: float) -> np.ndarray:
    """Conditional mode of a group's random intercept in a binomial-logit GLMM.

    For a group with ``y`` successes in ``n`` trials, overall log-odds ``gamma00``
    and random-intercept variance ``tau`` (logit scale), the mode ``u`` maximises
    ``y (gamma00 + u) - n log(1 + exp(gamma00 + u)) - u**2 / (2 tau)``, the
    penalised log-likelihood that PIRLS maximises for each group. It is found by
    the same fixed number of Newton steps (each at most 2 on the log-odds scale)
    that :func:`log_odds_shrinkage_chart` writes into its spec. The group's empirical
    Bayes log-odds is ``gamma00 + u``.
    """
    _number("gamma00", gamma00)
    _number("tau", tau, low=0.0, open_low=True)
    nn, yy = np.broadcast_arrays(np.asarray(n), np.asarray(y))
    if not (np.issubdtype(nn.dtype, np.integer) and np.issubdtype(yy.dtype, np.integer)):
        raise TypeError("n and y must be whole numbers (counts of trials and successes).")
    if (nn < 1).any() or (yy < 0).any() or (yy > nn).any():
        raise ValueError("need n >= 1 and 0 <= y <= n for every group.")
    nn, yy = nn.astype(float), yy.astype(float)
    u = np.zeros_like(nn)
    for _ in range(NEWTON_STEPS):
        p = 1 / (1 + np.exp(-(gamma00 + u)))
        step = (yy - nn * p - u / tau) / (nn * p * (1 - p) + 1 / tau)
        u = u + np.clip(step, -NEWTON_CLAMP, NEWTON_CLAMP)
    return u


def log_odds_shrinkage_chart(*, gamma00: float, tau: float, n: int = 10, y: int = 0):
    """Empirical Bayes log-odds of one group as its size and count of successes vary.

    Sliders: the group size n, its successes y (bounded by n: a value above n counts
    as n), the random-intercept variance tau and the overall log-odds gamma00 (start
    at the fitted values). Shown on the log-odds scale: the overall mean, the group's
    own log-odds log(y / (n - y)) -- infinite at y = 0 or y = n, drawn as an arrow at
    the edge labelled -inf / +inf -- and the EB estimate gamma00 + u, ``u`` the
    conditional mode (:func:`eb_logit_mode`, computed in the browser by the same
    Newton steps). Below, for every y from 0 to n, the EB probability against the own
    proportion y / n, between no pooling (the diagonal) and the typical group's
    probability (dashed: inverse logit of gamma00, the group with u = 0).
    """
    _number("gamma00", gamma00, low=-3.0, high=3.0)
    _number("tau", tau, low=0.01, high=3.0)
    _positive_int("n", n)
    _positive_int("y", y, low=0)
    if n > 100 or y > n:
        raise ValueError(f"need 1 <= n <= 100 and 0 <= y <= n, not n={n}, y={y}.")
    nb = slider("nb", "group size n", value=n, low=1, high=100, step=1)
    ys = slider("ys", "successes y (at most n)", value=y, low=0, high=100, step=1)
    t = slider("tau", "σ²ᵤ₀ (logit scale)", value=tau, low=0.01, high=3.0, step=0.01)
    g = slider("g00", "overall log-odds γ₀₀", value=gamma00, low=-3.0, high=3.0, step=0.01)
    derived = [_derived("yb", "min(ys, nb)"), _derived("u0", "0")]
    for k in range(1, NEWTON_STEPS + 1):
        derived.append(_derived(f"u{k}", _newton_step(f"u{k - 1}", "yb", "nb", "g00", "tau")))
    u = f"u{NEWTON_STEPS}"
    derived += [
        _derived("eb", f"g00 + {u}"),
        _derived(
            "own", "yb == 0 ? -1e9 : (yb == nb ? 1e9 : log(max(yb, 0.5) / max(nb - yb, 0.5)))"
        ),
    ]
    edge = 6.0
    what = ["overall log-odds γ₀₀", "group's own log-odds", "EB estimate"]
    colours = ["#000000", OKABE_ITO["vermillion"], OKABE_ITO["blue"]]
    colour = alt.Color(
        "what:N",
        scale=alt.Scale(domain=what, range=colours),
        legend=alt.Legend(title=None, orient="bottom"),
    )
    marks = pd.DataFrame({"what": what, "k": [0, 1, 2]})
    xscale = alt.Scale(domain=[-edge - 0.3, edge + 0.3], nice=False)
    located = alt.Chart(marks).transform_calculate(
        pos=f"datum.k == 0 ? g00 : (datum.k == 1 ? clamp(own, -{edge}, {edge}) : eb)",
        shape="datum.k == 1 && abs(own) > 1e8 ? (own < 0 ? 'triangle-left' : "
        "'triangle-right') : (datum.k == 0 ? 'square' : 'circle')",
    )
    pts = located.mark_point(filled=True, size=170, opacity=1).encode(
        x=alt.X(
            "pos:Q",
            title="log-odds",
            scale=xscale,
            axis=alt.Axis(values=list(range(-6, 7, 2))),
        ),
        y=alt.value(40),
        color=colour,
        shape=alt.Shape("shape:N", scale=None),
    )
    infinite = (
        alt.Chart(_one_row())
        .transform_filter("abs(own) > 1e8")
        .transform_calculate(pos=f"own < 0 ? -{edge} : {edge}", t="own < 0 ? '−∞' : '+∞'")
        .mark_text(fontSize=15, dy=-18, color=OKABE_ITO["vermillion"])
        .encode(x=alt.X("pos:Q", scale=xscale), y=alt.value(40), text="t:N")
    )
    pull = (
        alt.Chart(_one_row())
        .transform_calculate(a=f"clamp(own, -{edge}, {edge})", b="eb")
        .mark_rule(color=OKABE_ITO["blue"], strokeWidth=4, opacity=0.5)
        .encode(x="a:Q", x2="b:Q", y=alt.value(40))
    )
    track = alt.layer(pull, pts, infinite).properties(width=WIDTH, height=60)

    counts = alt.Chart(pd.DataFrame({"k": np.arange(0, 101)})).transform_filter("datum.k <= nb")
    counts = counts.transform_calculate(v0="0")
    for k in range(1, NEWTON_STEPS + 1):
        step = _newton_step(f"datum.v{k - 1}", "datum.k", "nb", "g00", "tau")
        counts = counts.transform_calculate(**{f"v{k}": step})
    counts = counts.transform_calculate(
        prop="datum.k / nb",
        eb_p=f"1 / (1 + exp(-(g00 + datum.v{NEWTON_STEPS})))",
        here="datum.k == yb",
    )
    pscale = alt.Scale(domain=[0, 1])
    # every dot is an EB estimate (the legend's blue); the current count y is enlarged
    # and outlined, not recoloured (vermillion is the legend's own log-odds)
    dots = counts.mark_point(filled=True, color=OKABE_ITO["blue"]).encode(
        x=alt.X("prop:Q", title="own proportion y / n (no pooling)", scale=pscale),
        y=alt.Y("eb_p:Q", title="EB probability", scale=pscale),
        size=alt.condition("datum.here", alt.value(150), alt.value(30)),
        stroke=alt.condition("datum.here", alt.value("#000000"), alt.value(OKABE_ITO["blue"])),
        strokeWidth=alt.condition("datum.here", alt.value(2), alt.value(0)),
    )
    ends = pd.DataFrame({"a": [0.0, 1.0]})
    diagonal = (
        alt.Chart(ends)
        .mark_line(color="#777777", strokeDash=[4, 3])
        .encode(x=alt.X("a:Q", scale=pscale), y=alt.Y("a:Q", scale=pscale))
    )
    overall = (
        alt.Chart(_one_row())
        .transform_calculate(p="1 / (1 + exp(-g00))")
        .mark_rule(color="#000000", strokeDash=[2, 2])
        .encode(y=alt.Y("p:Q", scale=pscale))
    )
    bottom = alt.layer(diagonal, overall, dots).properties(width=WIDTH, height=200)
    text = _text_lines(
        "format(yb, '.0f') + ' of ' + format(nb, '.0f') + ': own log-odds ' + "
        "(yb == 0 ? '−∞ (no estimate)' : (yb == nb ? '+∞ (no estimate)' : "
        "format(own, '+.2f')))",
        "'EB log-odds ' + format(eb, '+.2f') + ', EB probability = ' + "
        "format(1 / (1 + exp(-eb)), '.3f')",
        "'typical group: log-odds ' + format(g00, '+.2f') + ', probability ' + "
        "format(1 / (1 + exp(-g00)), '.3f')",
    )
    chart = alt.vconcat(text, track, bottom, spacing=8).add_params(nb, ys, t, g, *derived)
    return _finish(
        chart,
        "Shrinkage of a group's log-odds. A horizontal log-odds track shows the overall "
        "log-odds (black square), the group's own log-odds y out of n (vermillion; an "
        "arrow at the edge marked minus or plus infinity when y is 0 or n) and its "
        "empirical Bayes estimate (blue), joined by the pull; below, for every count y "
        "from 0 to n, the EB probability against the own proportion, between the "
        "diagonal of no pooling and the dashed line of a typical group's probability "
        "(inverse logit of the overall log-odds; the current count is outlined). Sliders "
        "set the group size n, the successes y (at most n), the variance of the "
        "intercepts and the overall log-odds; the text gives the estimates.",
    )


# ------------------------------------------------------------------ display


LAB_MIME = "application/vnd.vegalite.v5+json"


def spec_for_lab(spec: dict) -> dict:
    """The same spec labelled for the Vega-Lite 5 renderer that JupyterLab 4 ships."""
    out = dict(spec)
    out["$schema"] = "https://vega.github.io/schema/vega-lite/v5.json"
    return out


def chart_html(spec: dict) -> str:
    """The page HTML of a chart: its spec as JSON, a view to draw in, a text fallback."""
    description = spec.get("description", "Interactive chart")
    payload = json.dumps(spec, separators=(",", ":")).replace("</", "<\\/")
    return (
        '<div class="book-vega">'
        f'<script type="application/json" class="book-vega-spec">{payload}</script>'
        '<div class="book-vega-view"></div>'
        f'<p class="book-vega-fallback">{html.escape(description)} '
        "(This figure is interactive: it needs JavaScript.)</p>"
        "</div>"
    )


def book_renderer(spec: dict, **metadata) -> dict:
    """Altair renderer: the Vega-Lite mime bundle (JupyterLab draws it) and text."""
    return {
        LAB_MIME: spec_for_lab(spec),
        "text/plain": spec.get("description", "Interactive chart"),
    }


class MystNbLabSpec:
    """MyST-NB mime plugin (entry point ``myst_nb.mime_renderers``): on a book page
    (HTML builders) a chart's Vega-Lite output becomes the page HTML of
    :func:`chart_html`, with the spec's own Vega-Lite schema restored."""

    mime_priority_overrides = tuple((b, LAB_MIME, 5) for b in ("html", "singlehtml", "dirhtml"))

    @staticmethod
    def handle_mime(renderer, data, inline):
        if data.mime_type != LAB_MIME or inline:
            return None
        from docutils import nodes

        content = data.content
        spec = dict(json.loads(content) if isinstance(content, str | bytes) else content)
        spec["$schema"] = alt.SCHEMA_URL
        return [nodes.raw(text=chart_html(spec), format="html", classes=["output", "text_html"])]


alt.renderers.register("book", book_renderer)
if alt.renderers.active == "default":
    alt.renderers.enable("book")
