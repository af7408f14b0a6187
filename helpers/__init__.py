"""Estimation code for the textbook *Multilevel Regression, Step by Step*.

The chapters, the course assignments and outside users all call the small API
re-exported here (see ``book/notation.md`` for the symbols and their code names)::

    import helpers as hp
    df = hp.load_dataset("popularity")
    m = hp.fit_lmm("popular ~ extrav + gender + texp + extrav:texp + (1 + extrav | class)", df)
    m.fixed, m.tau, m.sigma2, m.ranef(), m.reliability()
    hp.compare(m0, m1)
    g = hp.fit_glmm("use ~ age + urban + (1 | district)", df, family="binomial")

How the package is laid out (one paragraph per module in CONTRIBUTING.md, "The map of
helpers"; tests/test_module_graph.py enforces the direction). Imports run one way:

* plain values: ``_validate``, ``_scale``, ``_coef``, ``formula``, ``plots``, ``data``
* the design (formula + data -> X, Z, y, groups): ``_design``
* the engines: ``_pls`` (linear), ``_pirls`` (generalised)
* generic over a fit's interface: ``resample`` (simulate, refit), ``_profile`` (intervals)
* the base class ``_fit.MixedFit``: what every fit reports, and what each family
  implements for intervals and the bootstrap (``deviance_profile``, ``simulate``, ``refit``)
* the families: ``lmm`` (with ``_lmm_profile``), ``glmm``, ``ols``, ``gls`` (no random
  effects, correlated residuals)
* the consumers: ``inference``, ``confint``, ``simulate``, ``shrinkage``, ``diagnostics``,
  ``centering``, ``report``, ``interactive`` (one module per chapter), ``widgets``, ``book``,
  ``course`` (per-student assignment data, one module per assignment)
"""

__version__ = "0.5.0"

from . import widgets
from ._fit import MixedFit
from .centering import group_mean_center
from .course import student_data, student_seed
from .data import (
    DataIntegrityError,
    PopularitySample,
    codebook,
    list_datasets,
    load_dataset,
    simulate_popularity,
)
from .diagnostics import influence
from .formula import FormulaError, parse_formula
from .glmm import GlmmFit, PerfectSeparationError, fit_glmm
from .gls import GlsFit, fit_gls
from .inference import compare, design_effect, icc
from .lmm import ConvergenceWarning, LmmFit, MultiLmmFit, SingularFitWarning, fit_lmm
from .ols import OlsFit, fit_by_group, fit_ols
from .plots import OKABE_ITO, use_book_style
from .report import model_table
from .resample import bootstrap
from .residuals import AR1, CAR1, CompoundSymmetry, Unstructured, VarIdent, VarPower
from .shrinkage import (
    PoolingSimulation,
    own_estimates,
    pooling_simulation,
    shrinkage_table,
    shrinkage_weights,
)
from .simulate import power_simulation, power_summary, simulate_lmm

__all__ = [
    "AR1",
    "CAR1",
    "CompoundSymmetry",
    "ConvergenceWarning",
    "OKABE_ITO",
    "DataIntegrityError",
    "FormulaError",
    "GlmmFit",
    "GlsFit",
    "LmmFit",
    "MultiLmmFit",
    "MixedFit",
    "OlsFit",
    "PerfectSeparationError",
    "PoolingSimulation",
    "PopularitySample",
    "SingularFitWarning",
    "Unstructured",
    "VarIdent",
    "VarPower",
    "__version__",
    "bootstrap",
    "codebook",
    "compare",
    "design_effect",
    "fit_by_group",
    "fit_glmm",
    "fit_gls",
    "fit_lmm",
    "fit_ols",
    "group_mean_center",
    "icc",
    "influence",
    "interactive",
    "list_datasets",
    "load_dataset",
    "model_table",
    "own_estimates",
    "parse_formula",
    "pooling_simulation",
    "power_simulation",
    "power_summary",
    "shrinkage_table",
    "shrinkage_weights",
    "simulate_lmm",
    "simulate_popularity",
    "student_data",
    "student_seed",
    "use_book_style",
    "widgets",
]


def __getattr__(name: str):
    """``hp.interactive`` is imported on first use: it needs Altair, which the
    fitting functions do not, and which takes seconds to import."""
    if name == "interactive":
        import importlib

        return importlib.import_module(".interactive", __name__)
    raise AttributeError(f"module 'helpers' has no attribute {name!r}")
