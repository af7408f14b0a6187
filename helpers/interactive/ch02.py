"""Chapter 2 (no pooling): the funnel of class means estimated one class at a time."""

from __future__ import annotations

import altair as alt
import numpy as np
import pandas as pd

from ..plots import OKABE_ITO
from ._shared import (
    WIDTH,
    Z975,
    check_number,
    check_positive_int,
    derived_param,
    finish_chart,
    slider,
    text_lines,
)

__all__ = ["no_pooling_funnel_chart"]


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
    check_number("grand_mean", grand_mean)
    check_number("tau00", tau00, low=0.0)
    check_number("sigma2", sigma2, low=0.0, open_low=True)
    check_positive_int("n_groups", n_groups, low=2)
    rng = np.random.default_rng(seed)
    truth = grand_mean + np.sqrt(tau00) * rng.standard_normal(n_groups)
    classes = pd.DataFrame(
        {"class": np.arange(1, n_groups + 1), "truth": truth, "e": rng.standard_normal(n_groups)}
    )
    n = slider("n", "pupils per class n", value=group_size, low=2, high=100, step=1)
    se = derived_param("se", f"sqrt({float(sigma2)!r} / n)")
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
    text = text_lines(
        "'standard error of a class mean √(σ²ₑ/n) = ' + format(se, '.3f')",
        "'95% of the estimates lie within ±' + format(1.96 * se, '.2f')",
    )
    chart = alt.vconcat(text, top, bottom, spacing=8).add_params(n, se)
    return finish_chart(
        chart,
        f"Two scatter plots of {n_groups} simulated classes. Top: each class's separate "
        "mean against its true mean, with the identity line. Bottom: the error of each "
        "separate mean at the chosen class size, inside the funnel of ±1.96 standard "
        "errors over class sizes 2 to 100. The slider sets the number of pupils per "
        "class; smaller classes scatter further from the line.",
    )
