"""helpers.plots: the book's figure style."""

from __future__ import annotations

import helpers as hp


def test_book_style_uses_the_colour_blind_safe_palette():
    import matplotlib as mpl

    hp.use_book_style()
    colours = [c.lower() for c in mpl.rcParams["axes.prop_cycle"].by_key()["color"]]
    assert colours == [c.lower() for c in hp.OKABE_ITO.values()]
    assert len(set(colours)) == 8
