"""Chapter 8 (sample size): the power of a cluster trial at a fixed budget."""

from __future__ import annotations

import altair as alt
import numpy as np
import pandas as pd
from scipy import stats

from ..plots import OKABE_ITO
from ._shared import (
    WIDTH,
    check_number,
    derived_param,
    finish_chart,
    one_row_data,
    slider,
    text_lines,
)

__all__ = ["cluster_trial_power", "optimal_group_size", "power_budget_chart"]


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
    check_number("n_groups", n_groups, low=2.0)
    check_number("group_size", group_size, low=1.0)
    check_number("icc", icc, low=0.0, high=1.0)
    check_number("effect", effect)
    check_number("alpha", alpha, low=0.0, high=1.0, open_low=True, open_high=True)
    z = stats.norm.ppf(1 - alpha / 2)
    se = np.sqrt(4 * (icc + (1 - icc) / group_size) / n_groups)
    return float(stats.norm.cdf(effect / se - z) + stats.norm.cdf(-effect / se - z))


def optimal_group_size(icc: float, cost_ratio: float) -> float:
    """Group size that minimises the variance of a level-2 effect at a fixed budget.

    With a cost ``c1`` per level-1 unit and ``c2`` per group, the budget
    ``C = J (c2 + n c1)`` is spent best on groups of size
    ``sqrt((c2 / c1) (1 - icc) / icc)`` (Snijders & Bosker 2012, ch. 11).
    """
    check_number("icc", icc, low=0.0, high=1.0, open_low=True, open_high=True)
    check_number("cost_ratio", cost_ratio, low=0.0, open_low=True)
    return float(np.sqrt(cost_ratio * (1 - icc) / icc))


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
    check_number("alpha", alpha, low=0.0, high=1.0, open_low=True, open_high=True)
    r = slider("rho", "ICC ρ", value=rho, low=0.01, high=0.5, step=0.01)
    d = slider("delta", "effect δ (SD)", value=effect, low=0.05, high=1.0, step=0.05)
    c = slider("budget", "budget C", value=budget, low=500, high=20000, step=500)
    k = slider("ratio", "cost ratio c₂/c₁", value=cost_ratio, low=1, high=100, step=1)
    z = float(stats.norm.ppf(1 - alpha / 2))

    def power(n: str) -> str:
        se = f"sqrt(4 * (rho + (1 - rho) / {n}) / floor(budget / (ratio + {n})))"
        return f"cumulativeNormal(delta / {se} - {z!r}) + cumulativeNormal(-delta / {se} - {z!r})"

    nstar = derived_param("nstar", "max(1, floor(sqrt(ratio * (1 - rho) / rho) + 0.5))")
    jstar = derived_param("jstar", "floor(budget / (ratio + nstar))")
    pstar = derived_param("pstar", f"jstar >= 2 ? {power('nstar')} : 0")
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
        alt.Chart(one_row_data())
        .transform_calculate(n="nstar", power="pstar")
        .transform_filter("jstar >= 2")
        .mark_point(filled=True, size=120, color=OKABE_ITO["vermillion"])
        .encode(x="n:Q", y="power:Q")
    )
    plot = alt.layer(curve, point).properties(width=WIDTH, height=240)
    lines = text_lines(
        "'optimal group size n* = √((c₂/c₁)(1 − ρ)/ρ) ≈ ' + format(nstar, '.0f')",
        "'then J = ' + format(jstar, '.0f') + ' groups, power = ' + format(pstar, '.1%')",
    )
    chart = alt.vconcat(lines, plot, spacing=8).add_params(r, d, c, k, nstar, jstar, pstar)
    return finish_chart(
        chart,
        "Line chart: the power of a test of a level-2 treatment effect against the group "
        "size, when a fixed budget pays for the groups and their members, from the "
        "design-effect approximation. Sliders set the ICC, the effect size, the budget "
        "and the cost of a group relative to a member; a point marks the optimal group "
        "size, and the text gives it with the number of groups and the power.",
    )
