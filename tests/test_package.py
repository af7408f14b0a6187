"""The helpers package imports and carries a version."""

import re

import pytest

import helpers


def test_helpers_has_a_version():
    assert re.fullmatch(r"\d+\.\d+\.\d+", helpers.__version__)


def test_installed_distribution_reports_the_same_version():
    from importlib.metadata import version

    assert version("multilevel-book-helpers") == helpers.__version__


def test_installed_distribution_states_its_licence():
    """pyproject.toml's SPDX licence reaches the metadata (PEP 639), with both licence files."""
    from importlib.metadata import metadata

    meta = metadata("multilevel-book-helpers")
    assert meta["License-Expression"] == "BSD-3-Clause"
    assert sorted(meta.get_all("License-File")) == ["LICENSE", "LICENSE-text"]


def test_fitting_does_not_import_altair_but_interactive_is_there():
    """``import helpers`` stays light: Altair loads when hp.interactive is first used."""
    import subprocess
    import sys

    code = (
        "import sys, helpers as hp\n"
        "assert 'altair' not in sys.modules, 'import helpers loaded altair'\n"
        "assert hp.interactive.__name__ == 'helpers.interactive'\n"
        "assert 'altair' in sys.modules\n"
        "from helpers import interactive\n"
        "assert interactive is hp.interactive\n"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr


def test_unknown_attribute_is_an_attribute_error():
    with pytest.raises(AttributeError, match="no_such_thing"):
        helpers.no_such_thing  # noqa: B018


def test_every_subpackage_is_in_the_distribution():
    """pyproject.toml lists packages by name: a new subpackage left out of the list is
    missing from the wheel (students get ModuleNotFoundError on ``import helpers``)."""
    import tomllib
    from pathlib import Path

    root = Path(helpers.__file__).resolve().parents[1]
    listed = tomllib.loads((root / "pyproject.toml").read_text())["tool"]["setuptools"]["packages"]
    found = {
        ".".join(p.parent.relative_to(root).parts) for p in (root / "helpers").rglob("__init__.py")
    }
    assert sorted(found) == sorted(listed)
