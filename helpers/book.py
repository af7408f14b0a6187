"""The set-up every chapter shares: one call at the top, one way to hand numbers to the text.

A chapter's hidden first cell is::

    import helpers as hp
    from helpers.book import share

    hp.book.setup()

``setup()`` applies the book's figure style, its pandas display options and its
warnings policy. ``share(name, value)`` makes a computed number available to the
text (``{glue:text}`name```) when the book is built; anywhere else (JupyterLab, Colab,
a downloaded notebook) it prints ``name = value`` under the cell that computes it, so
a reader sees the number the text refers to.
"""

from __future__ import annotations

import ctypes
import importlib
import numbers
import os
import warnings
from pathlib import Path

import numpy as np
import pandas as pd

from .plots import FIGURE_DPI, MIN_FONT_PT, use_book_style

__all__ = [
    "BUILD_ENV",
    "DISPLAY_PRECISION",
    "FIGURE_DPI",
    "MIN_FONT_PT",
    "blas_threads",
    "format_float",
    "setup",
    "share",
    "single_threaded_blas",
]

# Set (to "1") by tools/build_book.py while the book is built: share() glues silently.
BUILD_ENV = "HELPERS_BOOK_BUILD"
# Digits pandas shows for floats in tables.
DISPLAY_PRECISION = 3
# Resolution of figures and the smallest font size they use are defined in
# helpers.plots: the site test derives the rendered text height from these two numbers.


def _openblas_libraries() -> list[ctypes.CDLL]:
    """The OpenBLAS libraries loaded in this process (numpy's and scipy's), on Linux."""
    maps = Path("/proc/self/maps")
    if not maps.is_file():
        return []
    paths = set()
    for line in maps.read_text().splitlines():
        path = line.split()[-1] if line.split() else ""
        if path.startswith("/") and "openblas" in Path(path).name.lower():
            paths.add(path)
    return [ctypes.CDLL(path) for path in sorted(paths)]


_SET_THREADS = (
    "openblas_set_num_threads",
    "openblas_set_num_threads64_",
    "scipy_openblas_set_num_threads",
    "scipy_openblas_set_num_threads64_",
)
_GET_THREADS = tuple(name.replace("set_", "get_") for name in _SET_THREADS)


def blas_threads() -> list[int]:
    """Threads each loaded OpenBLAS library uses (empty where none can be queried)."""
    found = []
    for lib in _openblas_libraries():
        for name in _GET_THREADS:
            if hasattr(lib, name):
                found.append(int(getattr(lib, name)()))
                break
    return found


def single_threaded_blas() -> None:
    """Run OpenBLAS on one thread, where it can be told to (Linux, OpenBLAS builds).

    The chapters fit hundreds of small models; for their small matrices BLAS threads
    only add start-up and waiting, and on a shared 2-core machine they multiply the
    time of a fit several times over. Elsewhere this does nothing.
    """
    for lib in _openblas_libraries():
        for name in _SET_THREADS:
            if hasattr(lib, name):
                getattr(lib, name)(1)
                break


def format_float(x: float) -> str:
    """One float as pandas shows it in the book: each value on its own terms.

    Values of at least 0.001 in size get ``DISPLAY_PRECISION`` decimals, smaller ones
    scientific notation, and zero is ``0`` — so one tiny p-value no longer turns a
    whole column into scientific notation (``0.000e+00`` beside ``6.575e-01``).
    """
    if x == 0:
        return "0"
    if abs(x) < 10.0**-DISPLAY_PRECISION:
        return f"{x:.2e}"
    return f"{x:.{DISPLAY_PRECISION}f}"


def setup() -> None:
    """Apply the book's figure style, pandas display options and warnings policy.

    Also runs OpenBLAS single-threaded (:func:`single_threaded_blas`): the chapters'
    many small fits run several times faster.

    Warnings are shown once per place they come from (never silenced: a singular
    fit or a convergence problem is part of what a reader should see); pandas
    prints each float with :func:`format_float` and tables up to 20 columns wide
    without wrapping them into pieces.
    """
    use_book_style()
    single_threaded_blas()
    pd.set_option("display.precision", DISPLAY_PRECISION)
    pd.set_option("display.float_format", format_float)
    pd.set_option("display.max_columns", 20)
    pd.set_option("display.width", 88)
    warnings.simplefilter("default")


def _plain(value):
    """A numpy scalar as the Python number it holds; anything else unchanged."""
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, np.ndarray) and value.ndim == 0:
        return value.item()
    return value


class _BareText(str):
    """A string shown without quotes, so ``{glue:text}`` prints the word itself."""

    def __repr__(self) -> str:
        return str.__str__(self)


def share(name: str, value) -> None:
    """Make a computed value available to the text as ``{glue:text}`name```.

    While the book is built (``HELPERS_BOOK_BUILD=1``, set by ``tools/build_book.py``)
    it glues the value with ``myst_nb.glue`` and shows nothing. Anywhere else it
    prints ``name = value`` (JupyterLab and Colab do not fill glued numbers into the
    text, so the reader finds them where they are computed); it needs no MyST-NB.
    A string appears in the text as it is, without quotes.
    """
    if not isinstance(name, str) or not name.isidentifier():
        raise ValueError(
            f"share() needs a name made of letters, digits and underscores, not {name!r}."
        )
    value = _plain(value)
    if not isinstance(value, (numbers.Number, str)):
        raise TypeError(
            f"share({name!r}, ...) takes a number or a string, not {type(value).__name__}; "
            "pass a single value (e.g. table.loc[row, column])."
        )
    myst_nb = None
    if os.environ.get(BUILD_ENV) == "1":
        try:
            myst_nb = importlib.import_module("myst_nb")
        except ImportError:  # not a book build after all: behave as a reader's notebook
            myst_nb = None
    if myst_nb is None:
        shown = value if isinstance(value, str) else _number(value)
        print(f"{name} = {shown}")
        return
    if isinstance(value, str):
        value = _BareText(value)
    myst_nb.glue(name, value, display=False)


def _number(value) -> str:
    """A number as a reader wants to see it: integers whole, floats to 6 significant digits."""
    if isinstance(value, bool) or isinstance(value, numbers.Integral):
        return str(value)
    if isinstance(value, numbers.Real):
        return f"{value:.6g}"
    return str(value)
