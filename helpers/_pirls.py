"""The GLMM engine: penalised IRLS, the Laplace approximation and adaptive Gauss-Hermite.

This follows lme4's ``glmer`` (Bates, Maechler, Bolker & Walker 2015, *Journal of
Statistical Software* 67(1); the lme4 "PIRLS" notes and ``src/external.cpp``) for
models with one grouping factor. The random effects of group *j* are ``b_j = T u_j``
with spherical ``u_j ~ N(0, I)`` and ``T`` the lower-triangular relative covariance
factor holding ``theta`` (no residual variance: ``tau = T T'``).

For fixed ``(theta, beta)`` the conditional modes ``u_j`` minimise the penalised
deviance ``D_j(u_j) = -2 sum_{i in j} log f(y_i | eta_i) + |u_j|^2``. Each group's
problem is separate, so one Fisher-scoring step needs only per-group sums::

    H_j = sum_i (Z_i T)' W_i (Z_i T) + I      (q x q)
    g_j = sum_i (Z_i T)' s_i - u_j            (q)
    u_j <- u_j + H_j^{-1} g_j                 (step halved per group if D_j rises)

with IRLS weights ``W_i = w_i mu'(eta_i)^2 / V(mu_i)`` and scores
``s_i = w_i (y_i - mu_i) mu'(eta_i) / V(mu_i)``: O(n q^2) to accumulate and O(J q^3)
to solve, never an n x n matrix. At the modes, with ``L_j L_j' = H_j``:

* Laplace (``nagq = 1``, any q)::

      dev(theta, beta) = sum_j [log|L_j|^2 + D_j(u_j)]

  which is lme4's ``ldL2 + sqrL + aic()``: -2 times the Laplace approximation to
  the log-likelihood with every constant of the density (binomial coefficients,
  log y!) included.

* Adaptive Gauss-Hermite (``nagq = K > 1``, scalar random intercept)::

      dev = sum_j [D_j(u_j) + log L_j^2 - 2 log sum_k w_k exp(-(D_j(u_j + z_k / L_j)
                                                             - D_j(u_j)) / 2 + z_k^2 / 2)]

  with the K-point rule ``(z_k, w_k)`` for the standard normal (weights summing to 1,
  lme4's ``GHrule``). K = 1 is the Laplace value.

The estimates minimise ``dev`` over ``(theta, beta)`` jointly, as glmer's second
stage does; like glmer's first stage (``nAGQ = 0``) a cheaper objective in
``theta`` alone, with ``beta`` and ``u`` updated together by penalised IRLS, gives
the starting values.

Unlike glmer (which optimises without derivatives), both stages use the exact
gradient of the Laplace deviance (``laplace_gradient``: envelope theorem for the
penalised deviance, implicit differentiation of the modes for ``log|L|^2``), at
the cost of about one PIRLS iteration; the Hessian for the standard errors is
central differences of it. Quadrature (``nagq > 1``) uses finite differences of
the deviance.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass

import numpy as np
import scipy.special
import scipy.stats

_EPS = np.finfo(float).eps
_ETA_MAX = 700.0


# ------------------------------------------------------------------------- families


@dataclass(frozen=True)
class Family:
    """A GLM family and link: the pieces PIRLS needs, as R's ``family`` objects hold them."""

    name: str  # "binomial" or "poisson"
    link: str  # "logit", "probit" or "log"

    def linkinv(self, eta: np.ndarray) -> np.ndarray:
        if self.link == "logit":
            return scipy.special.expit(eta)
        if self.link == "probit":
            return scipy.special.ndtr(eta)
        return np.exp(np.minimum(eta, _ETA_MAX))

    def linkfun(self, mu: np.ndarray) -> np.ndarray:
        if self.link == "logit":
            return scipy.special.logit(mu)
        if self.link == "probit":
            return scipy.special.ndtri(mu)
        return np.log(mu)

    def mu_eta(self, eta: np.ndarray, mu: np.ndarray) -> np.ndarray:
        if self.link == "logit":
            return np.maximum(mu * (1.0 - mu), _EPS)
        if self.link == "probit":
            return np.maximum(np.exp(-0.5 * eta**2) / np.sqrt(2.0 * np.pi), _EPS)
        return np.maximum(mu, _EPS)

    def variance(self, mu: np.ndarray) -> np.ndarray:
        if self.name == "binomial":
            return np.maximum(mu * (1.0 - mu), _EPS)
        return np.maximum(mu, _EPS)

    def clip(self, mu: np.ndarray) -> np.ndarray:
        if self.name == "binomial":
            return np.clip(mu, _EPS, 1.0 - _EPS)
        return np.maximum(mu, _EPS)

    def mean_and_kernel(self, y, eta, wt) -> tuple[np.ndarray, np.ndarray]:
        """mu and the per-row log density without its constant, from eta (stable forms).

        ``wt`` may be None for unit weights.
        """
        if self.link == "logit":
            e = np.exp(-np.abs(eta))
            sp = np.log1p(e)
            sp += np.maximum(eta, 0.0)  # softplus(eta) = log(1 + exp(eta))
            mu = np.exp(eta - sp)
            ll = y * eta
            ll -= sp
        elif self.link == "probit":
            mu = self.clip(scipy.special.ndtr(eta))
            ll = y * scipy.special.log_ndtr(eta) + (1.0 - y) * scipy.special.log_ndtr(-eta)
        else:
            mu = np.exp(np.minimum(eta, _ETA_MAX))
            ll = y * eta
            ll -= mu
        if wt is not None:
            ll *= wt
        return mu, ll

    def saturated_kernel(self, y, wt) -> np.ndarray:
        """Per-row log density at mu = y, without its constant."""
        if self.name == "binomial":
            return wt * (scipy.special.xlogy(y, y) + scipy.special.xlog1py(1.0 - y, -y))
        return wt * (scipy.special.xlogy(y, y) - y)

    def constant(self, y, wt) -> float:
        """Sum of the log-density terms free of mu: log choose(m, k), or -log y!."""
        if self.name == "binomial":
            m = np.round(wt)
            k = np.round(wt * y)
            return float(
                np.sum(
                    scipy.special.gammaln(m + 1)
                    - scipy.special.gammaln(k + 1)
                    - scipy.special.gammaln(m - k + 1)
                )
            )
        return float(-np.sum(wt * scipy.special.gammaln(y + 1.0)))

    def saturated_loglik(self, y, wt) -> float:
        """sum log f(y | mu = y): the log-likelihood of the saturated model."""
        return float(np.sum(self.saturated_kernel(y, wt))) + self.constant(y, wt)


