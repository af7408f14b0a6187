"""Chapter 3 (random intercepts): the variance shares and the random-intercept lines."""

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

__all__ = ["random_intercepts_chart", "variance_shares"]


def variance_shares(tau00: float, sigma2: float) -> dict:
    """The shares of the total variance at the class level (the ICC) and the pupil level."""
    check_number("tau00", tau00, low=0.0)
    check_number("sigma2", sigma2, low=0.0, open_low=True)
    total = tau00 + sigma2
    return {"total": total, "icc": tau00 / total, "pupil": sigma2 / total}


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
        check_number(name, v)
    check_positive_int("n_classes", n_classes, low=2)
    check_positive_int("n_pupils", n_pupils, low=1)
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
    icc = derived_param("icc", "tau00 / (tau00 + sigma2)")
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
    text = text_lines(
        "'ICC = σ²ᵤ₀ / (σ²ᵤ₀ + σ²ₑ) = ' + format(icc, '.2f')",
        "'total variance σ²ᵤ₀ + σ²ₑ = ' + format(tau00 + sigma2, '.2f')",
    )
    chart = (
        alt.vconcat(text, plot, shares, spacing=8)
        .add_params(t, s, icc)
        .resolve_scale(color="independent")
    )
    return finish_chart(
        chart,
        f"Parallel regression lines of {n_classes} simulated classes with their pupils as "
        "dots, and a bar split into the between-class and within-class shares of the "
        "variance. The class-level variance slider spreads the lines apart; the "
        "pupil-level variance slider scatters the pupils around their line. The text "
        "gives the intraclass correlation.",
    )
