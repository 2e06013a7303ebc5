r"""Numerical core of :func:`trialsynth.pooling.multivariate.pool_multivariate`.

The model is the linear mixed model of multivariate / multilevel meta-analysis

.. math::  y = X\beta + \sum_l Z_l u_l + w + e, \quad e \sim N(0, V),

with nested random intercepts :math:`u_l \sim N(0, \sigma^2_l I)` (levels) and one structured
random effect :math:`w` whose covariance within an outer group is :math:`\tau_i \tau_j R_{ij}(\rho)`
(struct ID, CS, HCS, UN, DIAG, AR, HAR, CAR), so that the marginal covariance is
:math:`M(\theta) = V + \sum_l \sigma^2_l Z_l Z_l' + G(\tau, \rho)` (Kalaian & Raudenbush 1996;
Konstantopoulos 2011; Ishak et al. 2007; Berkey et al. 1998). :math:`\theta` is estimated by
maximising the (restricted) log-likelihood

.. math::  \ell_{REML} = -\tfrac12\{(k-p)\log 2\pi - \log|X'X| + \log|M| + \log|X'M^{-1}X| + r'M^{-1}r\}

(Harville 1977, J Am Stat Assoc 72:320-338, eq. for the REML likelihood; the ``log|X'X|`` term
makes the value the same as metafor's) by Fisher scoring on a transformed scale (log variances,
atanh correlations, logit for CAR), with the gradient :math:`\partial\ell/\partial\theta_a =
-\tfrac12 tr(P \dot M_a) + \tfrac12 y'P\dot M_a P y` and the expected information
:math:`\tfrac12 tr(P\dot M_a P \dot M_b)` (Harville 1977, section 6; Searle, Casella & McCulloch
1992, Variance Components, ch. 6), followed by Newton steps on a finite-difference Hessian of the
analytic gradient once close to the optimum.

**Block structure.** Rows that share no random effect and no sampling covariance are independent,
so :math:`M` is block diagonal. The rows are split into these blocks (connected components) once;
blocks of similar size are padded to one size (a padded row has variance 1, outcome 0, design 0
and no random effect, which leaves every likelihood term unchanged) and stacked, so that a
likelihood evaluation is a handful of batched operations on (n_blocks, s, s) arrays: no dense
k x k inverse is ever formed, and the cost grows linearly with the number of trials.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

VAR, COR, COR01, FREE = "var", "cor", "cor01", "free"
LOG_2PI = math.log(2.0 * math.pi)
HETERO = ("HCS", "HAR", "UN", "DIAG")
LAGGED = ("AR", "HAR", "CAR")


def to_natural(kind: str, eta: float) -> float:
    if kind == FREE:
        return eta
    if kind == VAR:
        return math.exp(eta) if eta > -700 else 0.0
    if kind == COR:
        return math.tanh(eta)
    return 1.0 / (1.0 + math.exp(-eta)) if eta > -700 else 0.0


def to_eta(kind: str, value: float) -> float:
    if kind == FREE:
        return value
    if kind == VAR:
        return math.log(value) if value > 0 else -math.inf
    if kind == COR:
        value = min(max(value, -1.0), 1.0)
        return math.atanh(value) if abs(value) < 1 else math.copysign(math.inf, value)
    if value <= 0:
        return -math.inf
    if value >= 1:
        return math.inf
    return math.log(value / (1.0 - value))


def d_natural(kind: str, nat: float) -> float:
    """d natural / d eta at ``nat``."""
    if kind == FREE:
        return 1.0
    if kind == VAR:
        return nat
    if kind == COR:
        return 1.0 - nat * nat
    return nat * (1.0 - nat)


@dataclass
class Param:
    name: str
    kind: str  # VAR, COR, COR01
    group: str  # "sigma2", "tau2", "rho"
    index: object  # level number, inner-level code, or (a, b) pair


@dataclass
class Bucket:
    """Blocks of (padded) size s stacked: every array has the blocks on axis 0."""

    rows: np.ndarray  # (n, s) row index, -1 for padding
    real: np.ndarray  # (n, s) bool
    V: np.ndarray  # (n, s, s)
    y: np.ndarray  # (n, s)
    X: np.ndarray  # (n, s, p)
    S: list  # per level: (n, s, s) 0/1, same group
    O: np.ndarray | None = None  # (n, s, s) 0/1, same outer group
    E: np.ndarray | None = None  # (n, s, s) 0/1, same outer and same inner
    code: np.ndarray | None = None  # (n, s) inner code (0 for padding)
    lag: np.ndarray | None = None  # (n, s, s) |lag| (AR: ranks, CAR: times)
    pair: np.ndarray | None = None  # (n, s, s) UN pair number, -1 on the diagonal/outside
    Xflat: np.ndarray | None = None  # (n s, p)
    yflat: np.ndarray | None = None  # (n s,)


def connected_blocks(k: int, groupings: list, v_rows: np.ndarray, v_cols: np.ndarray) -> list:
    """Row indices of the independent blocks: connected components of the graph linking rows in
    the same group of any grouping, or with a non-zero sampling covariance.

    Minimum-label propagation: every row starts with its own number; each round gives every
    group, and both ends of every covariance, the smallest label among them, until nothing
    changes (a few rounds: the number is bounded by the graph's diameter)."""
    labels = np.arange(k, dtype=np.int64)
    orders = []
    for codes in groupings:
        order = np.argsort(codes, kind="stable")
        sc = codes[order]
        starts = np.concatenate([[0], np.flatnonzero(sc[1:] != sc[:-1]) + 1])
        sizes = np.diff(np.concatenate([starts, [k]]))
        orders.append((order, starts, sizes))
    for _ in range(k + 1):
        before = labels.copy()
        for order, starts, sizes in orders:
            mins = np.minimum.reduceat(labels[order], starts)
            labels[order] = np.repeat(mins, sizes)
        if v_rows.size:
            m = np.minimum(labels[v_rows], labels[v_cols])
            np.minimum.at(labels, v_rows, m)
            np.minimum.at(labels, v_cols, m)
        if np.array_equal(before, labels):
            break
    order = np.argsort(labels, kind="stable")
    cuts = np.flatnonzero(np.diff(labels[order])) + 1
    return np.split(order, cuts)


def bucket_blocks(blocks: list) -> list:
    """Groups of blocks padded to one size: a new group starts when a block is less than half
    the group's largest and that largest is above 16 (padding small blocks costs less than the
    per-call overhead of another group)."""
    blocks = sorted(blocks, key=len, reverse=True)
    groups, current, s_max = [], [], 0
    for blk in blocks:
        if current and s_max > 16 and len(blk) < s_max / 2:
            groups.append(current)
            current = []
        if not current:
            s_max = len(blk)
        current.append(blk)
    if current:
        groups.append(current)
    return groups


class Core:
    """The likelihood of one model specification, evaluated on stacked blocks.

    Parameters are given on their natural scale as a vector ordered as ``params``.
    """

    def __init__(self, y, X, v_triplets, *, level_codes, outer_codes, inner_codes, lags, struct, params,
                 n_inner, pairs, reml):
        self.y = y
        self.X = X
        self.k, self.p = X.shape
        self.struct = struct
        self.params = params
        self.n_inner = n_inner
        self.pairs = pairs
        self.reml = reml
        # a level is an array of group codes, or (codes, x) for a random slope on x within groups
        self.level_weights = [lc[1] if isinstance(lc, tuple) else None for lc in level_codes]
        level_codes = [lc[0] if isinstance(lc, tuple) else lc for lc in level_codes]
        self.n_levels = len(level_codes)
        groupings = list(level_codes)
        if outer_codes is not None:
            groupings.append(outer_codes)
        vi, vj, vx = v_triplets
        off = vi != vj
        blocks = connected_blocks(self.k, groupings, vi[off], vj[off])
        self.n_blocks = len(blocks)
        self.block_sizes = np.array([len(b) for b in blocks])
        self.buckets = [self._bucket(g, v_triplets, level_codes, outer_codes, inner_codes, lags)
                        for g in bucket_blocks(blocks)]
        # log|X'X| of the REML likelihood (metafor's constant)
        sign, ld = np.linalg.slogdet(X.T @ X)
        self.logdet_xtx = float(ld)
        self._kinds = [p.kind for p in params]
        self._i_sigma2 = np.array([i for i, q in enumerate(params) if q.group == "sigma2"], dtype=np.int64)
        self._i_tau2 = np.array([i for i, q in enumerate(params) if q.group == "tau2"], dtype=np.int64)
        self._i_rho = np.array([i for i, q in enumerate(params) if q.group == "rho"], dtype=np.int64)

    # ------------------------------------------------------------------ set-up
    def _bucket(self, group, v_triplets, level_codes, outer_codes, inner_codes, lags) -> Bucket:
        n, s = len(group), len(group[0])
        rows = np.full((n, s), -1, dtype=np.int64)
        for i, blk in enumerate(group):
            rows[i, :len(blk)] = blk
        real = rows >= 0
        safe = np.where(real, rows, 0)
        pair_real = real[:, :, None] & real[:, None, :]
        pos_n = np.full(self.k, -1, dtype=np.int64)
        pos_s = np.zeros(self.k, dtype=np.int64)
        pos_n[rows[real]] = np.nonzero(real)[0]
        pos_s[rows[real]] = np.nonzero(real)[1]
        vi, vj, vx = v_triplets
        mine = pos_n[vi] >= 0
        Vb = np.zeros((n, s, s))
        Vb[pos_n[vi[mine]], pos_s[vi[mine]], pos_s[vj[mine]]] = vx[mine]
        idx = np.arange(s)
        Vb[:, idx, idx] = np.where(real, Vb[:, idx, idx], 1.0)
        y = np.where(real, self.y[safe], 0.0)
        X = np.where(real[:, :, None], self.X[safe], 0.0)

        def same(codes):
            c = codes[safe]
            return ((c[:, :, None] == c[:, None, :]) & pair_real).astype(float)

        S = []
        for c, w in zip(level_codes, self.level_weights):
            m = same(c)
            if w is not None:
                ww = np.where(real, w[safe], 0.0)
                m = m * ww[:, :, None] * ww[:, None, :]
            S.append(m)
        b = Bucket(rows=rows, real=real, V=Vb, y=y, X=X, S=S)
        b.Xflat = X.reshape(-1, X.shape[2])
        b.yflat = y.reshape(-1)
        if outer_codes is not None:
            b.O = same(outer_codes)
            code = np.where(real, inner_codes[safe], 0)
            b.code = code
            b.E = b.O * (code[:, :, None] == code[:, None, :])
            if lags is not None:
                t = lags[safe]
                b.lag = np.abs(t[:, :, None] - t[:, None, :]) * b.O
            if self.struct == "UN":
                m = self.n_inner
                lookup = np.full((m, m), -1, dtype=np.int64)
                for num, (a, c) in enumerate(self.pairs):
                    lookup[a, c] = lookup[c, a] = num
                pr = lookup[code[:, :, None], code[:, None, :]]
                b.pair = np.where(b.O > 0, pr, -1)
        return b

    # ------------------------------------------------------------------ pieces
    def _split(self, theta):
        theta = np.asarray(theta, dtype=float)
        return theta[self._i_sigma2].tolist(), theta[self._i_tau2], theta[self._i_rho]

    def _struct(self, b: Bucket, tau2, rho, want: int):
        """G (n, s, s), its first derivatives with respect to the transformed tau2 and rho
        parameters (in the order of ``params``; ``want`` >= 1) and the non-zero second
        derivatives as (i, j, matrix) with local indices i <= j (``want`` >= 2)."""
        st = self.struct
        if st == "UNC":
            return self._struct_cholesky(b, want)
        hetero = st in HETERO
        if hetero:
            tr = np.sqrt(np.maximum(tau2, 0.0))[b.code] * b.real
            TT = tr[:, :, None] * tr[:, None, :] * b.O
        else:
            TT = tau2[0] * b.O
        OE = b.O - b.E
        if st in ("ID", "DIAG"):
            R = b.E
        elif st in ("CS", "HCS"):
            R = b.E + rho[0] * OE
        elif st in LAGGED:
            R = np.power(rho[0], b.lag) * b.O
        else:  # UN
            rho_full = np.concatenate([rho, [0.0]])
            R = np.where(b.pair >= 0, rho_full[b.pair], 0.0) + b.E
        G = TT * R
        if not want:
            return G, [], []
        n_tau = self.n_inner if hetero else 1
        d, d2 = [], []
        if hetero:
            oh = (b.code[:, :, None] == np.arange(self.n_inner)[None, None, :]) & b.real[:, :, None]
            halves = [0.5 * (oh[:, :, c, None] * 1.0 + oh[:, None, :, c]) for c in range(self.n_inner)]
            d.extend(G * h for h in halves)
            if want >= 2:
                for c in range(self.n_inner):
                    for e in range(c, self.n_inner):
                        prod = halves[c] * halves[e]
                        if prod.any():
                            d2.append((c, e, G * prod))
        else:
            halves = [None]
            d.append(G)
            if want >= 2:
                d2.append((0, 0, G))
        r0 = rho[0] if len(rho) else 0.0
        rho_d, rho_d2 = [], []
        if st in ("CS", "HCS"):
            base = TT * OE
            rho_d.append(base * (1.0 - r0 ** 2))
            rho_d2.append(base * (-2.0 * r0) * (1.0 - r0 ** 2))
        elif st in ("AR", "HAR"):
            lag = b.lag
            c1 = 1.0 - r0 ** 2
            dR = np.where(lag >= 1, lag * np.power(r0, np.maximum(lag - 1, 0)), 0.0)
            rho_d.append(TT * dR * c1)
            if want >= 2:
                d2R = np.where(lag >= 2, lag * (lag - 1) * np.power(r0, np.maximum(lag - 2, 0)), 0.0)
                rho_d2.append(TT * (d2R * c1 * c1 + dR * (-2.0 * r0) * c1))
        elif st == "CAR":
            lag = b.lag
            pw = np.power(r0, lag)
            rho_d.append(TT * lag * pw * (1.0 - r0))
            if want >= 2:
                rho_d2.append(TT * lag * pw * (1.0 - r0) * (lag * (1.0 - r0) - r0))
        elif st == "UN":
            for num in range(len(self.pairs)):
                base = TT * (b.pair == num)
                rho_d.append(base * (1.0 - rho[num] ** 2))
                rho_d2.append(base * (-2.0 * rho[num]) * (1.0 - rho[num] ** 2))
        d.extend(rho_d)
        if want >= 2:
            for n, dr in enumerate(rho_d):
                r_idx = n_tau + n
                d2.append((r_idx, r_idx, rho_d2[n]))
                for c in range(n_tau):
                    d2.append((c, r_idx, dr if halves[c] is None else dr * halves[c]))
        return G, d, d2

    def cholesky_factor(self, theta) -> np.ndarray:
        """UNC: the lower-triangular L (Sigma = L L') from the parameters, row by row."""
        m = self.n_inner
        L = np.zeros((m, m))
        L[np.tril_indices(m)] = np.asarray(theta, dtype=float)[self._i_tau2]
        return L

    def _struct_cholesky(self, b: Bucket, want: int):
        """UN through the Cholesky factor of its matrix (metafor's default parametrisation of
        UN): Sigma = L L' is positive semi-definite for any L, so a singular optimum (a
        correlation of +-1 or a rank-deficient matrix) is reached at finite parameters."""
        L = self.cholesky_factor(self._theta_now)
        m = self.n_inner
        Sigma = L @ L.T
        ci, cj = b.code[:, :, None], b.code[:, None, :]
        G = Sigma[ci, cj] * b.O
        if not want:
            return G, [], []
        d, d2 = [], []
        entries = list(zip(*np.tril_indices(m)))
        units = []
        for a, c in entries:
            E = np.zeros((m, m))
            E[a, c] = 1.0
            units.append(E)
            dS = E @ L.T + L @ E.T
            d.append(dS[ci, cj] * b.O)
        if want >= 2:
            for x in range(len(entries)):
                for y in range(x, len(entries)):
                    d2S = units[x] @ units[y].T + units[y] @ units[x].T
                    if np.any(d2S):
                        d2.append((x, y, d2S[ci, cj] * b.O))
        return G, d, d2

    def _Ms(self, theta, want: int):
        """Per bucket: M, the stack of its first derivatives (q, n, s, s) or None, and the list
        of non-zero second derivatives (i, j, matrix)."""
        sigma2, tau2, rho = self._split(theta)
        self._theta_now = theta
        n_lv = len(sigma2)
        q = len(self.params)
        out = []
        for b in self.buckets:
            M = b.V.copy()
            D = np.empty((q,) + M.shape) if want and q else None
            second = []
            for lv, s2 in enumerate(sigma2):
                if want:
                    np.multiply(b.S[lv], s2, out=D[lv])
                    M += D[lv]
                    if want >= 2:
                        second.append((lv, lv, D[lv]))
                elif s2 != 0.0:
                    M += s2 * b.S[lv]
            if b.O is not None:
                G, dG, d2G = self._struct(b, tau2, rho, want)
                M += G
                for n, m in enumerate(dG):
                    D[n_lv + n] = m
                second.extend((n_lv + i, n_lv + j, m) for i, j, m in d2G)
            out.append((M, D, second))
        return out

    def structured_G_psd(self, theta) -> bool:
        """For UN: the (tau, rho) matrix must be positive semi-definite."""
        if self.struct != "UN":
            return True
        _, tau2, rho = self._split(theta)
        m = self.n_inner
        R = np.eye(m)
        for num, (a, c) in enumerate(self.pairs):
            R[a, c] = R[c, a] = rho[num]
        t = np.sqrt(np.maximum(tau2, 0))
        return bool(np.linalg.eigvalsh(t[:, None] * R * t[None, :]).min() >= -1e-10 * max(1e-300, t.max() ** 2))

    # ------------------------------------------------------------------ evaluation
    def evaluate(self, theta, need: int = 0, *, reml: bool | None = None):
        """Log-likelihood at natural parameters ``theta``; with ``need`` 1 also its gradient,
        2 the expected (Fisher) information, 3 the observed Hessian, all with respect to the
        transformed parameters. Returns None when M (or X'M^-1X) is not positive definite.

        Per bucket, with W = M^-1 and A = W X, the pieces are (Harville 1977; Searle et al.
        1992, ch. 6): tr(P D) = tr(W D) - tr(C A'DA); y'P D P y = (Py)'D(Py); the information
        tr(P D_a P D_b)/2 = [tr(W D_a W D_b) - 2 tr(C A'D_a W D_b A) + tr(C B_a C B_b)]/2 with
        B_a = A'D_a A; the Hessian adds -tr(P D_ab)/2 + (Py)'D_ab(Py)/2 - (D_a Py)'P(D_b Py).
        """
        reml = self.reml if reml is None else reml
        if not self.structured_G_psd(theta):
            return None
        parts = self._Ms(theta, 0 if need == 0 else (2 if need >= 3 else 1))
        p = self.p
        logdet = 0.0
        xtwx = np.zeros((p, p))
        xtwy = np.zeros(p)
        cache = []
        for b, (M, derivs, second) in zip(self.buckets, parts):
            try:
                L = np.linalg.cholesky(M)
            except np.linalg.LinAlgError:
                return None
            logdet += 2.0 * float(np.log(np.diagonal(L, axis1=1, axis2=2)).sum())
            Minv = np.linalg.inv(M)
            A = Minv @ b.X
            A2 = A.reshape(-1, p)
            xtwx += b.Xflat.T @ A2
            xtwy += A2.T @ b.yflat
            cache.append((Minv, A2, derivs, second))
        if p == 1:
            if not xtwx[0, 0] > 0:
                return None
            C = 1.0 / xtwx
            logdet_x = math.log(xtwx[0, 0])
        else:
            try:
                Lx = np.linalg.cholesky(xtwx)
            except np.linalg.LinAlgError:
                return None
            C = np.linalg.inv(xtwx)
            logdet_x = 2.0 * float(np.log(np.diagonal(Lx)).sum())
        beta = C @ xtwy
        rpr = 0.0
        pys = []
        for b, (Minv, A2, derivs, second) in zip(self.buckets, cache):
            r = b.y - b.X @ beta
            Py = (Minv @ r[:, :, None])[:, :, 0]
            rpr += float(r.ravel() @ Py.ravel())
            pys.append(Py)
        if reml:
            ll = -0.5 * ((self.k - p) * LOG_2PI - self.logdet_xtx + logdet + logdet_x + rpr)
        else:
            ll = -0.5 * (self.k * LOG_2PI + logdet + rpr)
        res = {"ll": ll, "beta": beta, "C": C, "logdet": logdet, "rpr": rpr}
        if need == 0:
            return res
        q = len(self.params)
        grad = np.zeros(q)
        tr_md = np.zeros(q)
        B = np.zeros((q, p, p))
        fisher1 = np.zeros((q, q))
        t2 = np.zeros((q, q))
        uu = np.zeros((q, q))
        atu = np.zeros((q, p))
        hess2 = np.zeros((q, q))
        for (Minv, A2, D, second), Py, b in zip(cache, pys, self.buckets):
            if D is None:
                continue
            n, s = Py.shape
            Mflat = Minv.reshape(-1)
            tr_md += D.reshape(q, -1) @ Mflat
            U = (D @ Py[None, :, :, None])[..., 0]  # (q, n, s)
            Uf = U.reshape(q, -1)
            grad += 0.5 * (Uf @ Py.reshape(-1))
            H = (D @ A2.reshape(n, s, p)[None]).reshape(q, -1, p)  # D A, (q, ns, p)
            B += A2.T[None] @ H
            if need >= 2:
                Q = Minv[None] @ D
                fisher1 += Q.reshape(q, -1) @ np.swapaxes(Q, 2, 3).reshape(q, -1).T
                if reml:
                    K = (Minv[None] @ H.reshape(q, n, s, p)).reshape(q, -1, p)  # W D A
                    t2 += (H @ C).reshape(q, -1) @ K.reshape(q, -1).T
            if need >= 3:
                MU = (Minv[None] @ U[..., None])[..., 0]
                uu += Uf @ MU.reshape(q, -1).T
                atu += Uf @ A2
                if second:
                    S2 = np.stack([m for _, _, m in second])
                    m2 = S2.shape[0]
                    tr2 = S2.reshape(m2, -1) @ Mflat
                    if reml:
                        S2A = (S2 @ A2.reshape(n, s, p)[None]).reshape(m2, -1, p)
                        tr2 = tr2 - np.einsum("apq,qp->a", A2.T[None] @ S2A, C)
                    quad2 = (S2 @ Py[None, :, :, None])[..., 0].reshape(m2, -1) @ Py.reshape(-1)
                    vals = (-0.5 * tr2 + 0.5 * quad2).tolist()
                    for (a, c, _), val in zip(second, vals):
                        hess2[a, c] += val
                        if a != c:
                            hess2[c, a] += val
        if reml:
            trPD = tr_md - np.einsum("pq,aqp->a", C, B)
        else:
            trPD = tr_md
        grad += -0.5 * trPD
        res["grad"] = grad
        if need >= 2:
            if reml:
                CB = C[None] @ B
                t3 = np.einsum("apq,bqp->ab", CB, CB)
                fisher = 0.5 * (fisher1 - t2 - t2.T + t3)
            else:
                fisher = 0.5 * fisher1
            res["fisher"] = 0.5 * (fisher + fisher.T)
        if need >= 3:
            quad = uu - atu @ C @ atu.T
            hess = hess2 + res["fisher"] - 0.5 * (quad + quad.T)
            res["hessian"] = 0.5 * (hess + hess.T)
        return res

    def qe(self):
        """The test of residual heterogeneity: y'P_V y with M = V (k - p df)."""
        p = self.p
        xtwx = np.zeros((p, p))
        xtwy = np.zeros(p)
        yty = 0.0
        for b in self.buckets:
            Vinv = np.linalg.inv(b.V)
            A = Vinv @ b.X
            xtwx += np.einsum("nsp,nsq->pq", b.X, A)
            xtwy += np.einsum("nsp,ns->p", A, b.y)
            yty += float(np.einsum("ni,nij,nj->", b.y, Vinv, b.y))
        beta = np.linalg.solve(xtwx, xtwy)
        return max(yty - float(beta @ xtwy), 0.0)

    def logdet_v(self) -> float:
        """log|V| (for the ML deviance against the saturated model)."""
        return float(sum(2.0 * np.log(np.diagonal(np.linalg.cholesky(b.V), axis1=1, axis2=2)).sum()
                         for b in self.buckets))

    def v_blocks_pd(self):
        """The rows of the first block whose sampling covariance V is not positive definite
        (None when every block is)."""
        for b in self.buckets:
            try:
                np.linalg.cholesky(b.V)
            except np.linalg.LinAlgError:
                w = np.linalg.eigvalsh(b.V)
                bad = int(np.flatnonzero(w.min(axis=1) <= 0)[0])
                return b.rows[bad][b.real[bad]], float(w[bad].min())
        return None

    # ------------------------------------------------------------------ random effects
    def random_cov_rows(self, theta):
        """Per bucket: the covariance of the random effects (M - V), M^-1 and the rows."""
        out = []
        for b, (M, _, _) in zip(self.buckets, self._Ms(theta, 0)):
            out.append((b, M - b.V, np.linalg.inv(M)))
        return out


@dataclass
class FitState:
    theta: np.ndarray
    ll: float
    converged: bool
    iterations: int
    boundary: list = field(default_factory=list)
    message: str = ""
    evaluation: dict | None = None


def fit(core: Core, theta0: np.ndarray, free: np.ndarray, *, scale: float, max_iter: int = 200,
        tol: float = 1e-9) -> FitState:
    """Maximise the likelihood over the free parameters: Newton-Raphson on the exact Hessian of
    the transformed parameters where it is negative definite, Fisher scoring elsewhere, with
    step halving, until the largest step is below ``tol``.

    A variance whose likelihood keeps rising towards 0 is set to exactly 0 (tested by evaluating
    the likelihood there) and reported as on the boundary, as is a correlation within 1e-8 of a
    bound of its range. A variance set to 0 is released again when a small positive value
    is better at the end.
    """
    kinds = [p.kind for p in core.params]
    q = len(kinds)
    free = np.array(free, dtype=bool)
    eta = np.array([to_eta(kd, float(v)) for kd, v in zip(kinds, theta0)])
    floor = 1e-10 * scale
    at_bound = np.zeros(q, dtype=bool)

    held = ~free
    held_values = np.asarray(theta0, dtype=float)[held]

    def nat(e):
        out = np.array([to_natural(kd, x) for kd, x in zip(kinds, e)])
        out[held] = held_values  # fixed values exactly as given (no round trip through eta)
        return out

    cur = core.evaluate(nat(eta), 3)
    if cur is None:
        return FitState(nat(eta), -math.inf, False, 0,
                        message="the starting values give a covariance that is not positive definite")
    it = 0
    converged = False
    message = ""
    prev_ll = cur["ll"]
    flat = 0
    history = []
    while it < max_iter:
        it += 1
        act = free & ~at_bound
        if act.any():
            diag = np.diag(cur["fisher"])
            act &= diag > 1e-14 * max(1.0, float(np.abs(diag[act]).max(initial=0.0)))
        if not act.any():
            converged = True
            break
        ia = np.flatnonzero(act)
        g = cur["grad"][ia]
        neg_h = -cur["hessian"][ia][:, ia]
        fisher = cur["fisher"][ia][:, ia]
        steps = []
        try:
            np.linalg.cholesky(neg_h)
            steps.append(np.linalg.solve(neg_h, g))
        except np.linalg.LinAlgError:
            pass
        ridge = 1e-12 * max(float(np.trace(fisher)), 1e-300) / len(g)
        try:
            steps.append(np.linalg.solve(fisher + ridge * np.eye(len(g)), g))
        except np.linalg.LinAlgError:
            steps.append(np.linalg.lstsq(fisher, g, rcond=None)[0])
        accepted = None
        for step in steps:
            big = float(np.max(np.abs(step)))
            if big > 2.0:
                step = step * (2.0 / big)
            t = 1.0
            while t > 1e-6:
                trial = eta.copy()
                trial[act] += t * step
                new = core.evaluate(nat(trial), 3)
                if new is not None and new["ll"] >= cur["ll"] - 1e-13 * max(1.0, abs(cur["ll"])):
                    accepted = (trial, new, t * step)
                    break
                t *= 0.5
            if accepted is not None:
                break
        if accepted is None:
            converged = float(np.max(np.abs(g))) < 1e-6
            message = "" if converged else "no step increased the likelihood"
            break
        eta, cur, taken = accepted
        # variances heading for 0: is 0 itself at least as good?
        newly = False
        for pos, i in enumerate(np.flatnonzero(act)):
            v = to_natural(kinds[i], eta[i])
            if kinds[i] == VAR and (v < floor or (taken[pos] <= -0.5 and v < 0.05 * scale)):
                probe = eta.copy()
                probe[i] = -math.inf
                e0 = core.evaluate(nat(probe), 3)
                if e0 is not None and (v < floor or e0["ll"] >= cur["ll"] - 1e-13 * max(1.0, abs(cur["ll"]))):
                    eta, cur = probe, e0
                    at_bound[i] = newly = True
            elif kinds[i] in (COR, COR01):
                lo_edge = -1.0 if kinds[i] == COR else 0.0
                near = v > 1 - 1e-7 or v < lo_edge + (1e-7 if kinds[i] == COR else 1e-8)
                heading = abs(taken[pos]) >= 0.5 and (v > 0.9 or v < lo_edge + 0.1)
                if near:
                    at_bound[i] = newly = True
                elif heading:
                    # a correlation running to a bound of its range: is the bound itself as good?
                    edge = 1 - 1e-12 if taken[pos] > 0 else lo_edge + (1e-12 if kinds[i] == COR else 1e-12)
                    probe = eta.copy()
                    probe[i] = to_eta(kinds[i], edge)
                    e0 = core.evaluate(nat(probe), 3)
                    if e0 is not None and e0["ll"] >= cur["ll"] - 1e-13 * max(1.0, abs(cur["ll"])):
                        eta, cur = probe, e0
                        at_bound[i] = newly = True
        if newly:
            continue
        if float(np.max(np.abs(taken))) < tol:
            converged = True
            break
        # a flat ridge (e.g. a singular UN matrix): the likelihood no longer changes and the
        # gradient is nil although steps along the ridge are not small
        d_ll = cur["ll"] - prev_ll
        prev_ll = cur["ll"]
        flat = flat + 1 if abs(d_ll) < 1e-13 * max(1.0, abs(cur["ll"])) else 0
        if flat >= 3 and float(np.max(np.abs(cur["grad"][act]))) < 1e-7:
            converged = True
            break
        history.append(cur["ll"])
        if len(history) > 6 and history[-1] - history[-6] < 1e-10 * max(1.0, abs(cur["ll"])):
            # five iterations gained nothing: a ridge along which parameters trade off (e.g. a
            # random intercept and CAR with rho at 1); the likelihood is at its maximum
            converged = True
            message = "flat likelihood (parameters not separately identified)"
            break
    else:
        message = f"no convergence in {max_iter} iterations"
    # a variance set to 0: release it when a small positive value is better
    for i in np.flatnonzero(at_bound & free):
        if kinds[i] != VAR:
            continue
        probe = eta.copy()
        probe[i] = math.log(max(scale, 1e-300) * 1e-6)
        e = core.evaluate(nat(probe), 0)
        if e is not None and e["ll"] > cur["ll"] + 1e-9 * max(1.0, abs(cur["ll"])):
            sub = fit(core, nat(probe), free, scale=scale, max_iter=max(max_iter - it, 1), tol=tol)
            sub.iterations += it
            return sub
    theta = nat(eta)
    boundary = [core.params[i].name for i in np.flatnonzero(at_bound & free)]
    return FitState(theta, cur["ll"], converged, it, boundary, message, cur)


__all__ = ["Bucket", "COR", "COR01", "Core", "FitState", "HETERO", "LAGGED", "Param", "VAR", "bucket_blocks",
           "connected_blocks", "d_natural", "fit", "to_eta", "to_natural"]