# --------------------------------------------------------------------------- problem


@dataclass
class Problem:
    """Everything the engine needs, on the internal (centred and scaled) columns."""

    family: Family
    y: np.ndarray  # outcome (a proportion for binomial data)
    wt: np.ndarray  # prior weights (number of trials for binomial data)
    offset: np.ndarray
    X: np.ndarray  # n x p, internal scaling
    Z: np.ndarray  # n x q
    codes: np.ndarray  # group index of every row
    J: int
    lower_idx: tuple  # (rows, cols) of the free elements of T, lme4's theta order
    const: float = 0.0  # sum of the mu-free log-density terms
    starts: np.ndarray | None = None  # first row of each group (rows sorted by group)
    unit_weights: bool = False

    def __post_init__(self):
        if np.any(np.diff(self.codes) < 0):
            raise ValueError("Problem rows must be sorted by group (use make_problem).")
        self.starts = np.flatnonzero(np.r_[True, self.codes[1:] != self.codes[:-1]])
        if len(self.starts) != self.J:
            raise ValueError("Every group must have at least one row.")
        self.const = self.family.constant(self.y, self.wt)
        self.unit_weights = bool(np.all(self.wt == 1.0))

    @property
    def q(self) -> int:
        return self.Z.shape[1]

    @property
    def p(self) -> int:
        return self.X.shape[1]

    @property
    def n_theta(self) -> int:
        return len(self.lower_idx[0])

    def T(self, theta: np.ndarray) -> np.ndarray:
        T = np.zeros((self.q, self.q))
        T[self.lower_idx] = theta
        return T

    def theta_lower(self) -> np.ndarray:
        r, c = self.lower_idx
        return np.where(np.asarray(r) == np.asarray(c), 0.0, -np.inf)


