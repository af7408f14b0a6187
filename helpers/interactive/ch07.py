"""Chapter 7 (growth models): the correlation of a person's occasions, random slope and AR(1)."""

from __future__ import annotations

import altair as alt
import numpy as np
import pandas as pd

from ._shared import (
    WIDTH,
    check_number,
    check_positive_int,
    derived_param,
    finish_chart,
    slider,
    text_lines,
)

__all__ = ["occasion_correlation", "occasion_correlation_chart"]


def occasion_correlation(
    times, *, tau00: float, tau01: float, tau11: float, sigma2: float, phi: float
) -> np.ndarray:
    """Implied correlation of one person's scores at ``times`` in a linear growth model.

    The model has a random intercept and a random slope of time with covariance
    matrix ``[[tau00, tau01], [tau01, tau11]]`` and AR(1) residuals with variance
    ``sigma2`` whose correlation ``k`` occasions apart is ``phi**k`` (the occasions
    are integer positions, as ``hp.AR1``). The covariance of the scores at ``t`` and
    ``s`` is ``tau00 + tau01 (t + s) + tau11 t s + sigma2 phi^|t - s|``, the
    matrix ``Z T Z' + R`` with ``Z = [1, t]``; the result divides it by the standard
    deviations.
    """
    t = np.asarray(times, dtype=float)
    if t.ndim != 1 or t.size < 2 or not np.all(np.isfinite(t)):
        raise ValueError("times must be at least two finite occasions in a 1-d sequence.")
    if not np.all(t == np.round(t)):
        raise ValueError("times must be whole numbers (occasion positions, as hp.AR1 uses).")
    for name, value in (("tau00", tau00), ("tau11", tau11), ("sigma2", sigma2)):
        check_number(name, value, low=0.0)
    check_number("tau01", tau01)
    check_number("sigma2", sigma2, low=0.0, open_low=True)
    check_number("phi", phi, low=-1.0, high=1.0, open_low=True, open_high=True)
    if tau01**2 > tau00 * tau11 * (1 + 1e-12):
        raise ValueError("tau01² must not exceed tau00 × tau11 (a covariance matrix).")
    z = np.column_stack([np.ones_like(t), t])
    tau = np.array([[tau00, tau01], [tau01, tau11]])
    lag = np.abs(t[:, None] - t[None, :])
    cov = z @ tau @ z.T + sigma2 * phi**lag
    sd = np.sqrt(np.diag(cov))
    return cov / np.outer(sd, sd)


def occasion_correlation_chart(
    *,
    tau00: float,
    tau11: float,
    corr01: float,
    sigma2: float,
    phi: float = 0.45,
    occasions: int = 8,
    sd1_max: float = 12.0,
):
    """Heat map of the correlation of occasions 0..occasions-1 of one person.

    Sliders: the AR(1) parameter ``phi`` and the standard deviation of the random
    slope (``sd(u1)``, starting at ``sqrt(tau11)``); the intercept variance
    ``tau00``, the correlation ``corr01`` of intercept and slope and ``sigma2`` stay
    as given. Each cell is :func:`occasion_correlation` written as a Vega
    expression; the text gives the correlation of the first two occasions, of the
    first and last, and the residual part of the first two.
    """
    for name, value in (("tau00", tau00), ("tau11", tau11)):
        check_number(name, value, low=0.0)
    check_number("sigma2", sigma2, low=0.0, open_low=True)
    check_number("corr01", corr01, low=-1.0, high=1.0)
    check_number("sd1_max", sd1_max, low=0.0, open_low=True)
    check_positive_int("occasions", occasions, low=3)
    ph = slider("phi", "AR(1) φ", value=phi, low=0.0, high=0.95, step=0.05)
    sd1_start = round(float(np.sqrt(tau11)) * 2) / 2
    sd = slider("sd1", "SD of the random slope", value=sd1_start, low=0.0, high=sd1_max, step=0.5)
    t00, r01, s2 = float(tau00), float(corr01), float(sigma2)
    last = occasions - 1

    def cov(t: str, s: str) -> str:
        t01 = f"({r01!r} * sqrt({t00!r}) * sd1)"
        return (
            f"({t00!r} + {t01} * ({t} + {s}) + sd1 * sd1 * {t} * {s}"
            f" + {s2!r} * pow(phi, abs({t} - {s})))"
        )

    def corr(t: str, s: str) -> str:
        return f"({cov(t, s)} / sqrt({cov(t, t)} * {cov(s, s)}))"

    derived = [
        derived_param("r01", corr("0", "1")),
        derived_param("r0last", corr("0", str(last))),
        derived_param("resid01", f"({s2!r} * phi / sqrt({cov('0', '0')} * {cov('1', '1')}))"),
    ]
    grid = pd.DataFrame(
        [(t, s) for t in range(occasions) for s in range(occasions)], columns=["t", "s"]
    )
    heat = (
        alt.Chart(grid)
        .transform_calculate(corr=corr("datum.t", "datum.s"))
        .mark_rect()
        .encode(
            x=alt.X("t:O", title="occasion t (days from the baseline)"),
            y=alt.Y("s:O", title="occasion s", sort="descending"),
            color=alt.Color(
                "corr:Q",
                title="correlation",
                scale=alt.Scale(scheme="blues", domain=[0, 1]),
                legend=alt.Legend(orient="right", gradientLength=160),
            ),
        )
        .properties(width=WIDTH - 120, height=WIDTH - 120)
    )
    labels = (
        alt.Chart(grid)
        .transform_calculate(corr=corr("datum.t", "datum.s"))
        .mark_text(fontSize=11)
        .encode(
            x="t:O",
            y=alt.Y("s:O", sort="descending"),
            text=alt.Text("corr:Q", format=".2f"),
            color=alt.condition("datum.corr > 0.6", alt.value("white"), alt.value("black")),
        )
    )
    text = text_lines(
        "'occasions 0 and 1: ' + format(r01, '.2f') + ', of which the residuals '"
        " + format(resid01, '.2f')",
        f"'occasions 0 and {last}: ' + format(r0last, '.2f') + '; residuals alone, "
        f"{last} apart: φ^{last} = ' + format(pow(phi, {last}), '.3f')",
    )
    chart = alt.vconcat(text, alt.layer(heat, labels), spacing=8).add_params(ph, sd, *derived)
    return finish_chart(
        chart,
        f"Heat map of the implied correlation between a person's scores at occasions 0 to "
        f"{last} in a growth model with a random intercept, a random slope and AR(1) "
        "residuals, each cell labelled with its value. Sliders set the AR(1) parameter φ "
        "and the standard deviation of the random slope; the text gives the correlation "
        "of the first two occasions, the part of it the residuals contribute, and the "
        "correlation of the first and last occasions.",
    )
