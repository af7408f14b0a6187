"""The helpers package imports and carries a version."""

import re

import helpers


def test_helpers_has_a_version():
    assert re.fullmatch(r"\d+\.\d+\.\d+", helpers.__version__)


def test_installed_distribution_reports_the_same_version():
    from importlib.metadata import version

    assert version("multilevel-book-helpers") == helpers.__version__