def make_problem(family, y, wt, offset, X, Z, codes, J, lower_idx) -> tuple[Problem, np.ndarray]:
    """A Problem with its rows sorted by group (so per-group sums are contiguous).

    Returns the problem and the permutation: row k of the problem is row perm[k]
    of the input.
    """
    perm = np.argsort(codes, kind="stable")
    pb = Problem(
        family=family,
        y=np.ascontiguousarray(y[perm]),
        wt=np.ascontiguousarray(wt[perm]),
        offset=np.ascontiguousarray(offset[perm]),
        X=np.asfortranarray(X[perm]),  # column-major: the engine works column by column
        Z=np.asfortranarray(Z[perm]),
        codes=np.ascontiguousarray(codes[perm]),
        J=J,
        lower_idx=lower_idx,
    )
    return pb, perm


# ------------------------------------------------------------------ per-group algebra


# Products with an n-row matrix: einsum's own loops, not BLAS. On a machine whose
# cores are busy, OpenBLAS's threaded gemv/gemm wait for worker threads and take
# several times longer than the arithmetic (see benchmarks/README.md).


def _rows_times(A: np.ndarray, v: np.ndarray) -> np.ndarray:
    """A @ v for an n x k matrix A and a k-vector (or k x m matrix: column by column) v."""
    if v.ndim == 1:
        return np.einsum("ik,k->i", A, v)
    out = np.zeros((A.shape[0], v.shape[1]), order="F")
    for c in range(v.shape[1]):
        for r in np.flatnonzero(v[:, c]):
            out[:, c] += A[:, r] * v[r, c]
    return out


def _cols_times(A: np.ndarray, w: np.ndarray) -> np.ndarray:
    """A' w for an n x k matrix A and an n-vector w."""
    return np.einsum("ik,i->k", A, w)


def _weighted_crossprod(A: np.ndarray, w: np.ndarray) -> np.ndarray:
    """A' diag(w) A."""
    return np.einsum("ik,i,il->kl", A, w, A)


def _gsum(pb: Problem, v):
    """Per-group sums of a row vector (rows are sorted by group)."""
    return np.add.reduceat(v, pb.starts)


def _group_hessian(pb: Problem, ZT: np.ndarray, W: np.ndarray) -> np.ndarray:
    """H_j = sum_i (Z_i T)' W_i (Z_i T) + I, as a J x q x q array."""
    q, J = pb.q, pb.J
    H = np.empty((J, q, q))
    for a in range(q):
        wa = ZT[:, a] * W
        for b in range(a + 1):
            H[:, a, b] = H[:, b, a] = _gsum(pb, wa * ZT[:, b])
    H += np.eye(q)
    return H


def _inv(H: np.ndarray) -> np.ndarray:
    """Inverses of J symmetric positive definite q x q blocks (H_j >= I).

    Closed forms for q = 1 and 2 (numpy's batched LAPACK calls cost more than the
    arithmetic for such small blocks).
    """
    q = H.shape[1]
    if q == 1:
        return 1.0 / H
    if q == 2:
        a, b, d = H[:, 0, 0], H[:, 0, 1], H[:, 1, 1]
        det = a * d - b * b
        out = np.empty_like(H)
        out[:, 0, 0], out[:, 1, 1] = d / det, a / det
        out[:, 0, 1] = out[:, 1, 0] = -b / det
        return out
    return np.linalg.inv(H)


