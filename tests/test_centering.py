"""hp.group_mean_center: group means and within-group deviations, checked against a pandas
groupby computation; validation messages; the input is never changed."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

import helpers as hp


@pytest.fixture(scope="module")
def hsb():
    return hp.load_dataset("hsb")


def test_matches_a_groupby_computation(hsb):
    out = hp.group_mean_center(hsb, ["ses", "mAch"], "school", grand=True)
    for col in ["ses", "mAch"]:
        means = hsb.groupby("school", observed=True)[col].transform("mean")
        np.testing.assert_allclose(out[f"{col}_mean"], means, rtol=0, atol=1e-12)
        np.testing.assert_allclose(out[f"{col}_within"], hsb[col] - means, rtol=0, atol=1e-12)
        np.testing.assert_allclose(out[f"{col}_grand"], hsb[col] - hsb[col].mean(), atol=1e-12)
        # Within-group deviations average to zero in every school.
        w = out.groupby("school", observed=True)[f"{col}_within"].mean()
        assert w.abs().max() < 1e-12
    # The data set's own cses (ses centred on the school mean, computed by its publisher).
    np.testing.assert_allclose(out["ses_within"], hsb["cses"], atol=1e-6)
    # Same rows, same order, all original columns kept.
    assert out.index.equals(hsb.index)
    pd.testing.assert_frame_equal(out[hsb.columns], hsb)


def test_input_is_not_mutated_and_result_is_a_new_frame(hsb):
    before = hsb.copy(deep=True)
    out = hp.group_mean_center(hsb, "ses", "school")
    pd.testing.assert_frame_equal(hsb, before)
    assert out is not hsb
    assert "ses_mean" not in hsb.columns


def test_unsorted_groups_and_a_non_default_index():
    d = pd.DataFrame(
        {"g": ["b", "a", "b", "c", "a", "b"], "x": [1.0, 2.0, 3.0, 10.0, 4.0, 5.0]},
        index=[10, 3, 7, 1, 2, 99],
    )
    out = hp.group_mean_center(d, "x", "g", mean_suffix="_m", within_suffix="_c")
    assert list(out["x_m"]) == [3.0, 3.0, 3.0, 10.0, 3.0, 3.0]
    assert list(out["x_c"]) == [-2.0, -1.0, 0.0, 0.0, 1.0, 2.0]
    assert list(out.index) == [10, 3, 7, 1, 2, 99]


@pytest.mark.parametrize(
    ("args", "kwargs", "error", "message"),
    [
        (([1, 2], "ses", "school"), {}, TypeError, "pandas DataFrame"),
        ((None, "nope", "school"), {}, KeyError, "'nope'"),
        ((None, "ses", "nope"), {}, KeyError, "'nope'"),
        ((None, "sx", "school"), {}, TypeError, "must be numeric"),
        ((None, 3, "school"), {}, TypeError, "column name"),
        ((None, [], "school"), {}, TypeError, "column name"),
        ((None, ["ses", "ses"], "school"), {}, ValueError, "more than once"),
        ((None, "ses", "school"), {"mean_suffix": "_within"}, ValueError, "differ"),
        ((None, "ses", "school"), {"mean_suffix": ""}, ValueError, "non-empty"),
        ((None, "school", "school"), {}, ValueError, "grouping column"),
    ],
)
def test_validation_messages(hsb, args, kwargs, error, message):
    args = (hsb if args[0] is None else args[0], *args[1:])
    with pytest.raises(error, match=message):
        hp.group_mean_center(*args, **kwargs)


def test_missing_values_and_existing_columns_are_errors_not_silent(hsb):
    d = hsb.copy()
    d.loc[d.index[:3], "ses"] = np.nan
    with pytest.raises(ValueError, match="'ses' has 3 missing"):
        hp.group_mean_center(d, "ses", "school")
    d = hsb.copy()
    d["school"] = d["school"].astype(object)
    d.loc[d.index[0], "school"] = None
    with pytest.raises(ValueError, match="1 missing label"):
        hp.group_mean_center(d, "ses", "school")
    with pytest.raises(ValueError, match="'ses_mean'.*overwritten"):
        hp.group_mean_center(hsb.assign(ses_mean=0.0), "ses", "school")
    with pytest.raises(TypeError, match="positional"):
        hp.group_mean_center(hsb, "ses", "school", True)  # options are keyword-only
