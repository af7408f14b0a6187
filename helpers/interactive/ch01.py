"""Chapter 1 (complete pooling): the design effect and the coverage of a naive interval."""

from __future__ import annotations

import altair as alt
import numpy as np
import pandas as pd
from scipy import stats

from ..plots import OKABE_ITO
from ._shared import (
    WIDTH,
    Z975,
    check_number,
    check_positive_int,
    derived_param,
    finish_chart,
    one_row_data,
    slider,
    text_lines,
)

__all__ = ["design_effect_chart", "naive_coverage"]


def naive_coverage(deff: float, *, level: float = 0.95) -> float:
    """True coverage of an interval that ignores clustering, given the design effect.

    The naive interval uses the simple-random-sample standard error, which is too
    small by the factor sqrt(deff); it covers the true mean with probability
    ``2 * Phi(z / sqrt(deff)) - 1``, ``z`` the normal quantile of ``level``.
    """
    check_number("deff", deff, low=1.0)
    check_number("level", level, low=0.0, high=1.0, open_low=True, open_high=True)
    z = stats.norm.ppf(0.5 + level / 2)
    return float(2 * stats.norm.cdf(z / np.sqrt(deff)) - 1)


def design_effect_chart(*, rho: float = 0.1, group_size: int = 20, n_total: int = 2000):
    """ICC and design effect: the true coverage of a naive 95% interval.

    Sliders: the intraclass correlation rho and the group size m. Shown: the
    design effect 1 + (m - 1) rho, the effective sample size n_total / deff, and the
    probability that the interval mean +/- 1.96 SE_naive covers the true mean, as a
    curve over rho for the chosen m with the chosen rho marked.
    """
    check_positive_int("n_total", n_total, low=2)
    r = slider("rho", "ICC ρ", value=rho, low=0.0, high=0.5, step=0.01)
    m = slider("m", "group size m", value=group_size, low=2, high=100, step=1)
    deff = derived_param("deff", "1 + (m - 1) * rho")
    neff = derived_param("neff", f"{n_total} / deff")
    cover = derived_param("cover", f"2 * cumulativeNormal({Z975!r} / sqrt(deff)) - 1")
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
        alt.Chart(one_row_data())
        .mark_rule(color="#555555", strokeDash=[4, 4])
        .encode(y=alt.datum(0.95))
    )
    point = (
        alt.Chart(one_row_data())
        .transform_calculate(r="rho", coverage="cover")
        .mark_point(filled=True, size=120, color=OKABE_ITO["vermillion"])
        .encode(x="r:Q", y="coverage:Q")
    )
    plot = alt.layer(curve, nominal, point).properties(width=WIDTH, height=260)
    lines = text_lines(
        "'design effect 1 + (m − 1)ρ = ' + format(deff, '.2f')",
        f"'effective sample size = ' + format(neff, ',.0f') + ' of {n_total:,}'",
        "'true coverage of a nominal 95% interval = ' + format(cover, '.1%')",
    )
    chart = alt.vconcat(lines, plot, spacing=8).add_params(r, m, deff, neff, cover)
    return finish_chart(
        chart,
        "Line chart: the true coverage of a naive 95% confidence interval for a mean, "
        "against the intraclass correlation, for the chosen group size. The ICC slider "
        "moves the marked point; the group-size slider changes the curve. Text above "
        "gives the design effect and the effective sample size.",
    )
