"""Chapter 9 (binary outcomes): the conditional mode of a group on the log-odds scale."""

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
    one_row_data,
    slider,
    text_lines,
)

__all__ = ["NEWTON_CLAMP", "NEWTON_STEPS", "eb_logit_mode", "log_odds_shrinkage_chart"]


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
    check_number("gamma00", gamma00)
    check_number("tau", tau, low=0.0, open_low=True)
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
    check_number("gamma00", gamma00, low=-3.0, high=3.0)
    check_number("tau", tau, low=0.01, high=3.0)
    check_positive_int("n", n)
    check_positive_int("y", y, low=0)
    if n > 100 or y > n:
        raise ValueError(f"need 1 <= n <= 100 and 0 <= y <= n, not n={n}, y={y}.")
    nb = slider("nb", "group size n", value=n, low=1, high=100, step=1)
    ys = slider("ys", "successes y (at most n)", value=y, low=0, high=100, step=1)
    t = slider("tau", "σ²ᵤ₀ (logit scale)", value=tau, low=0.01, high=3.0, step=0.01)
    g = slider("g00", "overall log-odds γ₀₀", value=gamma00, low=-3.0, high=3.0, step=0.01)
    derived = [derived_param("yb", "min(ys, nb)"), derived_param("u0", "0")]
    for k in range(1, NEWTON_STEPS + 1):
        derived.append(derived_param(f"u{k}", _newton_step(f"u{k - 1}", "yb", "nb", "g00", "tau")))
    u = f"u{NEWTON_STEPS}"
    derived += [
        derived_param("eb", f"g00 + {u}"),
        derived_param(
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
        alt.Chart(one_row_data())
        .transform_filter("abs(own) > 1e8")
        .transform_calculate(pos=f"own < 0 ? -{edge} : {edge}", t="own < 0 ? '−∞' : '+∞'")
        .mark_text(fontSize=15, dy=-18, color=OKABE_ITO["vermillion"])
        .encode(x=alt.X("pos:Q", scale=xscale), y=alt.value(40), text="t:N")
    )
    pull = (
        alt.Chart(one_row_data())
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
        alt.Chart(one_row_data())
        .transform_calculate(p="1 / (1 + exp(-g00))")
        .mark_rule(color="#000000", strokeDash=[2, 2])
        .encode(y=alt.Y("p:Q", scale=pscale))
    )
    bottom = alt.layer(diagonal, overall, dots).properties(width=WIDTH, height=200)
    text = text_lines(
        "format(yb, '.0f') + ' of ' + format(nb, '.0f') + ': own log-odds ' + "
        "(yb == 0 ? '−∞ (no estimate)' : (yb == nb ? '+∞ (no estimate)' : "
        "format(own, '+.2f')))",
        "'EB log-odds ' + format(eb, '+.2f') + ', EB probability = ' + "
        "format(1 / (1 + exp(-eb)), '.3f')",
        "'typical group: log-odds ' + format(g00, '+.2f') + ', probability ' + "
        "format(1 / (1 + exp(-g00)), '.3f')",
    )
    chart = alt.vconcat(text, track, bottom, spacing=8).add_params(nb, ys, t, g, *derived)
    return finish_chart(
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
