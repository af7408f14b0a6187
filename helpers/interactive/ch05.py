"""Chapter 5 (shrinkage): the shrinkage weight and the pooling of class estimates."""

from __future__ import annotations

import altair as alt
import numpy as np
import pandas as pd

from ..plots import OKABE_ITO
from ._shared import (
    TEXT,
    WIDTH,
    check_number,
    derived_param,
    finish_chart,
    one_row_data,
    slider,
    text_lines,
)

__all__ = ["pooled_estimates", "pooling_chart", "shrinkage_chart"]


def pooled_estimates(own_mean, n, grand_mean: float, pooling: float) -> np.ndarray:
    """Class means pulled toward ``grand_mean``: 0 is no pooling, 1 complete pooling.

    With ``pooling = k / (mean(n) + k)`` and ``k = sigma2 / tau00`` the weight of a
    class's own mean is ``n_j / (n_j + k)``, the reliability of the fitted random-
    intercept model, so the result is the model's empirical Bayes prediction.
    """
    check_number("pooling", pooling, low=0.0, high=1.0)
    own, size = np.asarray(own_mean, dtype=float), np.asarray(n, dtype=float)
    if own.shape != size.shape or own.ndim != 1:
        raise ValueError("own_mean and n must be 1-d arrays of the same length.")
    nbar = size.mean()
    lam = (1 - pooling) * size / ((1 - pooling) * size + pooling * nbar)
    return grand_mean + lam * (own - grand_mean)


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
    lam = derived_param("lam", "tau00 / (tau00 + sigma2 / n_j)")
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
        alt.Chart(one_row_data())
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
        alt.Chart(one_row_data())
        .transform_calculate(size="n_j", lam_n="lam")
        .mark_point(filled=True, size=110, color=OKABE_ITO["vermillion"])
        .encode(x="size:Q", y="lam_n:Q")
    )
    bottom = alt.layer(curve, here).properties(width=WIDTH, height=170)
    text = text_lines(
        "'λⱼ = σ²ᵤ₀ / (σ²ᵤ₀ + σ²ₑ / nⱼ) = ' + format(lam, '.3f')",
        "'EB estimate at ' + format(lam * dist, '+.2f') + ', pulled by ' + "
        "format((1 - lam) * dist, '+.2f')",
        "'(' + format(1 - lam, '.0%') + ' of the way to the overall mean)'",
    )
    chart = alt.vconcat(text, track, bottom, spacing=8).add_params(nj, t, s, d, lam)
    return finish_chart(
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
    from ..shrinkage import shrinkage_table

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
    text = text_lines(
        f"'pooling ' + format(pool, '.2f') + '; the fitted model: {p_hat:.3f}'",
        "'(grey ticks: the fitted model’s predictions)'",
    )
    chart = alt.vconcat(text, plot, spacing=8).add_params(p)
    return finish_chart(
        chart,
        f"The {len(data)} classes as two rows of dots: each class's own mean (top) and its "
        "estimate (bottom), joined by a line. The pooling slider moves the estimates from "
        "the own means (0, no pooling) to the overall mean (1, complete pooling); grey ticks "
        "mark the fitted model's empirical Bayes predictions, reached at the fitted pooling.",
    )
