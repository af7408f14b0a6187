"""The machinery of confidence intervals, over the interval interface of a fit.

:func:`intervals` is what ``m.confint()`` does (documented in :mod:`helpers.confint`,
whose ``confint(fit)`` calls it): it checks the options, then asks the fit for its
:class:`DevianceProfile` (``fit.deviance_profile()``) and computes Wald, profile or
bootstrap intervals from that object alone. Each model family implements the
interface next to its own optimiser (:mod:`helpers._lmm_profile` for
:class:`helpers.LmmFit`, :mod:`helpers.glmm` for :class:`helpers.GlmmFit`), as lme4's
``profile()`` works through the model's own deviance function (``devfun2``) and the
family supplies what differs.

Also here: the map between a covariance matrix and the standard deviations and
correlations that intervals are given on (:func:`cov_factor`, :func:`sd_cor`,
:func:`random_params`), shared by the families.

Imports: numpy, scipy, pandas, and :mod:`helpers.resample` (the simulate-refit loop
of the bootstrap, which needs only ``fit.simulate`` and ``fit.refit``). Nothing here
knows a fit class: the families import this module, not the reverse.
"""

from __future__ import annotations

import warnings
from typing import ClassVar

import numpy as np
import pandas as pd
import scipy.stats

from ._validate import check_level
from .resample import bootstrap

__all__ = ["DevianceProfile", "cov_factor", "intervals", "random_params", "sd_cor"]

_METHODS = ("profile", "wald", "bootstrap")


# ---------------------------------------------------------------------- the interface


class DevianceProfile:
    """What a confidence interval needs of a fit: ``fit.deviance_profile()`` returns one.

    The parameters are those lme4 gives intervals on, in this order: the standard
    deviation of every random term (``sd(term)``), the correlation of every pair of
    terms whose covariance is estimated (``cor(a, b)``), the residual standard
    deviation ``sigma`` where the family has one, then the fixed effects by term.

    Attributes
    ----------
    names : list of str
        The parameters' names, in that order.
    kinds : list of str
        ``"sd"``, ``"cor"``, ``"sigma"`` or ``"beta"`` for each parameter.
    estimate : numpy.ndarray
        The fit's estimates of the parameters (REML or ML, as fitted).
    bootstrap_refusal : str or None
        Why ``method="bootstrap"`` is not available for this family (None: it is).

    A family implements :meth:`lower`, :meth:`upper`, :meth:`standard_errors`,
    :meth:`profile_search` and, if it can be bootstrapped, :meth:`replicate_values`.
    """

    names: list[str]
    kinds: list[str]
    estimate: np.ndarray
    bootstrap_refusal: ClassVar[str | None] = None

    def lower(self) -> np.ndarray:
        """Lower bound of each parameter (0 for an sd, -1 for a correlation, else -inf)."""
        raise NotImplementedError

    def upper(self) -> np.ndarray:
        """Upper bound of each parameter (1 for a correlation, else inf)."""
        raise NotImplementedError

    def standard_errors(self) -> np.ndarray:
        """Standard errors of the parameters for Wald intervals (NaN where none exists)."""
        raise NotImplementedError

    def profile_search(self):
        """``(centre, steps, dev_min, minimise)`` for the profile.

        ``centre``: the parameters where the profiled deviance is smallest,
        ``dev_min`` (for a REML fit, the ML optimum); ``steps``: a first step
        from the centre for each parameter (about a standard error);
        ``minimise(k, x, start)``: the minimum deviance with parameter k held at x
        and the optimum it found (``start``: a previous optimum, or None).
        """
        raise NotImplementedError

    def after_profile(self) -> None:
        """Called when the profile is done (e.g. to warn that it found a lower deviance)."""

    def replicate_values(self, boot: pd.DataFrame) -> np.ndarray:
        """The parameters of every replicate of :func:`helpers.bootstrap`'s table (one row
        per replicate, one column per parameter)."""
        raise NotImplementedError(self.bootstrap_refusal or "no bootstrap for this family")


# ------------------------------------------------------------- sd and cor <-> tau


def cov_factor(values, pairs, kinds, q):
    """Standard deviations and correlations -> a lower-triangular T with T T' = tau.

    ``pairs[k]`` is (i, i) for the sd of term i and (i, j) for the correlation of
    terms i and j; ``kinds[k]`` says which (extra trailing kinds are ignored). A
    boundary value (an sd of 0, a correlation of +/-1) gives a singular T.
    """
    sd = np.zeros(q)
    R = np.eye(q)
    for (i, j), kind, v in zip(pairs, kinds[: len(pairs)], values, strict=True):
        if kind == "sd":
            sd[i] = v
        else:
            R[i, j] = R[j, i] = v
    return sd[:, None] * _chol_psd(R)


def sd_cor(tau, pairs, kinds) -> list[float]:
    """A covariance matrix -> the standard deviations and correlations named by pairs."""
    sd = np.sqrt(np.clip(np.diag(tau), 0, None))
    out = []
    for (i, j), kind in zip(pairs, kinds[: len(pairs)], strict=True):
        if kind == "sd":
            out.append(float(sd[i]))
        elif kind == "cor":
            denom = sd[i] * sd[j]
            out.append(float(np.clip(tau[i, j] / denom, -1, 1)) if denom > 0 else 0.0)
    return out


def _chol_psd(R):
    """Lower Cholesky factor of a positive semi-definite matrix (zero pivots allowed)."""
    k = R.shape[0]
    L = np.zeros_like(R)
    for c in range(k):
        d = R[c, c] - np.sum(L[c, :c] ** 2)
        L[c, c] = np.sqrt(max(d, 0.0))
        for r in range(c + 1, k):
            if L[c, c] > 1e-12:
                L[r, c] = (R[r, c] - np.sum(L[r, :c] * L[c, :c])) / L[c, c]
    return L


