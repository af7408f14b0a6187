"""helpers._design: formula + data -> the design every mixed model is estimated from."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from helpers._design import build_design


def test_the_design_holds_read_only_arrays_of_the_rows_used(pop):
    d = build_design("popular ~ extrav + texp + (1 + extrav | class)", pop)
    assert d.X.shape == (len(pop), 3) and d.Z.shape == (len(pop), 2)
    np.testing.assert_array_equal(d.y, pop["popular"].to_numpy(float))
    np.testing.assert_array_equal(d.outcome_frame.to_numpy().ravel(), d.y)
    for a in (d.y, d.X, d.Z, d.codes):
        assert not a.flags.writeable
    assert d.offset is None and d.weights is None  # no model family sets them yet
    assert d.n_groups == pop["class"].nunique()


def test_raw_outcome_is_returned_as_it_is_in_the_data(pop):
    df = pop.assign(high=np.where(pop["popular"] > 5, "yes", "no"))
    before = df.copy()
    with pytest.raises(TypeError, match="outcome 'high' must be numeric"):
        build_design("high ~ extrav + (1 | class)", df)
    raw = build_design("high ~ extrav + (1 | class)", df, raw_outcome=True)
    numeric = build_design("popular ~ extrav + (1 | class)", df)
    assert raw.y is None
    assert list(raw.outcome_frame["high"]) == list(df["high"])
    np.testing.assert_array_equal(raw.X, numeric.X)
    assert raw.fixed_names == numeric.fixed_names == ["Intercept", "extrav"]
    pd.testing.assert_frame_equal(df, before)  # the input is untouched
    with pytest.raises(ValueError, match="must be a column name"):
        build_design("np.log(popular) ~ extrav + (1 | class)", df, raw_outcome=True)
