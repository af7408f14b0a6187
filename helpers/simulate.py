"""Simulation from a two-level model and power by simulation.

``simulate_lmm`` draws a data set either from a *specification* — a formula, the
fixed effects ``gamma``, the random-effects covariance ``tau``, the residual
variance ``sigma2``, the number of groups and their sizes, and how to draw every
predictor — or from a *fitted* model (its estimates, its design; the draw itself is
``LmmFit.simulate``).

``power_simulation`` repeats that many times and fits the model to every data set.
The predictors are drawn once and the design is kept (as lme4's ``simulate`` and
``refit``): every replicate draws new random effects and residuals, and the model is
estimated again with ``LmmFit.refit``, which reuses the design's cross-products, so a
replicate costs a few evaluations of the profiled deviance. With
``new_design=True`` the predictors are drawn anew for every replicate as well (a full
fit each time, slower). The result is a tidy table, one row per replicate and
parameter; ``power_summary`` turns it into power, bias and interval coverage with
their Monte Carlo standard errors.
"""

from __future__ import annotations

import numbers
import time
import warnings
from collections.abc import Callable, Mapping

import numpy as np
import pandas as pd
import scipy.special
import scipy.stats

from ._design import check_one_group, checked_model_matrix
from ._validate import check_bool, check_count, check_seed
from .formula import parse_formula
from .resample import Progress

__all__ = ["power_simulation", "power_summary", "simulate_lmm"]

GENERATORS = ("normal", "binary", "balanced")
RESULT_COLUMNS = [
    "replicate",
    "term",
    "true_value",
    "estimate",
    "std_error",
    "ci_lower",
    "ci_upper",
    "p_value",
    "reject",
    "covers",
    "converged",
    "singular",
]


# ----------------------------------------------------------------- the specification


class _Spec:
    """A checked model specification: formula, parameters, sizes, predictor generators."""

    def __init__(self, formula, gamma, tau, sigma2, n_groups, group_size, level1, level2):
        if not isinstance(formula, str):
            raise TypeError(
                "The model must be a formula string such as 'y ~ x + z + (1 | g)' or a "
                f"fitted model (hp.fit_lmm), not {type(formula).__name__}."
            )
        self.f = parse_formula(formula)
        check_one_group(self.f)
        self.group = self.f.random[0].group
        self.outcome = self.f.outcome
        if not self.outcome.isidentifier():
            raise ValueError(
                f"The outcome of the formula must be a plain column name, not {self.outcome!r}."
            )
        self.n_groups = check_count(n_groups, "n_groups (the number of groups)")
        if self.n_groups < 2:
            raise ValueError(f"n_groups must be at least 2 (got {self.n_groups}).")
        self.sizes = _check_sizes(group_size, self.n_groups)
        self.level1 = _check_generators(level1, "level1")
        self.level2 = _check_generators(level2, "level2")
        both = set(self.level1) & set(self.level2)
        if both:
            raise ValueError(
                f"{sorted(both)} appear in both level1 and level2; give each predictor "
                "at one level only."
            )
        needed = self.f.predictor_variables()
        given = set(self.level1) | set(self.level2)
        if needed - given:
            raise ValueError(
                f"No generator for the predictor(s) {sorted(needed - given)}: add them to "
                "level1= (drawn for every row) or level2= (drawn once per group), e.g. "
                "level1={'x': 'normal'}."
            )
        if given - needed:
            raise ValueError(
                f"level1/level2 name {sorted(given - needed)}, which the formula does not "
                "use: remove them or add them to the formula."
            )
        if self.group in given or self.outcome in given:
            raise ValueError("level1/level2 must not name the outcome or the grouping column.")
        # Term names from a trial design (formulaic's names: 'Intercept', 'x:z').
        trial = self.draw_predictors(np.random.default_rng(0))
        self.fixed_names = list(
            checked_model_matrix(self.f.fixed_rhs, trial, "the fixed part").columns
        )
        self.random_names = []
        for t in self.f.random:
            cols = checked_model_matrix(
                t.expr, trial, f"the random part ({t.expr} | {t.group})"
            ).columns
            self.random_names += [str(c) for c in cols]
        self.gamma = _check_gamma(gamma, self.fixed_names)
        self.tau = _check_tau(tau, self.random_names)
        self.sigma2 = _check_positive(sigma2, "sigma2 (the residual variance)")

    def draw_predictors(self, rng) -> pd.DataFrame:
        J, sizes = self.n_groups, self.sizes
        codes = np.repeat(np.arange(J), sizes)
        n = int(sizes.sum())
        cols = {self.group: codes + 1}
        for name, gen in self.level2.items():
            cols[name] = _draw(gen, rng, J, name, "level2")[codes]
        for name, gen in self.level1.items():
            cols[name] = _draw(gen, rng, n, name, "level1")
        return pd.DataFrame(cols)

    def matrices(self, data: pd.DataFrame):
        X = checked_model_matrix(self.f.fixed_rhs, data, "the fixed part").to_numpy(dtype=float)
        Z = np.hstack(
            [
                checked_model_matrix(t.expr, data, "the random part").to_numpy(dtype=float)
                for t in self.f.random
            ]
        )
        return X, Z

    def draw_outcome(self, X, Z, codes, rng) -> np.ndarray:
        q = Z.shape[1]
        L = _psd_root(self.tau)
        b = rng.standard_normal((self.n_groups, q)) @ L.T
        y = X @ self.gamma + np.einsum("nq,nq->n", Z, b[codes])
        return y + np.sqrt(self.sigma2) * rng.standard_normal(len(y))

    def truth(self) -> dict:
        out = dict(zip(self.fixed_names, self.gamma, strict=True))
        out["sigma2_e"] = self.sigma2
        q = len(self.random_names)
        for i in range(q):
            out[f"sigma2_u{i}"] = self.tau[i, i]
        for i in range(q):
            for j in range(i + 1, q):
                out[f"sigma_u{i}{j}"] = self.tau[i, j]
        return out


