"""Chapter 4 (random slopes): Var(Y | x) under a random slope; simple slopes and their region."""

from __future__ import annotations

import altair as alt
import numpy as np
import pandas as pd
from scipy import stats

from .._fit import check_fit
from ..ddf import slope_rows
from ..plots import OKABE_ITO
from ._shared import (
    FONT,
    TEXT,
    WIDTH,
    check_number,
    check_positive_int,
    derived_param,
    finish_chart,
    slider,
    text_lines,
)

__all__ = ["random_slopes_chart", "simple_slope_chart", "var_y_given_x"]


def var_y_given_x(x, tau, sigma2: float) -> np.ndarray:
    """Var(Y | X = x) in a random-slope model: [1, x] tau [1, x]' + sigma2.

    ``tau`` is the 2 x 2 covariance matrix of (u0, u1); ``x`` a number or array.
    """
    t = np.asarray(tau, dtype=float)
    if t.shape != (2, 2) or not np.allclose(t, t.T):
        raise ValueError("tau must be a symmetric 2 x 2 covariance matrix of (u0, u1).")
    check_number("sigma2", sigma2, low=0.0)
    xs = np.asarray(x, dtype=float)
    v = np.stack([np.ones_like(xs), xs], axis=-1)
    return np.einsum("...i,ij,...j->...", v, t, v) + sigma2


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
        check_number(name, v)
    check_number("tau00", tau00, low=0.0, open_low=True)
    check_number("sigma2", sigma2, low=0.0)
    check_positive_int("n_classes", n_classes, low=2)
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
    cmax = derived_param("cmax", f"sqrt({float(tau00)!r} * tau11)")
    c = derived_param("c", "clamp(tau01, -cmax, cmax)")
    load = derived_param("load", f"c / sqrt({float(tau00)!r})")
    rest = derived_param("rest", f"sqrt(max(tau11 - c * c / {float(tau00)!r}, 0))")
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
    text = text_lines(
        "'σᵤ₀₁ used = ' + format(c, '.3f') + ' (correlation ' + "
        "format(cmax > 0 ? c / cmax : 0, '.2f') + ')'",
        "abs(tau01) > cmax ? '(held at the largest value the variances allow)' : ''",
        "'Var(Y | x) is smallest at x = ' + (tau11 > 0 ? format(-c / tau11, '.2f') : 'every x')",
    )
    chart = alt.vconcat(text, fan, var_curve, spacing=8).add_params(t11, t01, cmax, c, load, rest)
    return finish_chart(
        chart,
        f"Regression lines of {n_classes} simulated classes, fanning out with the slope "
        "variance, and below them the variance of Y as a function of x. The slope-variance "
        "slider widens or narrows the fan and bends the variance curve; the covariance "
        "slider moves the point where the lines are closest together and the variance is "
        "smallest.",
    )


def _grid(low: float, high: float, step: float) -> np.ndarray:
    for name, v in (("low", low), ("high", high)):
        check_number(name, v)
    check_number("step", step, low=0.0, open_low=True)
    k = (high - low) / step
    if not high > low or abs(k - round(k)) > 1e-9 or round(k) > 400:
        raise ValueError(
            f"The moderator's slider needs low < high with (high - low) / step a whole number "
            f"of at most 400 steps; got low={low}, high={high}, step={step}."
        )
    return np.round(low + step * np.arange(round(k) + 1), 10)


