"""data/: checksums, declared types and ranges, group counts, loaders and their errors."""

from __future__ import annotations

import shutil
import subprocess
import sys
import tomllib
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import helpers as hp
from helpers import data as hd

ROOT = Path(__file__).resolve().parents[1]
with open(ROOT / "data" / "datasets.toml", "rb") as fh:
    REGISTRY = tomllib.load(fh)
NAMES = sorted(REGISTRY)


def test_every_csv_in_data_has_a_codebook():
    files = {p.name for p in (ROOT / "data").glob("*.csv")}
    assert files == {e["file"] for e in REGISTRY.values()}


@pytest.mark.parametrize("name", NAMES)
def test_checksum_matches_codebook(name):
    assert hd.sha256_of(ROOT / "data" / REGISTRY[name]["file"]) == REGISTRY[name]["sha256"]


@pytest.mark.parametrize("name", NAMES)
def test_types_ranges_rows_and_groups_are_as_declared(name):
    entry = REGISTRY[name]
    df = hp.load_dataset(name)
    assert len(df) == entry["rows"]
    assert not df.isna().any().any(), "no data set has missing values"
    for var in entry["variables"]:
        col = df[var["name"]]
        if "min" in var:
            values = col.astype(float) if isinstance(col.dtype, pd.CategoricalDtype) else col
            assert values.min() >= var["min"], (var["name"], values.min())
            assert values.max() <= var["max"], (var["name"], values.max())
        if var["type"] == "integer" and var["name"] != entry.get("group"):
            assert col.dtype == np.int64
        if var["type"] == "float":
            assert col.dtype == np.float64
        if var["type"] == "category":
            assert list(col.cat.categories) == var["levels"]
    if "group" in entry:
        group = df[entry["group"]]
        assert isinstance(group.dtype, pd.CategoricalDtype)
        assert group.nunique() == entry["groups"]


def test_readme_is_generated_from_the_codebooks():
    sys.path.insert(0, str(ROOT / "data"))
    import make_readme

    assert (ROOT / "data" / "README.md").read_text(encoding="utf-8") == make_readme.render(REGISTRY)


def test_simulated_files_regenerate_bit_for_bit(tmp_path):
    """data/make_popularity.py writes the shipped files again, byte for byte."""
    sys.path.insert(0, str(ROOT / "data"))
    import make_popularity as mp

    main = hp.simulate_popularity(seed=mp.SEED_MAIN)
    small = hp.simulate_popularity(seed=mp.SEED_SMALL, sizes=mp.small_class_sizes())
    for sample, stem in ((main, "popularity"), (small, "popularity_small")):
        for path in mp.write(sample, stem, folder=tmp_path):
            assert path.read_bytes() == (ROOT / "data" / path.name).read_bytes(), path.name


def test_glmm_simulations_regenerate_bit_for_bit(tmp_path):
    """data/make_glmm_sim.py writes sim_binary.csv and sim_counts.csv again, byte for byte."""
    sys.path.insert(0, str(ROOT / "data"))
    import make_glmm_sim as mg

    for frame, stem in ((mg.simulate_binary(), "sim_binary"), (mg.simulate_counts(), "sim_counts")):
        path = mg.write(frame, stem, folder=tmp_path)
        assert path.read_bytes() == (ROOT / "data" / path.name).read_bytes(), path.name


def test_contraception_is_mlmrev_contraception():
    """Counts published with mlmRev's Contraception (str() and table() in R)."""
    df = hp.load_dataset("contraception")
    assert df["use"].value_counts().to_dict() == {"N": 1175, "Y": 759}
    assert df["urban"].value_counts().to_dict() == {"N": 1372, "Y": 562}
    assert df["livch"].value_counts().sort_index().to_dict() == {
        "0": 530,
        "1": 356,
        "2": 305,
        "3+": 743,
    }
    assert df.groupby("district", observed=True).size().loc[1] == 117


def test_truth_file_matches_the_pupil_file():
    pupils = hp.load_dataset("popularity")
    truth = hp.load_dataset("popularity_truth")
    sizes = pupils.groupby("class", observed=True).size().to_numpy()
    np.testing.assert_array_equal(sizes, truth["n_pupils"].to_numpy())
    texp = pupils.groupby("class", observed=True)["texp"].agg(["min", "max"])
    np.testing.assert_array_equal(texp["min"], texp["max"])  # constant within a class
    np.testing.assert_array_equal(texp["min"].to_numpy(), truth["texp"].to_numpy())
    g = hd.POPULARITY_TRUTH["gamma"]
    np.testing.assert_allclose(
        truth["beta0"], g["Intercept"] + g["texp"] * truth["texp"] + truth["u0"], atol=2e-6
    )
    np.testing.assert_allclose(
        truth["beta1"], g["extrav"] + g["extrav:texp"] * truth["texp"] + truth["u1"], atol=2e-6
    )


def test_small_variant_has_classes_of_two_to_five():
    truth = hp.load_dataset("popularity_small_truth")
    assert truth["n_pupils"].min() == 2
    assert (truth["n_pupils"] <= 5).sum() == 15