def _solve(H: np.ndarray, g: np.ndarray) -> np.ndarray:
    """H_j^{-1} g_j for J blocks H_j (q x q) and g (J x q, or J x q x p)."""
    if H.shape[1] == 1:
        return g / H[:, 0, :] if g.ndim == 2 else g / H
    if H.shape[1] == 2:
        Hi = _inv(H)
        return np.einsum("jab,jb->ja", Hi, g) if g.ndim == 2 else np.einsum("jab,jbk->jak", Hi, g)
    if g.ndim == 3:
        return np.linalg.solve(H, g)
    return np.linalg.solve(H, g[..., None])[..., 0]


def _logdet(H: np.ndarray) -> np.ndarray:
    if H.shape[1] == 1:
        return np.log(H[:, 0, 0])
    return np.linalg.slogdet(H)[1]


@dataclass
class Mode:
    """The conditional modes at (theta, beta) and what the deviance needs from them."""

    u: np.ndarray  # J x q
    eta: np.ndarray
    mu: np.ndarray
    H: np.ndarray  # J x q x q at the modes
    Dj: np.ndarray  # penalised deviance of each group at its mode
    converged: bool
    iterations: int


def _state(pb: Problem, base: np.ndarray, ZT: np.ndarray, u: np.ndarray):
    eta = (
        base + np.einsum("ij,ij->i", ZT, u[pb.codes])
        if pb.q > 1
        else base + ZT[:, 0] * u[pb.codes, 0]
    )
    mu, ll = pb.family.mean_and_kernel(pb.y, eta, None if pb.unit_weights else pb.wt)
    Dj = -2.0 * _gsum(pb, ll) + np.sum(u**2, axis=1)
    return eta, mu, Dj


def _weights(pb: Problem, eta, mu):
    """IRLS weights w mu'(eta)^2 / V(mu) and scores w (y - mu) mu'(eta) / V(mu)."""
    fam = pb.family
    if fam.link in ("logit", "log"):  # canonical links: mu' = V(mu)
        W = mu * (1.0 - mu) if fam.link == "logit" else mu.copy()
        s = pb.y - mu
        if not pb.unit_weights:
            W *= pb.wt
            s *= pb.wt
        return np.maximum(W, _EPS, out=W), s
    me = fam.mu_eta(eta, mu)
    var = fam.variance(mu)
    W = pb.wt * me**2 / var
    s = pb.wt * (pb.y - mu) * me / var
    return W, s


def _newton_weights(pb: Problem, eta, mu):
    """Observed information per row (-d2 log f / d eta2) and the score.

    The same as the IRLS weights for the canonical links (logit, log); for the
    probit link the observed information makes the mode search quadratically
    convergent. The mode does not depend on which is used; log|L|^2 always uses
    the IRLS (expected) weights, as lme4 does.
    """
    if pb.family.link != "probit":
        return _weights(pb, eta, mu)
    y, wt = pb.y, pb.wt
    logphi = -0.5 * eta**2 - 0.5 * np.log(2.0 * np.pi)
    r1 = np.exp(logphi - scipy.special.log_ndtr(eta))  # phi / Phi
    r0 = np.exp(logphi - scipy.special.log_ndtr(-eta))  # phi / (1 - Phi)
    s = wt * (y * r1 - (1.0 - y) * r0)
    W = wt * (y * r1 * (eta + r1) + (1.0 - y) * r0 * (r0 - eta))
    return np.maximum(W, _EPS), s


