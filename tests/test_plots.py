"""helpers.plots: the book's figure style."""

from __future__ import annotations

import helpers as hp


def test_book_style_uses_the_colour_blind_safe_palette():
    import matplotlib as mpl

    hp.use_book_style()
    colours = [c.lower() for c in mpl.rcParams["axes.prop_cycle"].by_key()["color"]]
    assert colours == [c.lower() for c in hp.OKABE_ITO.values()]
    assert len(set(colours)) == 8


def test_every_figure_is_legible_on_a_phone():
    """No figure wider than MAX_WIDTH_IN, no text below MIN_FONT_PT once drawn.

    At a 390 px phone screen a figure is shown at its column width (about 340 px),
    so text of MIN_FONT_PT points in a MAX_WIDTH_IN figure is
    MIN_FONT_PT / 72 * 340 / MAX_WIDTH_IN px high: at least 9 px.
    """
    import matplotlib as mpl

    mpl.use("Agg")
    import matplotlib.pyplot as plt

    from helpers.plots import MAX_WIDTH_IN, MIN_FONT_PT

    hp.use_book_style()
    assert MIN_FONT_PT / 72 * 340 / MAX_WIDTH_IN >= 9
    fig, ax = plt.subplots(figsize=(9, 5))
    ax.plot([0, 1], [0, 1], label="line")
    ax.set_title("small", fontsize=7)
    ax.legend(fontsize=8)
    ax.annotate("note", (0.5, 0.5), fontsize=6)
    fig.canvas.draw()
    width, height = fig.get_size_inches()
    assert width == MAX_WIDTH_IN and abs(height - 5 * MAX_WIDTH_IN / 9) < 1e-12
    sizes = [t.get_fontsize() for t in fig.findobj(mpl.text.Text) if t.get_text()]
    assert len(sizes) > 5 and min(sizes) == MIN_FONT_PT
    plt.close(fig)
    narrow, _ = plt.subplots(figsize=(4, 3))
    assert tuple(narrow.get_size_inches()) == (4, 3)
    plt.close(narrow)


def test_legible_refuses_what_is_not_a_figure():
    import pytest

    from helpers.plots import legible

    with pytest.raises(TypeError, match="matplotlib Figure"):
        legible("figure")
