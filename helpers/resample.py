"""Parametric bootstrap of a fitted mixed model: simulate from the fit, refit, repeat.

Each replicate draws a new outcome from the fitted model (new random effects for
every group, new level-1 residuals; the design stays as it is) with
``fit.simulate`` and estimates the model again with ``fit.refit``, which reuses the
formula, the design matrices and their per-group cross-products, so a replicate
costs a few evaluations of the profiled deviance (lme4's ``bootMer`` does the
same with ``simulate`` and ``refit``). The spread of the replicates estimates the
sampling distribution of every parameter, including the variance components,
whose standard errors the fit itself does not give.

It knows no fit class (only ``fit.simulate`` and ``fit.refit``) and imports only
:mod:`helpers._validate`, so ``fit.confint(method="bootstrap")`` can use it from
below the base class (:mod:`helpers._profile`).
"""

from __future__ import annotations

import sys
import warnings

import numpy as np
import pandas as pd

from ._validate import check_count, check_seed

__all__ = ["bootstrap"]


def bootstrap(fit, n: int = 1000, *, seed=None, progress: bool = False) -> pd.DataFrame:
    """Parametric bootstrap of a fitted linear mixed model.

    Parameters
    ----------
    fit
        An :class:`~helpers.LmmFit` (the result of :func:`~helpers.fit_lmm`).
    n
        Number of replicates (simulated data sets), at least 1.
    seed
        An integer, a :class:`numpy.random.Generator`, or ``None`` (fresh
        randomness). The same integer gives the same table.
    progress
        Show a progress bar (a widget in a notebook, a line on stderr elsewhere).

    Returns
    -------
    pandas.DataFrame
        One row per replicate (index ``replicate``), one column per fixed effect
        (named as in ``fit.fixed``), per variance component (named as in
        ``fit.random_part()``: ``sigma2_e``, ``sigma2_u0``, ``sigma_u01``, ...),
        then ``deviance``, ``converged`` and ``singular`` of the refit. Warnings
        of single refits (singular fits are common in a bootstrap) are not shown:
        count them in the ``singular`` and ``converged`` columns.

    Examples
    --------
    >>> boot = hp.bootstrap(m, n=1000, seed=1)            # doctest: +SKIP
    >>> boot.quantile([0.025, 0.975])                     # percentile intervals
    """
    if not (hasattr(fit, "refit") and hasattr(fit, "simulate")):
        raise TypeError(
            f"bootstrap needs a fitted mixed model (the result of hp.fit_lmm), "
            f"not {type(fit).__name__}."
        )
    n = check_count(n, "n (the number of replicates)")
    if not isinstance(progress, bool | np.bool_):
        raise TypeError(f"progress must be True or False, not {progress!r}.")
    rng = check_seed(seed)
    bar = Progress(n) if progress else None
    fast = hasattr(fit, "_refit_estimates")
    rows = []
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # singular refits: reported in the table
        done = 0
        while done < n:
            # Outcomes in batches: simulate(k) draws, replicate after replicate, what k
            # calls of simulate(1) draw from the same generator.
            batch = fit.simulate(min(_BATCH, n - done), seed=rng)
            for y in batch:
                rows.append(fit._refit_estimates(y) if fast else _estimates(fit.refit(y)))
                if bar is not None:
                    bar.update()
            done += len(batch)
    if bar is not None:
        bar.close()
    if fast:
        table = _table(fit, rows)
    else:
        table = pd.DataFrame(rows)
    table.index.name = "replicate"
    return table


_BATCH = 100  # simulated outcomes held in memory at a time


def _table(fit, rows) -> pd.DataFrame:
    """The bootstrap table from (fixed, random part, deviance, converged, singular) rows."""
    fixed, random, deviance, converged, singular = zip(*rows, strict=True)
    names = [*fit.fixed_names, *fit.random_part().index]
    table = pd.DataFrame(np.hstack([np.vstack(fixed), np.vstack(random)]), columns=names)
    table["deviance"] = np.array(deviance, dtype=float)
    table["converged"] = np.array(converged, dtype=bool)
    table["singular"] = np.array(singular, dtype=bool)
    return table


def _estimates(fit) -> dict:
    row = dict(zip(fit.fixed_names, fit.beta, strict=True))
    row.update(fit.random_part()["estimate"].to_dict())
    row.update(deviance=fit.deviance, converged=fit.converged, singular=fit.singular)
    return row


def _in_kernel() -> bool:
    """True inside a Jupyter kernel (not merely when ipykernel has been imported)."""
    ipython = sys.modules.get("IPython")
    shell = ipython.get_ipython() if ipython is not None else None
    return getattr(shell, "kernel", None) is not None


class Progress:
    """A progress bar: an ipywidgets bar inside a notebook kernel, else a stderr line."""

    def __init__(self, total: int, description: str = "bootstrap"):
        self.total, self.done, self.widget = total, 0, None
        self.description = description
        self.step = max(1, total // 100)
        if _in_kernel():
            try:
                import ipywidgets
                from IPython.display import display

                self.widget = ipywidgets.IntProgress(
                    value=0, min=0, max=total, description=description
                )
                display(self.widget)
            except ImportError:  # no widgets installed: fall back on text
                self.widget = None

    def update(self) -> None:
        self.done += 1
        if self.done % self.step and self.done != self.total:
            return
        if self.widget is not None:
            self.widget.value = self.done
        else:
            print(
                f"\r{self.description} {self.done}/{self.total}",
                end="",
                file=sys.stderr,
                flush=True,
            )

    def close(self) -> None:
        if self.widget is None:
            print(file=sys.stderr, flush=True)