def pirls_u(pb: Problem, theta, beta, u0=None, tol: float = 1e-7, maxit: int = 100) -> Mode:
    """Conditional modes u for fixed (theta, beta): Fisher scoring, group by group."""
    ZT = _rows_times(pb.Z, pb.T(theta))
    base = pb.offset + _rows_times(pb.X, beta)
    u = np.zeros((pb.J, pb.q)) if u0 is None else u0.copy()
    eta, mu, Dj = _state(pb, base, ZT, u)
    converged = False
    it = 0
    for it in range(1, maxit + 1):  # noqa: B007 (it is reported)
        W, s = _newton_weights(pb, eta, mu)
        H = _group_hessian(pb, ZT, W)
        g = np.stack([_gsum(pb, s * ZT[:, a]) for a in range(pb.q)], axis=1) - u
        step = _solve(H, g)
        small = np.max(np.abs(step)) < tol
        u_new = u + step
        eta_n, mu_n, Dj_n = _state(pb, base, ZT, u_new)
        worse = Dj_n > Dj + 1e-12 * np.abs(Dj)
        halvings = 0
        while not small and np.any(worse) and halvings < 30:
            step[worse] *= 0.5
            u_new = u + step
            eta_n, mu_n, Dj_n = _state(pb, base, ZT, u_new)
            worse = Dj_n > Dj + 1e-12 * np.abs(Dj)
            halvings += 1
        if small:
            # The last Newton step is below tol: take it (the error left is O(tol^2))
            # so that log|L|^2, which is first-order in u, is exact to rounding.
            u, eta, mu, Dj = u_new, eta_n, mu_n, Dj_n
            converged = True
            break
        u, eta, mu, Dj = u_new, eta_n, mu_n, Dj_n
    W, _ = _weights(pb, eta, mu)
    H = _group_hessian(pb, ZT, W)
    return Mode(u=u, eta=eta, mu=mu, H=H, Dj=Dj, converged=converged, iterations=it)


def laplace(pb: Problem, mode: Mode) -> float:
    """-2 log-likelihood by the Laplace approximation, all constants included."""
    return float(np.sum(_logdet(mode.H)) + np.sum(mode.Dj) - 2.0 * pb.const)


def _weight_slope(pb: Problem, eta, mu, W) -> np.ndarray:
    """d W / d eta of the IRLS weights W = w mu'(eta)^2 / V(mu), row by row."""
    link = pb.family.link
    if link == "logit":  # W = w mu (1 - mu)
        return W * (1.0 - 2.0 * mu)
    if link == "log":  # W = w mu
        return W.copy()
    h = 1e-5 * np.maximum(1.0, np.abs(eta))  # probit: a central difference, row by row
    fam = pb.family

    def w_at(e):
        m = fam.clip(fam.linkinv(e))
        return pb.wt * fam.mu_eta(e, m) ** 2 / fam.variance(m)

    return (w_at(eta + h) - w_at(eta - h)) / (2.0 * h)


def _per_row(pb: Problem, M: np.ndarray, A: np.ndarray) -> np.ndarray:
    """Row i: M_{j(i)} @ A_i for a J x q x q array M and an n x q array A."""
    out = np.zeros_like(A)
    for a in range(pb.q):
        for b in range(pb.q):
            out[:, a] += M[pb.codes, a, b] * A[:, b]
    return out