def _check_sizes(group_size, J: int) -> np.ndarray:
    if isinstance(group_size, numbers.Integral) and not isinstance(group_size, bool):
        n = check_count(group_size, "group_size")
        return np.full(J, n)
    if isinstance(group_size, str | bytes) or group_size is None:
        raise TypeError(
            "group_size must be a whole number (the same size for every group) or a "
            f"sequence of n_groups whole numbers, not {group_size!r}."
        )
    try:
        sizes = list(group_size)
    except TypeError:
        raise TypeError(
            "group_size must be a whole number or a sequence of whole numbers, "
            f"not {type(group_size).__name__}."
        ) from None
    if len(sizes) != J:
        raise ValueError(
            f"group_size has {len(sizes)} sizes but n_groups is {J}: give one size per group."
        )
    return np.array([check_count(s, "every group size") for s in sizes])


def _check_generators(gens, name: str) -> dict:
    if gens is None:
        return {}
    if not isinstance(gens, Mapping):
        raise TypeError(
            f"{name} must be a dict from column name to a generator ('normal', 'binary', "
            f"'balanced' or a function (rng, size) -> array), not {type(gens).__name__}."
        )
    out = {}
    for col, gen in gens.items():
        if not isinstance(col, str) or not col.isidentifier():
            raise ValueError(f"{name}: column names must be plain names, not {col!r}.")
        if isinstance(gen, str):
            if gen not in GENERATORS:
                raise ValueError(
                    f"{name}[{col!r}] = {gen!r} is not a known generator; use one of "
                    f"{GENERATORS} or a function (rng, size) -> array."
                )
        elif not isinstance(gen, Callable):
            raise TypeError(
                f"{name}[{col!r}] must be one of {GENERATORS} or a function (rng, size) -> "
                f"array, not {type(gen).__name__}."
            )
        out[col] = gen
    return out


