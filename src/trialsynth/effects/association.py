r"""Further effect sizes of a 2x2 table: the arcsine difference, phi, Yule's Q and Y.

Used through :func:`trialsynth.effect_sizes` (``events1, n1, events2, n2``), as
``metafor::escalc`` (3.8) computes them. The zero-cell rule is that of the other
2x2 measures; ``AS`` and ``PHI`` are finite at zero cells, so for them ``add``
defaults to 0 (as in metafor).

* ``AS``: arcsine square-root risk difference (Rucker, Schwarzer, Carpenter & Olkin
  2009, *Stat Med* 28:721-738), twice of which is Cohen's *h*;
* ``PHI``: phi coefficient, with the variance of cross-sectional (multinomial,
  ``vtype="CS"``, the default) or stratified (fixed arm sizes, ``vtype="ST"``)
  sampling;
* ``YUQ``, ``YUY``: Yule's Q and Y (Yule 1912, *J R Stat Soc* 75:579-652).
"""

from __future__ import annotations

import numpy as np

from trialsynth.effects._common import MeasureSpec, binary_cells

__all__ = ["ASSOCIATION_MEASURES"]


def _as(a, *, add, to, drop00, vtype):
    r"""Arcsine difference (Rucker et al. 2009).

    :math:`y = \arcsin\sqrt{p_1} - \arcsin\sqrt{p_2}`, :math:`v = 1/(4 n_1) + 1/(4 n_2)`
    (the variance-stabilising angular transformation, Anscombe 1948).
    """
    ai, bi, ci, di, dropped = binary_cells(a, add, to, drop00)
    n1, n2 = ai + bi, ci + di
    return np.arcsin(np.sqrt(ai / n1)) - np.arcsin(np.sqrt(ci / n2)), 1 / (4 * n1) + 1 / (4 * n2), dropped


def _phi(a, *, add, to, drop00, vtype):
    r"""Phi coefficient of a 2x2 table.

    :math:`\phi = (ad - bc)/\sqrt{n_1 n_2 m_1 m_2}` with row totals :math:`n_1, n_2`
    and column totals :math:`m_1 = a + c, m_2 = b + d`.

    ``vtype="CS"`` (and ``"LS"``): the large-sample variance under multinomial
    (cross-sectional) sampling, with :math:`p_{i\cdot} = n_i/n`,
    :math:`p_{\cdot j} = m_j/n` (Bishop, Fienberg & Holland 1975, *Discrete
    Multivariate Analysis*, ch. 11),

    .. math:: v = \frac{1}{n}\Big[1 - \phi^2 + \phi\big(1 + \tfrac{\phi^2}{2}\big)
              \frac{(p_{1\cdot} - p_{2\cdot})(p_{\cdot 1} - p_{\cdot 2})}
                   {\sqrt{p_{1\cdot} p_{2\cdot} p_{\cdot 1} p_{\cdot 2}}}
              - \tfrac{3}{4}\phi^2\Big(\frac{(p_{1\cdot} - p_{2\cdot})^2}{p_{1\cdot} p_{2\cdot}}
              + \frac{(p_{\cdot 1} - p_{\cdot 2})^2}{p_{\cdot 1} p_{\cdot 2}}\Big)\Big].

    ``vtype="ST"``: the row totals fixed by design (stratified sampling, as in a
    trial). Writing :math:`\phi = \sqrt{n_1 n_2}(\pi_1 - \pi_2)/\sqrt{m_1 m_2}` in the
    two risks :math:`\pi_i`, the delta method gives
    :math:`v = \phi_1'^2 \pi_1(1-\pi_1)/n_1 + \phi_2'^2 \pi_2(1-\pi_2)/n_2` with
    :math:`\phi_1' = \sqrt{n_1 n_2/(m_1 m_2)}\,[1 - (\pi_1 - \pi_2) n_1 (m_2 - m_1)/(2 m_1 m_2)]`
    and :math:`\phi_2' = \sqrt{n_1 n_2/(m_1 m_2)}\,[-1 - (\pi_1 - \pi_2) n_2 (m_2 - m_1)/(2 m_1 m_2)]`.

    A table with an empty row or column has no phi coefficient.
    """
    ai, bi, ci, di, dropped = binary_cells(a, add, to, drop00)
    n1, n2 = ai + bi, ci + di
    m1, m2 = ai + ci, bi + di
    n = n1 + n2
    with np.errstate(divide="ignore", invalid="ignore"):
        scale = np.sqrt(n1 * n2 / (m1 * m2))
        phi = (ai * di - bi * ci) / np.sqrt(n1 * n2 * m1 * m2)
        if vtype == "ST":
            pi1, pi2 = ai / n1, ci / n2
            tilt = (pi1 - pi2) * (m2 - m1) / (2.0 * m1 * m2)
            d1 = scale * (1.0 - tilt * n1)
            d2 = scale * (-1.0 - tilt * n2)
            vi = d1**2 * pi1 * (1 - pi1) / n1 + d2**2 * pi2 * (1 - pi2) / n2
        else:
            r1, r2, c1, c2 = n1 / n, n2 / n, m1 / n, m2 / n
            vi = (
                1.0
                - phi**2
                + phi * (1.0 + phi**2 / 2.0) * (r1 - r2) * (c1 - c2) / np.sqrt(r1 * r2 * c1 * c2)
                - 0.75 * phi**2 * ((r1 - r2) ** 2 / (r1 * r2) + (c1 - c2) ** 2 / (c1 * c2))
            ) / n
    return phi, vi, dropped


def _yule(power):
    def compute(a, *, add, to, drop00, vtype):
        ai, bi, ci, di, dropped = binary_cells(a, add, to, drop00)
        with np.errstate(divide="ignore", invalid="ignore"):
            odds_ratio = (ai * di / (bi * ci)) ** power
            value = (odds_ratio - 1.0) / (odds_ratio + 1.0)
            var_log_or = 1 / ai + 1 / bi + 1 / ci + 1 / di
        return value, (power**2 / 4.0) * (1.0 - value**2) ** 2 * var_log_or, dropped

    return compute


_yuq = _yule(1.0)
_yuq.__doc__ = r"""Yule's Q (Yule 1900; 1912): :math:`Q = (OR - 1)/(OR + 1)`.

    :math:`v = \tfrac14 (1 - Q^2)^2 (1/a + 1/b + 1/c + 1/d)` (Yule 1900, delta
    method on Woolf's variance of the log odds ratio; Bishop, Fienberg & Holland
    1975, ch. 11).
    """
_yuy = _yule(0.5)
_yuy.__doc__ = r"""Yule's Y, the coefficient of colligation (Yule 1912): :math:`Y = (\sqrt{OR} - 1)/(\sqrt{OR} + 1)`.

    :math:`v = \tfrac1{16} (1 - Y^2)^2 (1/a + 1/b + 1/c + 1/d)` (delta method, as for Q).
    """

_TABLE = ("events1", "n1", "events2", "n2")

#: Association measures of a 2x2 table for :func:`trialsynth.effect_sizes`.
ASSOCIATION_MEASURES: dict[str, MeasureSpec] = {
    "AS": MeasureSpec(_TABLE, _as, default_add=0.0),
    "PHI": MeasureSpec(_TABLE, _phi, vtypes=("LS", "CS", "ST"), default_add=0.0),
    "YUQ": MeasureSpec(_TABLE, _yuq),
    "YUY": MeasureSpec(_TABLE, _yuy),
}