def laplace_gradient(pb: Problem, theta, beta, mode: Mode, profiled: bool = False) -> np.ndarray:
    """Exact gradient of the Laplace deviance in (theta, beta), from the modes.

    dev = sum_j [log|H_j| + D_j(u_j)] with u_j the conditional mode. By the
    envelope theorem D_j contributes only its partial derivative at fixed u
    (-2 sum_i s_i d eta_i); log|H_j| depends on the parameters directly (through
    Z T and through eta) and through the mode, whose derivative comes from the
    stationarity condition: du_j/dx = -Ho_j^{-1} dF_j/dx with F_j = u_j - sum_i
    s_i a_i, a_i = T' z_i and Ho_j the Hessian with observed weights. Writing
    h_i = a_i' H_j^{-1} a_i, v_i = H_j^{-1} a_i, c_j = sum_i W'_i h_i a_i and
    m_j = Ho_j^{-1} c_j, r_i = a_i' m_j, and w1_i = -2 s_i + W'_i h_i - Wo_i r_i:

        d dev / d beta      = X' w1
        d dev / d T[r, c]   = sum_i z_ir (w1_i u_jc + 2 W_i v_ic + s_i m_jc)

    All O(n q^2 + J q^3), the cost of about one PIRLS iteration (the finite-
    difference gradient it replaces cost two deviance evaluations per parameter).

    ``profiled=True``: the modes are those of u and beta together (``pirls_joint``,
    the first stage), so beta moves with theta as well. D is stationary in beta
    too, and the derivative of the modes comes from the joint system
    [[Ho_j, C_j], [C', X'Wo X]]: with (m, m_beta) its solution for (c, e),
    e = X'(W' h), the same formulas hold with r_i = a_i' m_j + x_i' m_beta. Only
    the theta part is returned.
    """
    T = pb.T(theta)
    ZT = _rows_times(pb.Z, T)
    W, _ = _weights(pb, mode.eta, mode.mu)
    Wo, s = _newton_weights(pb, mode.eta, mode.mu)
    dW = _weight_slope(pb, mode.eta, mode.mu, W)
    Hinv = _inv(mode.H)
    V = _per_row(pb, Hinv, ZT)
    h = np.einsum("ia,ia->i", ZT, V)
    dWh = dW * h
    c = np.stack([_gsum(pb, dWh * ZT[:, a]) for a in range(pb.q)], axis=1)
    Ho = mode.H if pb.family.link != "probit" else _group_hessian(pb, ZT, Wo)
    if profiled:
        C = _cross(pb, ZT, Wo)
        HiC = _solve(Ho, C)
        S = _weighted_crossprod(pb.X, Wo) - np.einsum("jak,jal->kl", C, HiC)
        m_beta = np.linalg.solve(S, _cols_times(pb.X, dWh) - np.einsum("jak,ja->k", HiC, c))
        m = _solve(Ho, c - C @ m_beta)
        r = np.einsum("ia,ia->i", ZT, m[pb.codes]) + _rows_times(pb.X, m_beta)
    else:
        m = _solve(Ho, c)
        r = np.einsum("ia,ia->i", ZT, m[pb.codes])
    w1 = -2.0 * s + dWh - Wo * r
    g_beta = _cols_times(pb.X, w1)
    u_rows, m_rows = mode.u[pb.codes], m[pb.codes]
    rows, cols = pb.lower_idx
    g_theta = np.empty(len(rows))
    for k, (a, b) in enumerate(zip(rows, cols, strict=True)):
        g_theta[k] = np.einsum(
            "i,i->", pb.Z[:, a], w1 * u_rows[:, b] + 2.0 * W * V[:, b] + s * m_rows[:, b]
        )
    return g_theta if profiled else np.concatenate([g_theta, g_beta])


@functools.cache
def gh_rule(k: int) -> tuple[np.ndarray, np.ndarray]:
    """K-point Gauss-Hermite rule for the standard normal: nodes z and weights summing to 1.

    Cached (computing the rule costs more than a deviance evaluation); read-only.
    """
    z, w = np.polynomial.hermite_e.hermegauss(k)
    w = w / np.sqrt(2.0 * np.pi)
    z.setflags(write=False)
    w.setflags(write=False)
    return z, w


_AGQ_CELLS = 1 << 21  # rows x nodes evaluated at once (16 MB per temporary array)


