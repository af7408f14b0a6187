"""Chapter 10 (three levels): the variance at each level and the two intraclass correlations."""

from __future__ import annotations

import altair as alt
import pandas as pd

from ..plots import OKABE_ITO
from ._shared import WIDTH, check_number, derived_param, finish_chart, slider, text_lines

__all__ = ["three_level_chart", "three_level_iccs"]

LEVELS = ["between schools", "between classes (within schools)", "within classes"]
PAIRS = ["same class", "same school, other class", "other school"]


def three_level_iccs(sigma2_v0: float, sigma2_u0: float, sigma2_e: float) -> dict:
    """Shares of the variance at each level and the two intraclass correlations.

    For pupils in classes in schools with school variance ``sigma2_v0``, class
    variance ``sigma2_u0`` and pupil variance ``sigma2_e`` (total ``t``): the shares
    ``school = sigma2_v0 / t``, ``class = sigma2_u0 / t``, ``pupil = sigma2_e / t``
    (Hox 2010, sec. 2.4), and the correlations of two pupils in the same class,
    ``rho_class = (sigma2_v0 + sigma2_u0) / t``, and of two pupils in the same school
    but different classes, ``rho_school = sigma2_v0 / t`` (Siddiqui et al. 1996).
    """
    check_number("sigma2_v0", sigma2_v0, low=0.0)
    check_number("sigma2_u0", sigma2_u0, low=0.0)
    check_number("sigma2_e", sigma2_e, low=0.0, open_low=True)
    total = sigma2_v0 + sigma2_u0 + sigma2_e
    return {
        "total": total,
        "school": sigma2_v0 / total,
        "class": sigma2_u0 / total,
        "pupil": sigma2_e / total,
        "rho_class": (sigma2_v0 + sigma2_u0) / total,
        "rho_school": sigma2_v0 / total,
    }


def three_level_chart(*, sigma2_v0: float, sigma2_u0: float, sigma2_e: float):
    """Three-level variance shares and intraclass correlations, with three sliders.

    Sliders: the school variance sigma2_v0, the class variance sigma2_u0 and the
    pupil variance sigma2_e (start values on the sliders' grid of 0.05). A stacked
    bar shows the share of the total variance at each level; a second panel the
    correlation of two pupils in the same class, in the same school but different
    classes, and in different schools (zero), as
    :func:`three_level_iccs` computes.
    """
    v = slider("s2v", "school variance σ²ᵥ₀", value=sigma2_v0, low=0.0, high=2.0, step=0.05)
    u = slider("s2u", "class variance σ²ᵤ₀", value=sigma2_u0, low=0.0, high=2.0, step=0.05)
    e = slider("s2e", "pupil variance σ²ₑ", value=sigma2_e, low=0.05, high=3.0, step=0.05)
    total = derived_param("total", "s2v + s2u + s2e")
    rho_c = derived_param("rho_class", "(s2v + s2u) / (s2v + s2u + s2e)")
    rho_s = derived_param("rho_school", "s2v / (s2v + s2u + s2e)")
    colours = [OKABE_ITO["vermillion"], OKABE_ITO["orange"], OKABE_ITO["sky"]]
    shares = (
        alt.Chart(pd.DataFrame({"level": LEVELS, "k": [0, 1, 2]}))
        .transform_calculate(
            share="datum.k == 0 ? s2v / total : (datum.k == 1 ? s2u / total : s2e / total)"
        )
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
                scale=alt.Scale(domain=LEVELS, range=colours),
                legend=alt.Legend(
                    title=None, orient="bottom", direction="vertical", labelLimit=400
                ),
            ),
            order="k:Q",
        )
        .properties(width=WIDTH, height=40)
    )
    pairs = (
        alt.Chart(pd.DataFrame({"pair": PAIRS, "k": [0, 1, 2]}))
        .transform_calculate(
            correlation="datum.k == 0 ? rho_class : (datum.k == 1 ? rho_school : 0)"
        )
        .mark_bar(color=OKABE_ITO["blue"])
        .encode(
            y=alt.Y("pair:N", sort=PAIRS, title=None),
            x=alt.X(
                "correlation:Q",
                title="correlation of two pupils' outcomes",
                scale=alt.Scale(domain=[0, 1]),
            ),
        )
        .properties(width=WIDTH - 90, height=90)
    )
    text = text_lines(
        "'same class: ρ = (σ²ᵥ₀ + σ²ᵤ₀) / total = ' + format(rho_class, '.3f')",
        "'same school, other class: ρ = σ²ᵥ₀ / total = ' + format(rho_school, '.3f')",
        "'total variance = ' + format(total, '.2f')",
    )
    chart = (
        alt.vconcat(text, shares, pairs, spacing=10)
        .add_params(v, u, e, total, rho_c, rho_s)
        .resolve_scale(color="independent")
    )
    return finish_chart(
        chart,
        "A bar split into the shares of the total variance between schools, between "
        "classes within schools and within classes, and a bar chart of the correlation "
        "of two pupils in the same class, in the same school but different classes, and "
        "in different schools. Sliders set the school, class and pupil variances; the "
        "text gives the two intraclass correlations and the total variance.",
    )