def simple_slope_chart(
    fit,
    var: str,
    moderator: str,
    *,
    start: float,
    low: float,
    high: float,
    step: float,
    hold: dict | None = None,
    ddf: str | None = None,
    level: float = 0.95,
    var_title: str | None = None,
    moderator_title: str | None = None,
    y_title: str = "predicted outcome",
):
    """The simple slope of ``var`` as the moderator moves, with its band and J-N region.

    One slider sets the moderator ``z`` (e.g. the class-level variable of a
    cross-level interaction) on the grid ``low, low + step, ..., high``.

    Top: the simple slope ``l(z)'beta = l0'beta + z l1'beta`` of ``var`` against ``z``
    (the rows ``l(z)`` of :meth:`MixedFit.slopes`) with its pointwise ``level``
    confidence band ``estimate +- t(df(z)) se(z)``, ``se(z)^2 = l(z)' V l(z)``, V the
    covariance of the fixed effects; the observed range of the moderator (grey), the
    Johnson-Neyman boundaries of :meth:`MixedFit.johnson_neyman` that fall on the
    slider's range (dashed), and the slope at the slider's value (dot and interval,
    numbers in the text). Estimate and standard error are closed forms in the spec;
    the critical value ``t(df(z))`` is precomputed on the slider's grid (the df of
    ``ddf``, Satterthwaite by default, depend on z).

    Bottom: the fitted line ``x'beta`` against ``var`` at the slider's ``z`` with its
    ``level`` confidence band for the mean (normal quantile, as ``fit.predict(new,
    include_random=False, interval="confidence")``). Predictors other than ``var``
    and the moderator are held at the values in ``hold`` (default: their mean).
    """
    check_fit(fit, "fit")
    zs = _grid(low, high, step)
    check_number("start", start, low=low, high=high)
    k = (start - low) / step
    if abs(k - round(k)) > 1e-9:
        raise ValueError(f"start={start} is not on the slider's grid ({low} + k * {step}).")
    check_number("level", level, low=0.0, high=1.0, open_low=True, open_high=True)
    if ddf is not None and str(ddf).lower() == "kenward-roger":
        raise ValueError(
            "The chart's band uses the covariance of the fixed effects in fit.vcov, which "
            "Kenward-Roger's method adjusts: use ddf='satterthwaite' or 'z'."
        )
    slopes = fit.slopes(var, at={moderator: list(zs)}, ddf=ddf, level=level)  # validates
    jn = fit.johnson_neyman(var, moderator, ddf=ddf, alpha=1 - level)  # needs var:moderator
    names = list(fit.fixed_names)
    if moderator not in names:
        raise ValueError(
            f"The moderator {moderator!r} must be a column of the fixed part "
            f"({', '.join(names)}), so that the fitted line can be drawn at its value."
        )
    if hold is None:
        hold = {}
    if not isinstance(hold, dict):
        raise TypeError(f"hold must be a dict of predictor values, not {type(hold).__name__}.")
    for key, v in hold.items():
        check_number(f"hold[{key!r}]", v)
        if key in (var, moderator) or not any(key in n.split(":") for n in names):
            raise ValueError(
                f"hold names {key!r}, which is not one of the other predictors of the fixed "
                f"part ({', '.join(names)})."
            )
    X = np.asarray(fit.X, dtype=float)

    def held(c: str) -> float:
        if c in hold:
            return float(hold[c])
        if c in names:
            return float(np.mean(X[:, names.index(c)]))
        raise ValueError(
            f"The fitted line needs a value of {c!r}: give it in hold=, e.g. hold={{{c!r}: 0}}."
        )

    def row(x, z) -> tuple[list[str], np.ndarray]:
        """The row x' of the fixed part: as Vega expressions (x, z given) and as numbers."""
        exprs, values = [], []
        for n in names:
            e, v = [], 1.0
            for c in n.split(":"):
                if c == "Intercept":
                    e.append("1")
                elif c == var:
                    e.append(x if isinstance(x, str) else repr(float(x)))
                    v *= 0.0 if isinstance(x, str) else float(x)
                elif c == moderator:
                    e.append(z if isinstance(z, str) else repr(float(z)))
                    v *= 0.0 if isinstance(z, str) else float(z)
                else:
                    e.append(repr(held(c)))
                    v *= held(c)
            exprs.append(" * ".join(e))
            values.append(v)
        return exprs, np.array(values)

    beta = np.asarray(fit.beta, dtype=float)
    V = fit.vcov.to_numpy(dtype=float)
    comps, _ = row("datum.x", "mod")
    pred = " + ".join(f"{float(b)!r} * {c}" for b, c in zip(beta, comps, strict=True))
    p = len(names)
    var_pred = " + ".join(
        f"{float(V[a, b])!r} * {comps[a]} * {comps[b]}" for a in range(p) for b in range(p)
    )
    # The slope is l(z)'beta with l(z) = l0 + z l1 (linear in z: johnson_neyman checked)
    L, _ = slope_rows(fit, var, {moderator: [0.0, 1.0]})
    L0, L1 = L[0], L[1] - L[0]
    e0, e1 = float(L0 @ beta), float(L1 @ beta)
    v00, v01, v11 = float(L0 @ V @ L0), float(L0 @ V @ L1), float(L1 @ V @ L1)
    df = slopes["df"].to_numpy(dtype=float)
    grid = pd.DataFrame({"z": zs, "df": df, "tcrit": stats.t.ppf(0.5 + level / 2, df)})
    calc = {
        "estimate": f"{e0!r} + {e1!r} * datum.z",
        "se": f"sqrt({v00!r} + 2 * {v01!r} * datum.z + {v11!r} * datum.z * datum.z)",
        "lower": "datum.estimate - datum.tcrit * datum.se",
        "upper": "datum.estimate + datum.tcrit * datum.se",
    }
    vt, mt = var_title or var, moderator_title or moderator
    mod = slider("mod", mt, value=float(start), low=low, high=high, step=step)
    pct = f"{100 * level:g}%"
    zcol = X[:, names.index(moderator)]
    z_scale = alt.Scale(domain=[float(low), float(high)], nice=False)
    base = alt.Chart(grid).transform_calculate(**calc)
    observed = (
        alt.Chart(pd.DataFrame({"a": [float(zcol.min())], "b": [float(zcol.max())]}))
        .mark_rect(color="#e6e6e6")
        .encode(x=alt.X("a:Q", title=mt, scale=z_scale), x2="b:Q")
    )
    band = base.mark_area(color=OKABE_ITO["sky"], opacity=0.6).encode(
        x=alt.X("z:Q", scale=z_scale),
        y=alt.Y("lower:Q", title=f"slope of {vt}"),
        y2="upper:Q",
    )
    line = base.mark_line(color=OKABE_ITO["blue"], strokeWidth=2.5).encode(x="z:Q", y="estimate:Q")
    zero = alt.Chart(pd.DataFrame({"y": [0.0]})).mark_rule(color=TEXT).encode(y="y:Q")
    layers = [observed, band, zero, line]
    inside = [b for b in jn.bounds if low <= b <= high]
    if inside:
        layers.append(
            alt.Chart(pd.DataFrame({"z": inside}))
            .mark_rule(color=OKABE_ITO["vermillion"], strokeDash=[6, 4], strokeWidth=2)
            .encode(x="z:Q")
        )
    picked = base.transform_filter(f"abs(datum.z - mod) < {step / 2!r}")
    layers += [
        picked.mark_rule(color=TEXT, strokeWidth=2.5).encode(x="z:Q", y="lower:Q", y2="upper:Q"),
        picked.mark_point(filled=True, size=90, color=TEXT, opacity=1).encode(
            x="z:Q", y="estimate:Q"
        ),
    ]
    top = alt.layer(*layers).properties(width=WIDTH, height=220)

    x0, x1 = float(X[:, names.index(var)].min()), float(X[:, names.index(var)].max())
    zq = float(stats.norm.ppf(0.5 + level / 2))
    ends = []  # a y range that holds the band at every slider value: the line visibly turns
    for z in (zs[0], zs[-1]):
        for x in (x0, x1):
            c = row(x, z)[1]
            m, s = float(c @ beta), float(np.sqrt(c @ V @ c))
            ends += [m - zq * s, m + zq * s]
    pad = 0.05 * (max(ends) - min(ends))
    y_scale = alt.Scale(domain=[min(ends) - pad, max(ends) + pad], nice=False, zero=False)
    fline = alt.Chart(pd.DataFrame({"x": np.round(np.linspace(x0, x1, 37), 6)}))
    fline = fline.transform_calculate(
        fit=pred,
        fit_se=f"sqrt({var_pred})",
        fit_lower=f"datum.fit - {zq!r} * datum.fit_se",
        fit_upper=f"datum.fit + {zq!r} * datum.fit_se",
    )
    bottom = alt.layer(
        fline.mark_area(color=OKABE_ITO["sky"], opacity=0.6).encode(
            x=alt.X("x:Q", title=vt, scale=alt.Scale(domain=[x0, x1], nice=False)),
            y=alt.Y("fit_lower:Q", title=y_title, scale=y_scale),
            y2="fit_upper:Q",
        ),
        fline.mark_line(color=OKABE_ITO["blue"], strokeWidth=2.5).encode(x="x:Q", y="fit:Q"),
    ).properties(width=WIDTH, height=200)

    label = picked.transform_calculate(
        line1=f"'{moderator} = ' + format(datum.z, '.1f') + ': slope of {var} ' + "
        "format(datum.estimate, '.3f')",
        line2=f"'{pct} CI ' + format(datum.lower, '.3f') + ' to ' + format(datum.upper, '.3f')",
        line3="'t = ' + format(datum.estimate / datum.se, '.1f') + ' on ' + "
        "format(datum.df, '.1f') + ' df'",
    )
    lines = [
        label.mark_text(align="left", baseline="top", fontSize=FONT, color=TEXT)
        .encode(text=f"{key}:N", x=alt.value(0), y=alt.value(0))
        .properties(width=WIDTH, height=18)
        for key in ("line1", "line2", "line3")
    ]
    lo, hi = float(zcol.min()), float(zcol.max())
    jn_text = text_lines(*(f"'{t}'" for t in _jn_sentence(jn, var, moderator, lo, hi)))
    text = alt.vconcat(*lines, jn_text, spacing=2)
    chart = alt.vconcat(text, top, bottom, spacing=10).add_params(mod)
    return finish_chart(
        chart,
        f"Two panels. Top: the simple slope of {vt} against {mt}, a straight line with its "
        f"{pct} confidence band, a horizontal line at zero, the observed range of {mt} "
        "shaded grey and dashed vertical lines at the Johnson–Neyman boundaries that fall in "
        f"view; a dot with an interval marks the slope at the slider's {mt}. Bottom: the "
        f"{y_title} against {vt} at that {mt}, with its confidence band. Moving the slider "
        "moves the dot along the slope line and turns the fitted line; the text gives the "
        "slope, its interval, t and df.",
    )


def _jn_sentence(jn, var: str, mod: str, lo: float, hi: float) -> tuple[str, ...]:
    """Short lines (they fit a phone): where the slope differs from 0, the observed range."""
    where = {
        "everywhere": "for every {0}",
        "nowhere": "for no {0}",
        "inside": "for {1:.1f} < {0} < {2:.1f}",
        "outside": "for {0} < {1:.1f} or > {2:.1f}",
    }[jn.significant].format(mod, *jn.bounds)
    return (
        f"Johnson–Neyman (dashed), α = {jn.alpha:g}:",
        f"slope ≠ 0 {where}",
        f"observed {mod}: {lo:g} to {hi:g} (grey)",
    )
