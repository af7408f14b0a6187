"""Plot style of the book: a colour-blind-safe palette and figure defaults."""

from __future__ import annotations

import matplotlib as mpl
from cycler import cycler

__all__ = ["OKABE_ITO", "use_book_style"]

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
    """Set matplotlib defaults for the book: palette, size readable at the page width."""
    mpl.rcParams.update(
        {
            "axes.prop_cycle": cycler(color=list(OKABE_ITO.values())),
            "figure.figsize": (7.0, 4.0),
            "figure.dpi": 110,
            "savefig.dpi": 110,
            "font.size": 11,
            "axes.titlesize": 11,
            "axes.labelsize": 11,
            "axes.spines.top": False,
            "axes.spines.right": False,
            "legend.frameon": False,
            "svg.hashsalt": "multilevel-book",  # identical output on every build
        }
    )
