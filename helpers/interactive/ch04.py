"""Chapter 4 (random slopes): the variance of Y given x under a random slope."""

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

__all__ = ["random_slopes_chart", "var_y_given_x"]


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