def test_hsb_carries_raudenbush_bryk_meanses():
    hsb = hp.load_dataset("hsb")
    diff = (hsb["meanses"] - hsb["meanses_rb"]).abs()
    assert 0.005 < diff.max() < 0.0075  # about 0.006, as documented
    np.testing.assert_allclose(hsb["cses"], hsb["ses"] - hsb["meanses"], atol=1e-8)
    per_school = hsb.groupby("school", observed=True)["meanses_rb"].nunique()
    assert (per_school == 1).all()


def test_radon_floor_coding_and_zero_readings():
    radon = hp.load_dataset("radon")
    assert set(radon["floor"]) == {0, 1}
    assert (radon["floor"] == 1).mean() < 0.5  # most readings are from basements
    assert np.isclose(radon["log_radon"], np.log(0.1)).sum() == 4


# ----------------------------------------------------------------------- loaders


def test_list_datasets_and_codebook():
    table = hp.list_datasets()
    assert set(table.index) == set(NAMES)
    assert table.loc["hsb", "groups"] == 160
    book = hp.codebook("popularity")
    assert list(book.index) == ["pupil", "class", "extrav", "gender", "texp", "popular"]
    assert book.loc["gender", "coding"] == "0 = boy, 1 = girl"


def test_unknown_name_lists_the_available_ones():
    with pytest.raises(KeyError, match="popularity.*sleepstudy|Available"):
        hp.load_dataset("popularty")


def test_changed_file_is_refused_with_instructions(tmp_path, monkeypatch):
    copy = tmp_path / "data"
    shutil.copytree(ROOT / "data", copy)
    with open(copy / "sleepstudy.csv", "a") as fh:
        fh.write("308,10,300.0\n")
    monkeypatch.setenv("HELPERS_DATA_DIR", str(copy))
    with pytest.raises(hd.DataIntegrityError, match="has been changed.*git checkout"):
        hp.load_dataset("sleepstudy")


def test_loading_works_from_any_working_directory(tmp_path):
    code = "import helpers as hp; print(len(hp.load_dataset('sleepstudy')))"
    out = subprocess.run([sys.executable, "-c", code], cwd=tmp_path, capture_output=True, text=True)
    assert out.stdout.strip() == "180", out.stderr


# --------------------------------------------------------------------- simulator


def test_simulation_is_deterministic_and_seed_dependent():
    a = hp.simulate_popularity(seed=1, n_classes=10)
    b = hp.simulate_popularity(seed=1, n_classes=10)
    c = hp.simulate_popularity(seed=2, n_classes=10)
    pd.testing.assert_frame_equal(a.data, b.data)
    assert not a.data["popular"].equals(c.data["popular"])


def test_simulation_design():
    s = hp.simulate_popularity(seed=3, n_classes=40, class_size=(5, 8), texp=(2, 25))
    sizes = s.data.groupby("class").size()
    assert len(sizes) == 40 and sizes.between(5, 8).all()
    assert s.data["extrav"].between(1, 10).all()
    assert set(s.data["gender"]) <= {0, 1}
    assert s.data["popular"].between(0, 10).all()
    np.testing.assert_array_equal(s.truth["n_pupils"].to_numpy(), sizes.to_numpy())


def test_simulation_recovers_the_generating_variances_on_average():
    """Sample moments of the drawn random effects match tau (law of large numbers)."""
    s = hp.simulate_popularity(seed=11, n_classes=20000, class_size=(1, 1))
    u = s.truth[["u0", "u1"]].to_numpy()
    tau = np.array(hd.POPULARITY_TRUTH["tau"])
    np.testing.assert_allclose(np.cov(u.T), tau, atol=4 * np.sqrt(2 * 0.45**2 / 20000))


def test_explicit_sizes_and_zero_slope_variance():
    s = hp.simulate_popularity(seed=4, sizes=[2, 3, 4], tau=[[0.3, 0.0], [0.0, 0.0]])
    assert s.truth["n_pupils"].tolist() == [2, 3, 4]
    assert (s.truth["u1"] == 0).all()


@pytest.mark.parametrize(
    "kwargs, message",
    [
        ({"n_classes": 1}, "n_classes must be at least 2"),
        ({"n_classes": 2.5}, "n_classes must be an integer"),
        ({"class_size": (10, 5)}, "low <= high"),
        ({"class_size": 10}, "pair"),
        ({"sizes": [3]}, "at least 2 classes"),
        ({"sizes": [3, 0]}, "class size must be at least 1"),
        ({"tau": [[1, 2], [3, 4]]}, "symmetric"),
        ({"tau": [[1, 2], [2, 1]]}, "positive semi-definite"),
        ({"sigma2": 0}, "sigma2 must be a positive number"),
        ({"gamma": {"Intercept": 0}}, "gamma must have exactly the keys"),
        ({"seed": "x"}, "seed must be an integer"),
    ],
)
def test_simulator_rejects_bad_arguments_clearly(kwargs, message):
    with pytest.raises((TypeError, ValueError), match=message):
        hp.simulate_popularity(**kwargs)


