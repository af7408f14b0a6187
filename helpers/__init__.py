"""Estimation code for the textbook *Multilevel Regression, Step by Step*.

The chapters, the course assignments and outside users all call the small API
re-exported here (see ``book/notation.md`` for the symbols and their code names).
"""

__version__ = "0.1.0"

from .data import (
    DataIntegrityError,
    PopularitySample,
    codebook,
    list_datasets,
    load_dataset,
    simulate_popularity,
)
from .lmm import ConvergenceWarning, LmmFit, SingularFitWarning, fit_lmm

__all__ = [
    "ConvergenceWarning",
    "LmmFit",
    "SingularFitWarning",
    "fit_lmm",
    "DataIntegrityError",
    "PopularitySample",
    "__version__",
    "codebook",
    "list_datasets",
    "load_dataset",
    "simulate_popularity",
]