def agq(pb: Problem, theta, beta, mode: Mode, nagq: int) -> float:
    """-2 log-likelihood by adaptive Gauss-Hermite quadrature (scalar random effect)."""
    z, w = gh_rule(nagq)
    zt = _rows_times(pb.Z, pb.T(theta))[:, 0]
    base = pb.offset + _rows_times(pb.X, beta)
    h = mode.H[:, 0, 0]
    sd = 1.0 / np.sqrt(h)
    y = pb.y[:, None]
    wt = None if pb.unit_weights else pb.wt[:, None]
    # All nodes at once (rows x nodes), in chunks of nodes for large data.
    logterms = np.empty((pb.J, len(z)))
    step = max(1, _AGQ_CELLS // len(base))
    for a in range(0, len(z), step):
        zk = z[a : a + step]
        U = mode.u[:, :1] + sd[:, None] * zk  # J x nodes: u_j + z_k / L_j
        _, ll = pb.family.mean_and_kernel(y, base[:, None] + zt[:, None] * U[pb.codes], wt)
        Dj = -2.0 * np.add.reduceat(ll, pb.starts, axis=0) + U**2
        logterms[:, a : a + step] = np.log(w[a : a + step]) - 0.5 * (Dj - mode.Dj[:, None])
        logterms[:, a : a + step] += 0.5 * zk**2
    logmult = scipy.special.logsumexp(logterms, axis=1)
    return float(np.sum(mode.Dj) + np.sum(np.log(h)) - 2.0 * np.sum(logmult) - 2.0 * pb.const)


# --------------------------------------------------------- joint PIRLS (first stage)


@dataclass
class JointMode:
    beta: np.ndarray
    mode: Mode
    rx_inv: np.ndarray  # (X'WX - sum C_j' H_j^{-1} C_j)^{-1}: lme4's unscaled vcov


def _cross(pb: Problem, ZT, W):
    """C_j = sum_i (Z_i T)' W_i X_i: J x q x p."""
    q, p, J = pb.q, pb.p, pb.J
    C = np.empty((J, q, p))
    for a in range(q):
        wa = ZT[:, a] * W
        for k in range(p):
            C[:, a, k] = _gsum(pb, wa * pb.X[:, k])
    return C


def schur(pb: Problem, theta, mode: Mode) -> np.ndarray:
    """X'WX - sum_j C_j' H_j^{-1} C_j at the modes (lme4's RX'RX)."""
    ZT = _rows_times(pb.Z, pb.T(theta))
    W, _ = _weights(pb, mode.eta, mode.mu)
    C = _cross(pb, ZT, W)
    HiC = _solve(mode.H, C)
    return _weighted_crossprod(pb.X, W) - np.einsum("jak,jal->kl", C, HiC)


def pirls_joint(
    pb: Problem, theta, beta0, u0=None, tol: float = 1e-12, maxit: int = 100
) -> JointMode:
    """Modes of u and beta together for fixed theta (glmer's nAGQ = 0 step)."""
    ZT = _rows_times(pb.Z, pb.T(theta))
    beta = beta0.copy()
    u = np.zeros((pb.J, pb.q)) if u0 is None else u0.copy()
    eta, mu, Dj = _state(pb, pb.offset + _rows_times(pb.X, beta), ZT, u)
    pdev = np.sum(Dj)
    converged = False
    it = 0
    for it in range(1, maxit + 1):  # noqa: B007 (it is reported)
        W, s = _newton_weights(pb, eta, mu)
        H = _group_hessian(pb, ZT, W)
        C = _cross(pb, ZT, W)
        g = np.stack([_gsum(pb, s * ZT[:, a]) for a in range(pb.q)], axis=1) - u
        gb = _cols_times(pb.X, s)
        HiC = _solve(H, C)
        Hig = _solve(H, g)
        S = _weighted_crossprod(pb.X, W) - np.einsum("jak,jal->kl", C, HiC)
        r = gb - np.einsum("jak,ja->k", C, Hig)
        db = np.linalg.solve(S, r)
        du = Hig - np.einsum("jak,k->ja", HiC, db)
        decrement = float(np.sum(g * du) + gb @ db)
        if decrement < tol * (1.0 + abs(pdev)):
            converged = True
            break
        fac = 1.0
        for _ in range(30):
            b_new, u_new = beta + fac * db, u + fac * du
            eta_n, mu_n, Dj_n = _state(pb, pb.offset + _rows_times(pb.X, b_new), ZT, u_new)
            if np.sum(Dj_n) <= pdev + 1e-12 * abs(pdev):
                break
            fac *= 0.5
        beta, u, eta, mu, Dj = b_new, u_new, eta_n, mu_n, Dj_n
        pdev = np.sum(Dj)
    W, _ = _weights(pb, eta, mu)
    H = _group_hessian(pb, ZT, W)
    mode = Mode(u=u, eta=eta, mu=mu, H=H, Dj=Dj, converged=converged, iterations=it)
    return JointMode(beta=beta, mode=mode, rx_inv=np.empty((0, 0)))


# ------------------------------------------------------------------------ objectives


class Objective:
    """dev(theta, beta) with the conditional modes warm-started from the last call."""

    def __init__(self, pb: Problem, nagq: int):
        self.pb, self.nagq = pb, nagq
        self.u = None
        self.evaluations = 0
        self.pirls_failures = 0

    def split(self, x):
        k = self.pb.n_theta
        return np.asarray(x[:k], dtype=float), np.asarray(x[k:], dtype=float)

    def mode(self, x) -> Mode:
        theta, beta = self.split(x)
        m = pirls_u(self.pb, theta, beta, self.u)
        if not m.converged:
            self.pirls_failures += 1
            m = pirls_u(self.pb, theta, beta, None)
        self.u = m.u
        return m

    def __call__(self, x) -> float:
        self.evaluations += 1
        theta, beta = self.split(x)
        m = self.mode(x)
        self._last = (np.array(x, dtype=float), m)
        if self.nagq > 1:
            return agq(self.pb, theta, beta, m, self.nagq)
        return laplace(self.pb, m)

    def gradient(self, x, lower) -> np.ndarray:
        """d dev / d (theta, beta): exact for the Laplace deviance, else central differences."""
        if self.nagq > 1:
            return fd_gradient(self, x, lower, h=1e-5)
        x = np.asarray(x, dtype=float)
        last = getattr(self, "_last", None)
        if last is None or not np.array_equal(last[0], x):
            self(x)
        theta, beta = self.split(x)
        return laplace_gradient(self.pb, theta, beta, self._last[1])

    def hessian(self, x, lower) -> tuple[float, np.ndarray, np.ndarray]:
        """Deviance, gradient and Hessian at x.

        Laplace: central differences of the exact gradient (2k evaluations for k
        parameters); quadrature: second differences of the deviance (lme4's deriv12).
        """
        if self.nagq > 1:
            return fd_hessian(self, x)
        x = np.asarray(x, dtype=float)
        steps = 1e-4 * np.maximum(1.0, np.abs(x))
        Hm = np.empty((x.size, x.size))
        for i in range(x.size):
            e = np.zeros(x.size)
            e[i] = steps[i]
            gp = self.gradient(x + e, lower)
            gm = self.gradient(x - e, lower)
            Hm[:, i] = (gp - gm) / (2.0 * steps[i])
        f0 = self(x)
        grad = self.gradient(x, lower)
        return f0, grad, 0.5 * (Hm + Hm.T)


def fd_gradient(f, x, lower, h=1e-6, central=True):
    """Finite-difference gradient; one-sided where a central step would cross a bound."""
    g = np.empty_like(x)
    f0 = None if central else f(x)
    for i in range(x.size):
        e = np.zeros_like(x)
        step = h * max(1.0, abs(x[i]))
        e[i] = step
        if not central:
            g[i] = (f(x + e) - f0) / step
        elif x[i] - step < lower[i]:
            g[i] = (f(x + e) - f(x)) / step
        else:
            g[i] = (f(x + e) - f(x - e)) / (2 * step)
    return g


def fd_hessian(f, x, h=1e-4):
    """Central second differences (as lme4's deriv12), steps h * max(1, |x_i|)."""
    k = x.size
    f0 = f(x)
    steps = h * np.maximum(1.0, np.abs(x))
    Hm = np.empty((k, k))
    fp = np.empty(k)
    fm = np.empty(k)
    for i in range(k):
        e = np.zeros(k)
        e[i] = steps[i]
        fp[i], fm[i] = f(x + e), f(x - e)
        Hm[i, i] = (fp[i] - 2 * f0 + fm[i]) / steps[i] ** 2
    for i in range(k):
        for j in range(i):
            ei = np.zeros(k)
            ej = np.zeros(k)
            ei[i], ej[j] = steps[i], steps[j]
            v = (f(x + ei + ej) - f(x + ei - ej) - f(x - ei + ej) + f(x - ei - ej)) / (
                4 * steps[i] * steps[j]
            )
            Hm[i, j] = Hm[j, i] = v
    grad = (fp - fm) / (2 * steps)
    return f0, grad, Hm
