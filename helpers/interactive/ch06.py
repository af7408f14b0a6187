"""Chapter 6 (within and between effects): the raw slope as a blend of the two."""

from __future__ import annotations

import altair as alt
import numpy as np
import pandas as pd

from ..plots import OKABE_ITO
from ._shared import (
    WIDTH,
    check_number,
    check_positive_int,
    derived_param,
    finish_chart,
    slider,
    text_lines,
)

__all__ = ["within_between_blend", "within_between_chart"]


def within_between_blend(
    *, gamma_w: float, gamma_b: float, icc_x: float, icc_y: float, n: float
) -> dict:
    """The random-intercept slope of a raw level-1 predictor as a blend, in large samples.

    Balanced groups of size ``n``; the predictor is its latent group mean plus a
    deviation, ``x_ij = xi_j + delta_ij``, with intraclass correlation ``icc_x``; the
    outcome has within effect ``gamma_w`` (of ``delta_ij``) and between effect
    ``gamma_b`` (of ``xi_j``). A random-intercept model with the raw ``x`` whose
    variance components have the residual intraclass correlation ``icc_y`` gives the
    generalised least squares slope ``(W b_W + B b_B) / (W + B)`` (chapter 6). As the
    number of groups grows, per group,

    * ``b_W -> gamma_w`` (the within slope is unbiased);
    * ``b_B -> lam gamma_b + (1 - lam) gamma_w``: the slope on the *observed* group
      means is pulled toward the within effect, ``lam = icc_x / (icc_x + (1 - icc_x)
      / n)`` being the reliability of an observed group mean (Luedtke et al. 2008), so
      the contextual effect ``b_B - b_W`` tends to ``lam (gamma_b - gamma_w)``;
    * ``W / J -> (n - 1)(1 - icc_x) / (1 - icc_y)`` and
      ``B / J -> (n icc_x + 1 - icc_x) / (1 - icc_y + n icc_y)`` (unit variances).

    Returns the reliability, the observed between slope, the observed contextual
    effect, the weight of the within slope ``W / (W + B)`` and the raw slope.
    """
    check_number("gamma_w", gamma_w)
    check_number("gamma_b", gamma_b)
    check_number("icc_x", icc_x, low=0.0, high=1.0, open_low=True, open_high=True)
    check_number("icc_y", icc_y, low=0.0, high=1.0, open_high=True)
    check_number("n", n, low=2.0)
    lam = icc_x / (icc_x + (1 - icc_x) / n)
    between = lam * gamma_b + (1 - lam) * gamma_w
    w = (n - 1) * (1 - icc_x) / (1 - icc_y)
    b = (n * icc_x + 1 - icc_x) / (1 - icc_y + n * icc_y)
    share = w / (w + b)
    return {
        "reliability": lam,
        "between_observed": between,
        "contextual_observed": between - gamma_w,
        "within_weight": share,
        "raw_slope": share * gamma_w + (1 - share) * between,
    }


