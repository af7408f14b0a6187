"""The pieces every chart shares: sizes and colours, input checks, sliders, text, finish.

Used by the chapter modules of :mod:`helpers.interactive`; a chart builder calls
:func:`slider` for each control, :func:`derived_param` for a value computed from the
sliders, :func:`text_line` / :func:`text_lines` for text that updates, and
:func:`finish_chart` last (description, accessibility, fonts).
"""

from __future__ import annotations

from numbers import Integral, Real

import altair as alt
import numpy as np
from scipy import stats

__all__ = [
    "FONT",
    "TEXT",
    "WIDTH",
    "Z975",
    "check_number",
    "check_positive_int",
    "derived_param",
    "finish_chart",
    "on_grid",
    "one_row_data",
    "slider",
    "text_line",
    "text_lines",
]

Z975 = float(stats.norm.ppf(0.975))
WIDTH = 520  # px; the page's loader narrows a view that does not fit its column
TEXT = "#1a1a1a"
FONT = 13


def check_number(name, value, *, low=None, high=None, open_low=False, open_high=False):
    if isinstance(value, bool) or not isinstance(value, Real) or not np.isfinite(value):
        raise TypeError(f"{name} must be a finite number, not {value!r}.")
    if low is not None and (value < low or (open_low and value == low)):
        raise ValueError(f"{name} must be {'>' if open_low else '>='} {low}, not {value}.")
    if high is not None and (value > high or (open_high and value == high)):
        raise ValueError(f"{name} must be {'<' if open_high else '<='} {high}, not {value}.")


def on_grid(value: float, step: float, *, low: float = 0.0) -> float:
    """``value`` rounded to the nearest point ``low + k * step`` (a slider's start value)."""
    check_number("value", value)
    check_number("step", step, low=0.0, open_low=True)
    return round(low + round((value - low) / step) * step, 10)


def slider(name: str, label: str, *, value: float, low: float, high: float, step: float):
    """A parameter bound to a range slider whose start value lies on the slider's grid.

    A browser moves a range input to the nearest multiple of ``step`` above
    ``low``; a start value off that grid would be displayed as one number and
    used as another. Such a value is refused here.
    """
    for key, v in (("value", value), ("low", low), ("high", high), ("step", step)):
        check_number(f"{name}: {key}", v)
    if not low <= value <= high or step <= 0:
        raise ValueError(f"{name}: need low <= value <= high and step > 0 (got {value}).")
    k = (value - low) / step
    if abs(k - round(k)) > 1e-9:
        raise ValueError(
            f"{name}: the start value {value} is not on the slider's grid ({low} + k * {step}); "
            f"a browser would show {low + round(k) * step:g}. Pick a value on the grid."
        )
    return alt.param(
        name=name,
        value=float(value),
        bind=alt.binding_range(min=low, max=high, step=step, name=label + " "),
    )


def derived_param(name: str, expr: str):
    """A parameter computed from others (a Vega expression), shared by all layers."""
    return alt.param(name=name, expr=expr)


def one_row_data():
    return alt.Data(values=[{"row": 0}])


def text_line(expr: str, *, y: int = 0, size: int = FONT, width: int = WIDTH):
    """A line of text computed by a Vega expression (it updates with the sliders)."""
    return (
        alt.Chart(one_row_data())
        .mark_text(
            align="left",
            baseline="top",
            fontSize=size,
            color=TEXT,
            text=alt.expr(expr),
        )
        .encode(x=alt.value(0), y=alt.value(y))
        .properties(width=width, height=y + 18)
    )


def text_lines(*exprs: str):
    """Short lines of computed text, one above the other (they fit a phone's width)."""
    return alt.vconcat(*(text_line(e) for e in exprs), spacing=2)


def finish_chart(chart, description: str):
    return (
        chart.properties(description=description)
        # The description is the chart's text alternative (aria-label of the SVG);
        # marks and axes are not announced one by one.
        .configure(aria=False)
        .configure_view(stroke=None)
        .configure_axis(labelFontSize=12, titleFontSize=12, labelColor=TEXT, titleColor=TEXT)
        .configure_legend(labelFontSize=12, titleFontSize=12, labelColor=TEXT, titleColor=TEXT)
    )


def check_positive_int(name, value, low=1):
    if isinstance(value, bool) or not isinstance(value, Integral) or value < low:
        raise ValueError(f"{name} must be an integer of at least {low}, not {value!r}.")