def random_params(fit) -> tuple[list[str], list[str], list[tuple[int, int]]]:
    """Names, kinds ("sd"/"cor") and term pairs of the random part's parameters."""
    terms = fit.random_terms
    q = len(terms)
    names, kinds, pairs = [], [], []
    for i, a in enumerate(terms):
        names.append(f"sd({a})")
        kinds.append("sd")
        pairs.append((i, i))
    for i in range(q):
        for j in range(i + 1, q):
            if fit.theta_is_free(i, j):
                names.append(f"cor({terms[i]}, {terms[j]})")
                kinds.append("cor")
                pairs.append((i, j))
    return names, kinds, pairs


# ------------------------------------------------------------------------- profile


def _invert(zeta, est, step, lo, hi, crit):
    """Lower and upper ends where zeta(x) = -crit and +crit.

    zeta is nearly linear in x (exactly so when the likelihood is normal), so a
    secant search that starts from the Wald end ``est +/- crit step`` needs few
    profile evaluations; once the root is bracketed it stays inside the bracket
    (bisecting when a secant step would leave it). A boundary is the end when zeta
    has not reached the cut-off there.
    """
    return [_invert_side(zeta, est, step, bound, s * crit) for s, bound in ((-1, lo), (1, hi))]


def _invert_side(zeta, est, step, bound, target):
    sign = np.sign(target)
    x_prev, z_prev = est, 0.0
    inside, outside = est, None
    x = est + target * step
    if (x - bound) * sign >= 0:
        x = bound
    for _ in range(40):
        z = zeta(x)
        if abs(z - target) < 1e-5:
            return x
        if (z - target) * sign > 0:
            outside = x
        elif x == bound:
            return bound  # the deviance does not rise enough before the boundary
        else:
            inside = x
        slope = (z - z_prev) / (x - x_prev) if x != x_prev else np.nan
        x_new = x + (target - z) / slope if np.isfinite(slope) and slope > 0 else np.nan
        if outside is not None:
            a, b = sorted((inside, outside))
            if not (np.isfinite(x_new) and a < x_new < b):
                x_new = 0.5 * (inside + outside)
        elif not np.isfinite(x_new) or (x_new - x) * sign <= 0:
            x_new = x + (x - est)
        if (x_new - bound) * sign >= 0:
            x_new = bound
        if abs(x_new - x) < 1e-8 * max(1.0, abs(x)):
            return x_new
        x_prev, z_prev, x = x, z, x_new
    return np.nan


# ---------------------------------------------------------------- profile driver


def _profile_ends(est, steps, lo, hi, crit, dev_min, minimise):
    """Both profile ends of every parameter.

    ``minimise(k, x, start)`` returns the minimum deviance with parameter k held at
    x and the optimum it found (or None); ``start`` is the optimum of the previous
    point on the same side of the estimate (None for the first: start from the
    fit). zeta(x) = sign(x - est) sqrt(d(x) - dev_min) is inverted by :func:`_invert`.
    """
    lower, upper = [], []
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        for k in range(len(est)):
            starts: dict[bool, np.ndarray | None] = {}

            def zeta(x, k=k, starts=starts):
                side = bool(x > est[k])
                d, opt = minimise(k, x, starts.get(side))
                starts[side] = opt
                return np.sign(x - est[k]) * np.sqrt(max(d - dev_min, 0.0))

            low, up = _invert(zeta, est[k], steps[k], lo[k], hi[k], crit)
            lower.append(low)
            upper.append(up)
    return np.array(lower), np.array(upper)


# ----------------------------------------------------------------------- intervals


def intervals(fit, *, method: str, level: float, n: int | None, seed) -> pd.DataFrame:
    """Intervals for every parameter of ``fit`` (see :func:`helpers.confint.confint`)."""
    if not isinstance(method, str) or method.lower() not in _METHODS:
        raise ValueError(f"method must be one of {list(_METHODS)}, not {method!r}.")
    method = method.lower()
    level = check_level(level)
    dp = fit.deviance_profile()
    if method == "bootstrap" and dp.bootstrap_refusal is not None:
        raise ValueError(dp.bootstrap_refusal)
    if method != "bootstrap" and (n is not None or seed is not None):
        raise ValueError(
            f"n and seed set the bootstrap's replicates; method={method!r} does not use "
            "them. Pass method='bootstrap', or leave n and seed out."
        )
    crit = scipy.stats.norm.ppf(0.5 + level / 2)
    est = dp.estimate
    if method == "bootstrap":
        values = dp.replicate_values(bootstrap(fit, n=1000 if n is None else n, seed=seed))
        probs = [(1 - level) / 2, (1 + level) / 2]
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)  # a column of NaN: its ends are NaN
            lower, upper = np.nanquantile(values, probs, axis=0)
    elif method == "wald":
        se = dp.standard_errors()
        lower, upper = est - crit * se, est + crit * se
    else:
        centre, steps, dev_min, minimise = dp.profile_search()
        lower, upper = _profile_ends(centre, steps, dp.lower(), dp.upper(), crit, dev_min, minimise)
        dp.after_profile()
    return _table(dp.names, est, lower, upper)


def _table(names, est, lower, upper) -> pd.DataFrame:
    return pd.DataFrame(
        {"estimate": est, "ci_lower": lower, "ci_upper": upper},
        index=pd.Index(names, name="parameter"),
    )
