"""Begg and Mazumdar's rank test against metafor 3.8 ``ranktest`` (every oracle case)."""

from __future__ import annotations

import numpy as np
import pytest

from oracle_cases import case_paths, close, load, primary_yi_vi, skip_without_oracle
from trialsynth.diagnostics.small_study import _kendall_exact_p, rank_test
from trialsynth.errors import ArgumentError

CASES = [pytest.param(p, id=p.stem) for p in case_paths()]


@skip_without_oracle
@pytest.mark.parametrize("path", CASES)
def test_ranktest_matches_metafor(path):
    ref = load(path)
    record = ref["primary"]["ranktest"]
    assert record["error"] is None
    yi, vi = primary_yi_vi(ref)
    result = rank_test(yi, vi)
    close(result.tau, record["tau"], "tau", 1e-8, 1e-10)
    close(result.p_value, record["pval"], "pval", 1e-8, 1e-10)
    # metafor warns about ties exactly when we fall back to the normal approximation
    assert (not result.exact) == any("ties" in w for w in record["warnings"])
    assert (result.k < 10) == any("Sterne" in w for w in result.warnings)


def test_exact_distribution_small_n():
    # n = 3: inversion counts 0..3 have frequencies 1, 2, 2, 1 (of 6 permutations)
    assert _kendall_exact_p(3, 3) == pytest.approx(2 * 1 / 6)
    assert _kendall_exact_p(1, 3) == pytest.approx(1.0)
    # symmetric in the sign of S
    assert _kendall_exact_p(-8, 9) == pytest.approx(_kendall_exact_p(8, 9))


def test_sei_equals_vi():
    rng = np.random.default_rng(1)
    yi = rng.normal(size=12)
    vi = rng.uniform(0.05, 0.5, size=12)
    assert rank_test(yi, vi).p_value == rank_test(yi, sei=np.sqrt(vi)).p_value


@pytest.mark.parametrize(
    "args, kwargs, match",
    [
        (([1.0, 2.0], [0.1]), {}, "same length"),
        (([1.0, 2.0], [0.1, -0.1]), {}, "> 0"),
        (([1.0, np.nan], [0.1, 0.1]), {}, "yi"),
        (([1.0],), {}, "vi"),
        (([1.0], [0.1]), {}, "at least 2"),
    ],
)
def test_bad_input(args, kwargs, match):
    with pytest.raises(ArgumentError, match=match):
        rank_test(*args, **kwargs)
