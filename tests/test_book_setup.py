"""helpers.book: the one set-up cell of every chapter, with and without MyST-NB."""

from __future__ import annotations

import os
import sys
import types
import warnings

import matplotlib as mpl
import matplotlib.font_manager
import numpy as np
import pandas as pd
import pytest

from helpers import book


@pytest.fixture
def recorded_glue(monkeypatch):
    """A stand-in myst_nb module whose glue() records its calls, inside the book build."""
    monkeypatch.setenv(book.BUILD_ENV, "1")
    calls = []
    fake = types.ModuleType("myst_nb")
    fake.glue = lambda name, value, display=True: calls.append((name, value, display))
    monkeypatch.setitem(sys.modules, "myst_nb", fake)
    return calls


def test_share_glues_plain_numbers_when_myst_nb_is_importable(recorded_glue):
    book.share("rho", np.float64(0.25))
    book.share("n", np.int64(7))
    book.share("label", "singular")
    assert recorded_glue == [("rho", 0.25, False), ("n", 7, False), ("label", "singular", False)]
    # numpy scalars arrive as Python numbers, which {glue:text} formats with :.2f etc.
    assert type(recorded_glue[0][1]) is float and type(recorded_glue[1][1]) is int


def test_share_uses_the_real_myst_nb_glue(monkeypatch):
    myst_nb = pytest.importorskip("myst_nb")
    monkeypatch.setenv(book.BUILD_ENV, "1")
    calls = []
    monkeypatch.setattr(myst_nb, "glue", lambda *a, **k: calls.append((a, k)))
    book.share("x", 1.5)
    assert calls == [(("x", 1.5), {"display": False})]


def test_share_prints_the_value_outside_the_build(monkeypatch, capsys):
    # None in sys.modules makes `import myst_nb` raise ImportError, as in a plain
    # Python environment where a reader runs a downloaded notebook; in JupyterLab
    # (myst_nb importable, no build) it prints too, and glues nothing.
    monkeypatch.delenv(book.BUILD_ENV, raising=False)
    for modules in (None, types.ModuleType("myst_nb")):
        monkeypatch.setitem(sys.modules, "myst_nb", modules)
        with warnings.catch_warnings():
            warnings.simplefilter("error")
            assert book.share("rho", np.float64(0.123456789)) is None
            book.share("n", np.int64(7))
            book.share("label", "singular")
        assert capsys.readouterr().out == "rho = 0.123457\nn = 7\nlabel = singular\n"


def test_share_rejects_what_glue_text_cannot_show(recorded_glue):
    with pytest.raises(TypeError, match="a number or a string"):
        book.share("table", pd.Series([1.0, 2.0]))
    with pytest.raises(ValueError, match="letters, digits and underscores"):
        book.share("not a name", 1.0)
    assert recorded_glue == []


def test_setup_applies_style_display_and_warnings_policy():
    with warnings.catch_warnings(), pd.option_context("display.precision", 6):
        warnings.simplefilter("ignore")
        book.setup()
        assert pd.get_option("display.precision") == book.DISPLAY_PRECISION
        assert mpl.rcParams["figure.dpi"] == book.FIGURE_DPI
        assert mpl.rcParams["savefig.dpi"] == book.FIGURE_DPI
        # No text in a figure is set smaller than MIN_FONT_PT by the style.
        sizes = [mpl.rcParams["font.size"]]
        for key in [
            "axes.titlesize",
            "axes.labelsize",
            "xtick.labelsize",
            "ytick.labelsize",
            "legend.fontsize",
            "figure.titlesize",
        ]:
            size = mpl.rcParams[key]
            scale = (
                matplotlib.font_manager.font_scalings.get(size) if isinstance(size, str) else None
            )
            sizes.append(size if scale is None else scale * mpl.rcParams["font.size"])
        assert min(sizes) >= book.MIN_FONT_PT
        assert warnings.filters[0][0] == "default"


def test_each_float_is_formatted_on_its_own_terms():
    assert book.format_float(0.0) == "0"
    assert book.format_float(0.6576) == "0.658"
    assert book.format_float(1.5e-90) == "1.50e-90"
    assert book.format_float(-2.5e-5) == "-2.50e-05"
    assert book.format_float(612.089941) == "612.090"
    with pd.option_context("display.float_format", book.format_float):
        text = pd.DataFrame({"p_value": [0.0, 0.6576, 1e-12]}).to_string()
    assert "0.658" in text and "e+00" not in text and "1.00e-12" in text


def test_setup_runs_openblas_on_one_thread():
    np.linalg.inv(np.eye(3))  # make sure numpy's BLAS is loaded
    if not book.blas_threads():
        pytest.skip("no OpenBLAS whose thread count can be queried in this process")
    book.setup()
    assert set(book.blas_threads()) == {1}


def test_shared_strings_appear_without_quotes(recorded_glue):
    from IPython.core.formatters import PlainTextFormatter

    book.share("label", "None")
    ((_, value, _),) = recorded_glue
    assert value == "None"
    assert PlainTextFormatter()(value) == "None"  # what {glue:text} prints


def test_share_prints_in_a_build_variable_without_myst_nb(monkeypatch, capsys):
    """A notebook run from a process that inherited the build's variable but has no
    MyST-NB (a student's environment) prints, as any reader's notebook does."""
    monkeypatch.setenv(book.BUILD_ENV, "1")
    monkeypatch.setitem(sys.modules, "myst_nb", None)
    book.share("rho", 0.25)
    assert capsys.readouterr().out == "rho = 0.25\n"


def test_the_build_sets_its_variable_only_while_it_runs(monkeypatch, tmp_path):
    import build_book

    monkeypatch.delenv(book.BUILD_ENV, raising=False)
    seen = []
    monkeypatch.setattr(
        build_book, "_build", lambda *a: seen.append(os.environ.get(book.BUILD_ENV))
    )
    build_book.build(tmp_path)
    assert seen == ["1"] and book.BUILD_ENV not in os.environ
