"""Plot style of the book: a colour-blind-safe palette and figure defaults."""

from __future__ import annotations

import types

import matplotlib as mpl
import matplotlib.figure
import matplotlib.text
from cycler import cycler

__all__ = ["FIGURE_DPI", "MAX_WIDTH_IN", "MIN_FONT_PT", "OKABE_ITO", "legible", "use_book_style"]

#: Resolution of the book's figures (dots per inch).
FIGURE_DPI = 110
#: The smallest font size a figure may use, in points.
MIN_FONT_PT = 11
#: The widest a figure may be, in inches. A phone shows a figure at its column width
#: (about 340 px at a 390 px screen), so text of ``MIN_FONT_PT`` in a figure of
#: ``MAX_WIDTH_IN`` stays at least ``MIN_FONT_PT / 72 * 340 / MAX_WIDTH_IN`` = 9.4 px
#: high there, whatever the resolution.
MAX_WIDTH_IN = 5.5

#: The Okabe-Ito palette (Okabe & Ito 2008), distinguishable with the common
#: forms of colour blindness. Names as keys, in the order used for series.
OKABE_ITO = {
    "blue": "#0072B2",
    "orange": "#E69F00",
    "green": "#009E73",
    "vermillion": "#D55E00",
    "sky": "#56B4E9",
    "purple": "#CC79A7",
    "yellow": "#F0E442",
    "black": "#000000",
}


def use_book_style() -> None:
    """Set matplotlib defaults for the book: palette, text readable on a phone.

    Text is at least ``MIN_FONT_PT`` points and figures at most ``MAX_WIDTH_IN``
    inches wide, enforced for every figure pyplot makes (:func:`legible`), so that
    figure text stays at least 9 px high when a 390 px phone screen shrinks the
    figure to its column.
    """
    mpl.rcParams.update(
        {
            "axes.prop_cycle": cycler(color=list(OKABE_ITO.values())),
            "figure.figsize": (MAX_WIDTH_IN, 4.0),
            "figure.dpi": FIGURE_DPI,
            "savefig.dpi": FIGURE_DPI,
            "font.size": MIN_FONT_PT,
            "axes.titlesize": MIN_FONT_PT,
            "axes.labelsize": MIN_FONT_PT,
            "xtick.labelsize": MIN_FONT_PT,
            "ytick.labelsize": MIN_FONT_PT,
            "legend.fontsize": MIN_FONT_PT,
            "legend.title_fontsize": MIN_FONT_PT,
            "figure.titlesize": MIN_FONT_PT,
            "figure.labelsize": MIN_FONT_PT,
            # every figure pyplot makes passes through legible(): no text smaller
            # than MIN_FONT_PT, no figure wider than MAX_WIDTH_IN
            "figure.hooks": ["helpers.plots:legible"],
            "axes.spines.top": False,
            "axes.spines.right": False,
            "legend.frameon": False,
            "svg.hashsalt": "multilevel-book",  # identical output on every build
        }
    )


def _draw_legibly(fig, renderer):
    """Figure.draw with every text raised to at least MIN_FONT_PT first."""
    for text in fig.findobj(mpl.text.Text):
        if text.get_text() and text.get_fontsize() < MIN_FONT_PT:
            text.set_fontsize(MIN_FONT_PT)
    type(fig).draw(fig, renderer)


def legible(fig):
    """Make a figure legible on a phone: at most MAX_WIDTH_IN wide, text >= MIN_FONT_PT.

    A wider figure is scaled down to ``MAX_WIDTH_IN`` inches, keeping its aspect
    ratio; text set smaller than ``MIN_FONT_PT`` (an explicit ``fontsize=``) is raised
    to it when the figure is drawn. ``use_book_style`` installs this as a
    matplotlib figure hook; it returns the figure.
    """
    if not isinstance(fig, mpl.figure.Figure):
        raise TypeError(f"legible() takes a matplotlib Figure, not {type(fig).__name__}")
    width, height = fig.get_size_inches()
    if width > MAX_WIDTH_IN:
        fig.set_size_inches(MAX_WIDTH_IN, height * MAX_WIDTH_IN / width)
    fig.draw = types.MethodType(_draw_legibly, fig)
    return fig