def _draw(gen, rng, size: int, col: str, level: str) -> np.ndarray:
    if gen == "normal":
        return rng.standard_normal(size)
    if gen == "binary":
        return rng.integers(0, 2, size).astype(float)
    if gen == "balanced":  # exactly half (rounded down) ones, in random order
        return rng.permutation(np.arange(size) < size // 2).astype(float)
    try:
        values = np.asarray(gen(rng, size), dtype=float)
    except (TypeError, ValueError) as err:
        raise TypeError(f"The generator {level}[{col!r}] did not return numbers: {err}") from None
    if values.shape != (size,):
        raise ValueError(
            f"The generator {level}[{col!r}] must return {size} values (one per "
            f"{'group' if level == 'level2' else 'row'}); it returned shape {values.shape}."
        )
    if not np.all(np.isfinite(values)):
        raise ValueError(f"The generator {level}[{col!r}] returned missing or infinite values.")
    return values


def _check_gamma(gamma, names: list[str]) -> np.ndarray:
    if not isinstance(gamma, Mapping):
        raise TypeError(
            f"gamma must be a dict from fixed term to its value, with the keys {names}; "
            f"got {type(gamma).__name__}."
        )
    missing, extra = set(names) - set(gamma), set(gamma) - set(names)
    if missing or extra:
        raise ValueError(
            f"gamma must give a value for exactly the fixed terms {names}; "
            + (f"missing {sorted(missing)}" if missing else "")
            + ("; " if missing and extra else "")
            + (f"unknown {sorted(extra)}" if extra else "")
            + "."
        )
    return np.array([_check_number(gamma[k], f"gamma[{k!r}]") for k in names])


def _check_number(value, name: str) -> float:
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise TypeError(f"{name} must be a number, not {value!r}.")
    if not np.isfinite(value):
        raise ValueError(f"{name} must be finite, not {value}.")
    return float(value)


def _check_positive(value, name: str) -> float:
    value = _check_number(value, name)
    if value <= 0:
        raise ValueError(f"{name} must be positive (got {value}).")
    return value


def _check_tau(tau, names: list[str]) -> np.ndarray:
    q = len(names)
    if isinstance(tau, numbers.Real) and not isinstance(tau, bool):
        if q != 1:
            raise ValueError(
                f"The formula has {q} random effects {names}: tau must be a {q} x {q} "
                "covariance matrix, not a single number."
            )
        tau = [[tau]]
    if isinstance(tau, pd.DataFrame):
        tau = tau.to_numpy()
    try:
        T = np.array(tau, dtype=float)
    except (TypeError, ValueError):
        raise TypeError(
            f"tau must be a number or a {q} x {q} matrix of numbers, not {type(tau).__name__}."
        ) from None
    if T.shape != (q, q):
        raise ValueError(f"tau must be {q} x {q} (random effects {names}); got shape {T.shape}.")
    if not np.all(np.isfinite(T)):
        raise ValueError("tau has missing or infinite values.")
    if not np.allclose(T, T.T):
        raise ValueError("tau must be symmetric (a covariance matrix).")
    if np.linalg.eigvalsh(T).min() < -1e-10 * max(1.0, np.abs(T).max()):
        raise ValueError(
            "tau is not a covariance matrix (it has a negative eigenvalue): check that "
            "|covariance| <= sqrt(variance_1 * variance_2)."
        )
    return T


def _psd_root(T: np.ndarray) -> np.ndarray:
    """L with L L' = T, also for a singular T (an eigen-decomposition)."""
    w, V = np.linalg.eigh(T)
    return V * np.sqrt(np.clip(w, 0, None))


def _is_fit(model) -> bool:
    return hasattr(model, "refit") and hasattr(model, "simulate") and hasattr(model, "fixed")


def _spec_args_unused(**kw) -> None:
    given = [k for k, v in kw.items() if v is not None]
    if given:
        raise ValueError(
            f"{given} cannot be given with a fitted model: the simulation uses the fit's "
            "estimates and design. Pass a formula instead to set them yourself."
        )


# ------------------------------------------------------------------------- public API


def simulate_lmm(
    model,
    *,
    gamma: Mapping | None = None,
    tau=None,
    sigma2: float | None = None,
    n_groups: int | None = None,
    group_size=None,
    level1: Mapping | None = None,
    level2: Mapping | None = None,
    data: pd.DataFrame | None = None,
    seed=None,
) -> pd.DataFrame:
    """Draw one data set from a two-level linear model.

    Parameters
    ----------
    model
        Either a formula such as ``"y ~ x + z + x:z + (1 + x | g)"`` (then give the
        parameters and sizes below) or a fitted :class:`~helpers.LmmFit` (then give
        only ``data`` and ``seed``).
    gamma
        Fixed effects, a dict with one value per fixed term, named as the fit names
        them (``"Intercept"``, ``"x"``, ``"x:z"``).
    tau
        Covariance matrix of the random effects (q x q, in the order of the random
        terms), or a single variance for a random intercept only.
    sigma2
        Residual (level-1) variance.
    n_groups, group_size
        Number of groups (at least 2), and the size of every group (one whole number)
        or of each group (a sequence of ``n_groups`` whole numbers).
    level1, level2
        How to draw each predictor: a dict from column name to ``"normal"``
        (standard normal), ``"binary"`` (0/1 with probability 1/2), ``"balanced"``
        (exactly half ones, in random order) or a function ``(rng, size) -> array``.
        ``level1`` columns get a value per row, ``level2`` columns one per group.
    data
        With a fitted model: the data it was fitted to. The result is a copy of its
        rows used by the fit with the outcome replaced by a draw from the fit
        (``fit.simulate``: new random effects and residuals, the same design).
    seed
        An integer, a :class:`numpy.random.Generator` or ``None``.

    Returns
    -------
    pandas.DataFrame
        From a specification: the grouping column (groups numbered 1..J), the
        level-2 and level-1 predictors and the outcome, one row per level-1 unit.

    Examples
    --------
    >>> d = hp.simulate_lmm("y ~ x + z + (1 | g)", gamma={"Intercept": 0, "x": 0.5,
    ...     "z": 0.3}, tau=0.2, sigma2=1, n_groups=30, group_size=10,
    ...     level1={"x": "normal"}, level2={"z": "balanced"}, seed=1)   # doctest: +SKIP
    """
    if hasattr(model, "family") and hasattr(model, "nagq"):  # a GlmmFit
        raise TypeError(
            "simulate_lmm simulates linear mixed models (normal outcomes); this is a "
            f"generalised linear mixed model ({model.family}, {model.link} link). For a GLMM "
            "use fit.simulate(n, seed=...) for outcomes drawn from the fit on its own rows, "
            "and fit.refit(y) to fit the model to each of them (a parametric bootstrap)."
        )
    rng = check_seed(seed)
    if _is_fit(model):
        _spec_args_unused(
            gamma=gamma, tau=tau, sigma2=sigma2, n_groups=n_groups,
            group_size=group_size, level1=level1, level2=level2,
        )  # fmt: skip
        return _from_fit(model, data, rng)
    if data is not None:
        raise ValueError(
            "data= is for simulating from a fitted model; with a formula the predictors "
            "are drawn from level1= and level2=."
        )
    spec = _Spec(model, gamma, tau, sigma2, n_groups, group_size, level1, level2)
    frame = spec.draw_predictors(rng)
    X, Z = spec.matrices(frame)
    frame[spec.outcome] = spec.draw_outcome(X, Z, frame[spec.group].to_numpy() - 1, rng)
    return frame


def _from_fit(fit, data, rng) -> pd.DataFrame:
    if not isinstance(data, pd.DataFrame):
        raise TypeError(
            "To simulate from a fitted model, pass the data it was fitted to as data= "
            f"(a DataFrame), not {type(data).__name__}."
        )
    rows = fit.row_index
    if not rows.isin(data.index).all() or data.index.has_duplicates:
        raise ValueError(
            "data does not hold the rows the model was fitted to (their index labels "
            "differ): pass the same DataFrame that went into hp.fit_lmm."
        )
    outcome = parse_formula(fit.formula).outcome
    if outcome not in data.columns:
        raise ValueError(
            f"data has no column {outcome!r} (the outcome of the fit): pass the data "
            "the model was fitted to."
        )
    out = data.loc[rows].copy()
    out[outcome] = fit.simulate(seed=rng)[0]
    return out


def power_simulation(
    model,
    *,
    n_replicates: int = 100,
    gamma: Mapping | None = None,
    tau=None,
    sigma2: float | None = None,
    n_groups: int | None = None,
    group_size=None,
    level1: Mapping | None = None,
    level2: Mapping | None = None,
    new_design: bool = False,
    reml: bool | None = None,
    alpha: float = 0.05,
    variance_ci: bool = False,
    seed=None,
    progress: bool = False,
) -> pd.DataFrame:
    """Simulate data sets from a model, fit the model to each, collect the estimates.

    ``model`` and the specification (``gamma``, ``tau``, ``sigma2``, ``n_groups``,
    ``group_size``, ``level1``, ``level2``) are as in :func:`simulate_lmm`; with a
    fitted model its estimates are the truth and its design is kept.

    Parameters
    ----------
    n_replicates
        Number of simulated data sets (at least 1).
    new_design
        Draw the predictors anew for every replicate (default ``False``: they are
        drawn once and the design is kept, which lets every replicate reuse the
        design's cross-products; not possible with a fitted model).
    reml
        Fit by REML (``True``, the default for a formula) or by maximum likelihood
        (``False``). A fitted model is refitted by its own method.
    alpha
        Level of the two-sided Wald tests of the fixed effects and ``1 - alpha`` the
        level of the intervals.
    variance_ci
        Also give Wald intervals for the variances (MLwiN-style: variance ± z SE,
        with the SE from the curvature of the deviance). Costs a numerical Hessian
        per replicate.
    seed
        An integer, a :class:`numpy.random.Generator` or ``None``. The same integer
        gives the same table.
    progress
        Show a progress bar (a widget in a notebook, a line on stderr elsewhere).

    Returns
    -------
    pandas.DataFrame
        One row per replicate and parameter: ``replicate``, ``term`` (fixed terms,
        then ``sigma2_e``, ``sigma2_u0``, ..., ``sigma_u01`` as in
        ``fit.random_part()``), ``true_value``, ``estimate``, ``std_error``,
        ``ci_lower``, ``ci_upper``, ``p_value`` and ``reject`` (``p_value < alpha``;
        fixed effects only), ``covers`` (the interval holds the true value),
        ``converged`` and ``singular``. Quantities a row does not have are NaN.
        ``attrs`` hold ``alpha``, ``n_fits`` and ``seconds`` (the time taken).
        Warnings of single fits are not shown: count them in ``singular``.
    """
    n_replicates = check_count(n_replicates, "n_replicates")
    new_design = check_bool(new_design, "new_design")
    if reml is not None:
        reml = check_bool(reml, "reml")
    variance_ci = check_bool(variance_ci, "variance_ci")
    progress = check_bool(progress, "progress")
    alpha = _check_number(alpha, "alpha")
    if not 0 < alpha < 1:
        raise ValueError(f"alpha must lie between 0 and 1 (e.g. 0.05), not {alpha}.")
    rng = check_seed(seed)
    from .lmm import fit_lmm  # here: lmm imports much of the package

    start = time.perf_counter()
    if _is_fit(model):
        _spec_args_unused(
            gamma=gamma, tau=tau, sigma2=sigma2, n_groups=n_groups,
            group_size=group_size, level1=level1, level2=level2,
        )  # fmt: skip
        if new_design:
            raise ValueError(
                "new_design=True needs a formula and predictor generators; a fitted "
                "model's design is kept."
            )
        if reml is not None and reml != model.reml:
            raise ValueError(
                f"The fitted model was estimated with reml={model.reml}; refits use the "
                "same method. Leave reml out, or fit the model again with the other one."
            )
        base = model
        truth = _estimates_truth(model)

        def draw():
            return base.refit(base.simulate(seed=rng)[0])
    else:
        spec = _Spec(model, gamma, tau, sigma2, n_groups, group_size, level1, level2)
        truth = spec.truth()
        state = {}

        def draw():
            if new_design or not state:
                frame = spec.draw_predictors(rng)
                X, Z = spec.matrices(frame)
                codes = frame[spec.group].to_numpy() - 1
                frame[spec.outcome] = spec.draw_outcome(X, Z, codes, rng)
                state.update(X=X, Z=Z, codes=codes)
                state["fit"] = fit_lmm(spec.f.text, frame, reml=reml is not False)
                return state["fit"]
            y = spec.draw_outcome(state["X"], state["Z"], state["codes"], rng)
            return state["fit"].refit(y)

    crit = scipy.stats.norm.ppf(1 - alpha / 2)
    rows = []
    bar = Progress(n_replicates, "simulation") if progress else None
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # singular fits are counted, not shown
        for r in range(n_replicates):
            fit = draw()
            rows += _rows(fit, r, truth, crit, alpha, variance_ci)
            if bar is not None:
                bar.update()
    if bar is not None:
        bar.close()
    table = pd.DataFrame(rows, columns=RESULT_COLUMNS)
    table.attrs.update(alpha=alpha, n_fits=n_replicates, seconds=time.perf_counter() - start)
    return table


def _estimates_truth(fit) -> dict:
    out = dict(zip(fit.fixed_names, fit.beta, strict=True))
    out.update(fit.random_part()["estimate"].to_dict())
    return out


def _rows(fit, r: int, truth: dict, crit: float, alpha: float, variance_ci: bool) -> list:
    conv, sing = bool(fit.converged), bool(fit.singular)
    rows = []
    # the arrays, not fit.fixed: a simulation needs no degrees of freedom
    est, se = np.asarray(fit.beta), np.sqrt(np.diag(fit.vcov.to_numpy()))
    lo, hi = est - crit * se, est + crit * se
    p = 2 * scipy.special.ndtr(-np.abs(est / se))  # as norm.sf, without its overhead
    for k, term in enumerate(fit.fixed_names):
        t = truth[term]
        rows.append(
            (r, term, t, est[k], se[k], lo[k], hi[k], p[k], bool(p[k] < alpha),
             bool(lo[k] <= t <= hi[k]), conv, sing)
        )  # fmt: skip
    sd_se = _sd_standard_errors(fit) if variance_ci else {}
    for par, sd_name, v in _variance_components(fit):
        t = truth[par]
        se = lo = hi = covers = np.nan
        if sd_name in sd_se:
            se = 2 * np.sqrt(v) * sd_se[sd_name]  # delta method: var = sd^2
            lo, hi = v - crit * se, v + crit * se
            covers = bool(lo <= t <= hi) if np.isfinite(se) else np.nan
        rows.append((r, par, t, v, se, lo, hi, np.nan, np.nan, covers, conv, sing))
    return rows


def _variance_components(fit) -> list[tuple[str, str | None, float]]:
    """(name as in fit.random_part(), name in fit.confint() or None, estimate).

    The same rows as ``fit.random_part()``, without building its DataFrame (that
    costs more than a refit's optimisation in a simulation loop).
    """
    tau, names = fit.tau.to_numpy(), list(fit.tau.index)
    out = [("sigma2_e", "sigma", float(fit.sigma2))]
    out += [(f"sigma2_u{i}", f"sd({a})", float(tau[i, i])) for i, a in enumerate(names)]
    for i in range(len(names)):
        for j in range(i + 1, len(names)):
            if fit.theta_is_free(i, j):
                out.append((f"sigma_u{i}{j}", None, float(tau[i, j])))
    return out


def _sd_standard_errors(fit) -> dict:
    """Wald standard errors of the standard deviations, from fit.confint('wald')."""
    try:
        ci = fit.confint(method="wald")
    except Exception:  # a fit where the Hessian cannot be formed: no intervals
        return {}
    half = (ci["ci_upper"] - ci["ci_lower"]) / 2 / scipy.stats.norm.ppf(0.975)
    return half.to_dict()


def power_summary(results: pd.DataFrame) -> pd.DataFrame:
    """Power, bias and interval coverage per parameter, with Monte Carlo standard errors.

    ``results`` is a table from :func:`power_simulation`. One row per term:
    ``n_replicates``, ``true_value``, ``mean_estimate``, ``bias`` (mean estimate
    minus truth) and ``bias_mcse`` (SD of the estimates / sqrt(R)),
    ``relative_bias`` (bias / truth; NaN for a truth of 0), ``empirical_se`` (SD
    of the estimates) and ``mean_std_error``, ``power`` (share of replicates with
    ``p < alpha``; for a true value of 0 this is the size of the test) and
    ``coverage`` (share of intervals holding the truth), each with its Monte Carlo
    standard error sqrt(p (1 - p) / R), and ``n_singular``.
    """
    if not isinstance(results, pd.DataFrame):
        raise TypeError(
            f"power_summary needs the table of hp.power_simulation, not {type(results).__name__}."
        )
    missing = set(RESULT_COLUMNS) - set(results.columns)
    if missing:
        raise ValueError(
            f"The table lacks the column(s) {sorted(missing)}: pass the DataFrame that "
            "hp.power_simulation returned."
        )
    if results.empty:
        raise ValueError("The table is empty: run hp.power_simulation with n_replicates >= 1.")
    out = []
    for term, g in results.groupby("term", sort=False):
        R = len(g)
        est = g["estimate"].to_numpy(dtype=float)
        truth = float(g["true_value"].iloc[0])
        sd = est.std(ddof=1) if R > 1 else np.nan
        power = g["reject"].astype(float).mean()
        cov = g["covers"].astype(float)
        coverage = cov.mean()
        n_cov = int(cov.notna().sum())
        out.append(
            {
                "term": term,
                "n_replicates": R,
                "true_value": truth,
                "mean_estimate": est.mean(),
                "bias": est.mean() - truth,
                "bias_mcse": sd / np.sqrt(R),
                "relative_bias": (est.mean() - truth) / truth if truth != 0 else np.nan,
                "empirical_se": sd,
                "mean_std_error": g["std_error"].astype(float).mean(),
                "power": power,
                "power_mcse": np.sqrt(power * (1 - power) / R),
                "coverage": coverage,
                "coverage_mcse": np.sqrt(coverage * (1 - coverage) / n_cov) if n_cov else np.nan,
                "n_singular": int(g["singular"].sum()),
            }
        )
    return pd.DataFrame(out).set_index("term")