def test_growth_files_regenerate_bit_for_bit(tmp_path):
    """data/make_growth.py writes the shipped growth files again, byte for byte."""
    sys.path.insert(0, str(ROOT / "data"))
    import make_growth

    for path in make_growth.write(folder=tmp_path):
        assert path.read_bytes() == (ROOT / "data" / path.name).read_bytes(), path.name


def test_growth_design_and_truth():
    """Unequal numbers of occasions, unequally spaced times, dropout; truth consistent."""
    occ = hp.load_dataset("growth")
    truth = hp.load_dataset("growth_truth")
    n = occ.groupby("child", observed=True).size()
    np.testing.assert_array_equal(n.to_numpy(), truth["n_occasions"].to_numpy())
    assert n.min() == 1 and n.max() == 6 and n.nunique() == 6
    assert (occ.groupby("wave")["years"].mean().diff().dropna().round(1).unique() != 0.5).any()
    last = occ.groupby("child", observed=True)["wave"].max()
    assert (last < 6).sum() > 20, "some children drop out"
    support = occ.groupby("child", observed=True)["support"].agg(["min", "max"])
    np.testing.assert_array_equal(support["min"], support["max"])
    np.testing.assert_array_equal(support["min"].to_numpy(), truth["support"].to_numpy())
    g = hd.GROWTH_TRUTH["gamma"]
    np.testing.assert_allclose(
        truth["beta0"], g["Intercept"] + g["support"] * truth["support"] + truth["u0"], atol=2e-6
    )
    np.testing.assert_allclose(
        truth["beta1"],
        g["years"] + g["years:support"] * truth["support"] + truth["u1"],
        atol=2e-6,
    )


def test_growth_model_recovers_the_generating_values():
    truth = hd.GROWTH_TRUTH
    d = hp.load_dataset("growth")
    d["reading_c"] = d["reading"] - truth["reading_centre"]
    m = hp.fit_lmm("score ~ years * support + reading_c + (1 + years | child)", d)
    for term, value in truth["gamma"].items():
        est, se = m.fixed.loc[term, ["estimate", "std_error"]]
        assert abs(est - value) < 3 * se, term
    est, se = m.fixed.loc["reading_c", ["estimate", "std_error"]]
    assert abs(est - truth["reading"]) < 3 * se
    assert abs(m.sigma2 - truth["sigma2"]) < 3


def test_growth_reading_is_the_child_mean_plus_occasion_noise():
    """The time-varying covariate: reported to the half hour, around the child's mean."""
    occ = hp.load_dataset("growth")
    truth = hp.load_dataset("growth_truth").set_index("child")
    assert ((occ["reading"] * 2) % 1 == 0).all() and occ["reading"].min() >= 0
    dev = occ["reading"] - truth.loc[occ["child"], "reading_mean"].to_numpy()
    assert abs(dev.mean()) < 0.15 and 1.0 < dev.std() < 1.4  # N(0, 1.2^2), rounded
    assert 0.6 < truth["reading_mean"].std() < 1.0  # N(3, 0.8^2)


def test_schools_files_regenerate_bit_for_bit(tmp_path):
    """data/make_schools.py writes the shipped three-level files again, byte for byte."""
    sys.path.insert(0, str(ROOT / "data"))
    import make_schools

    for path in make_schools.write(folder=tmp_path):
        assert path.read_bytes() == (ROOT / "data" / path.name).read_bytes(), path.name


def test_schools_design_and_truth():
    """Classes numbered within schools; class- and school-level predictors constant where
    they should be; the truth file matches the pupil file."""
    pupils = hp.load_dataset("schools")
    truth = hp.load_dataset("schools_truth")
    sizes = pupils.groupby(["school", "class"], observed=True).size()
    np.testing.assert_array_equal(sizes.to_numpy(), truth["n_pupils"].to_numpy())
    per_school = pupils.groupby("school", observed=True)["class"].agg(["min", "max", "nunique"])
    assert (per_school["min"] == 1).all() and (per_school["max"] == per_school["nunique"]).all()
    assert per_school["nunique"].between(2, 4).all()
    assert pupils.groupby(["school", "class"], observed=True)["texp"].nunique().max() == 1
    assert pupils.groupby("school", observed=True)["program"].nunique().max() == 1
    assert truth.groupby("school")["v0"].nunique().max() == 1
    assert truth.drop_duplicates("school")["program"].sum() == 25


def test_scotssec_is_mlmrev_scotssec():
    """Counts of mlmRev's ScotsSec, from R: nlevels(primary) = 148, nlevels(second) = 19,
    table(sex) = 1739 M, 1696 F; 91 primary schools sent pupils to more than one
    secondary school (sum(rowSums(table(primary, second) > 0) > 1))."""
    d = hp.load_dataset("scotssec")
    assert d["primary"].nunique() == 148 and d["second"].nunique() == 19
    assert d["sex"].value_counts().to_dict() == {"M": 1739, "F": 1696}
    links = d.groupby("primary")["second"].nunique()
    assert (links > 1).sum() == 91