def within_between_chart(
    *,
    gamma_w: float,
    gamma_b: float,
    icc_x: float = 0.26,
    icc_y: float = 0.11,
    group_size: int = 45,
):
    """Within, between and raw slopes against the group size; sliders for the two ICCs.

    The curves are :func:`within_between_blend` over group sizes 2 to 100: the raw
    (random-intercept) slope and the slope on observed group means, between the
    horizontal lines of the within effect ``gamma_w`` and the between effect
    ``gamma_b``. Sliders: the intraclass correlation of x, the residual intraclass
    correlation of y, and the group size n, whose values are marked on the curves and
    given in the text (reliability of the group mean, observed contextual effect,
    weight of the within slope, raw slope).
    """
    check_number("gamma_w", gamma_w)
    check_number("gamma_b", gamma_b)
    check_positive_int("group_size", group_size, low=2)
    rx = slider("icc_x", "ICC of x, ρₓ", value=icc_x, low=0.01, high=0.9, step=0.01)
    ry = slider("icc_y", "residual ICC of y", value=icc_y, low=0.0, high=0.9, step=0.01)
    nn = slider("n", "group size n", value=group_size, low=2, high=100, step=1)
    gw, gb = float(gamma_w), float(gamma_b)

    def blend(size: str) -> dict:
        lam = f"(icc_x / (icc_x + (1 - icc_x) / {size}))"
        between = f"({lam} * {gb!r} + (1 - {lam}) * {gw!r})"
        w = f"(({size} - 1) * (1 - icc_x) / (1 - icc_y))"
        b = f"(({size} * icc_x + 1 - icc_x) / (1 - icc_y + {size} * icc_y))"
        share = f"({w} / ({w} + {b}))"
        raw = f"({share} * {gw!r} + (1 - {share}) * {between})"
        return {"lam": lam, "between": between, "share": share, "raw": raw}

    here = blend("n")
    derived = [
        derived_param("lam", here["lam"]),
        derived_param("bobs", here["between"]),
        derived_param("wshare", here["share"]),
        derived_param("raw", here["raw"]),
    ]
    names = [
        "raw-x slope (random intercept)",
        "slope on observed group means",
        "within effect",
        "between effect (true group means)",
    ]
    colours = [OKABE_ITO["blue"], OKABE_ITO["vermillion"], "#555555", "#000000"]
    on_grid_n = blend("datum.n")
    curves = (
        alt.Chart(pd.DataFrame({"n": np.arange(2, 101)}))
        .transform_calculate(
            **{
                names[0]: on_grid_n["raw"],
                names[1]: on_grid_n["between"],
                names[2]: repr(gw),
                names[3]: repr(gb),
            }
        )
        .transform_fold(names, as_=["what", "slope"])
        .mark_line(strokeWidth=2.5)
        .encode(
            x=alt.X(
                "n:Q",
                title="group size n",
                scale=alt.Scale(type="log", domain=[2, 100], nice=False),
                axis=alt.Axis(values=[2, 5, 10, 20, 50, 100]),
            ),
            y=alt.Y("slope:Q", title="slope", scale=alt.Scale(zero=False)),
            color=alt.Color(
                "what:N",
                scale=alt.Scale(domain=names, range=colours),
                legend=alt.Legend(title=None, orient="bottom", columns=1, labelLimit=WIDTH),
            ),
            strokeDash=alt.StrokeDash(
                "what:N",
                scale=alt.Scale(domain=names, range=[[1, 0], [1, 0], [5, 4], [2, 3]]),
                legend=None,
            ),
        )
    )
    points = (
        alt.Chart(pd.DataFrame({"k": [0, 1]}))
        .transform_calculate(n="n", slope="datum.k == 0 ? raw : bobs")
        .mark_point(filled=True, size=110, color="#000000")
        .encode(x="n:Q", y="slope:Q")
    )
    plot = alt.layer(curves, points).properties(width=WIDTH, height=260)
    text = text_lines(
        "'reliability of a group mean λ = ρₓ / (ρₓ + (1 − ρₓ)/n) = ' + format(lam, '.3f')",
        "'contextual effect from observed means ≈ λ × true = ' + format(bobs - "
        f"{gw!r}, '.2f') + ' (true: {gb - gw:.2f})'",
        "'weight of the within slope W/(W + B) = ' + format(wshare, '.2f') + "
        "'; raw-x slope ≈ ' + format(raw, '.2f')",
    )
    chart = alt.vconcat(text, plot, spacing=8).add_params(rx, ry, nn, *derived)
    return finish_chart(
        chart,
        "Line chart of slopes against the group size on a logarithmic axis: the "
        "random-intercept slope of the raw predictor and the slope on the observed group "
        "means, between dashed lines at the within effect and the between effect. "
        "Sliders set the intraclass correlation of the predictor, the residual intraclass "
        "correlation of the outcome and the group size, which is marked on both curves; "
        "the text gives the reliability of a group mean, the contextual effect estimated "
        "from observed means, the weight of the within slope and the raw slope.",
    )
