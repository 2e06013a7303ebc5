"""`res.summary()` displays as text (REPL, IPython, Jupyter) and `repr(res)` is one short line.

Issue 12 / UX review problem 9: `summary()` returned a plain str, so a bare `res.summary()` in
Jupyter showed a quoted one-line string full of `\\n`, and `res` in a REPL was a 1.5 kB dataclass
dump. Existing callers (`print(res.summary())`, `"..." in res.summary()`) must keep working.
"""

from __future__ import annotations

import numpy as np
import pytest

from trialsynth.pooling.fit import pool
from trialsynth.pooling.results import SummaryText

YI = np.array([-0.5, -0.2, -0.9, 0.1, -0.4])
VI = np.array([0.04, 0.05, 0.03, 0.06, 0.02])


@pytest.fixture
def res():
    return pool(YI, VI, profile="cochrane-2025", measure="SMD", labels=list("ABCDE"))


def test_summary_is_still_a_string(res, capsys):
    text = res.summary()
    assert isinstance(text, str) and isinstance(text, SummaryText)
    assert text.startswith("Random-Effects Model (k = 5; tau^2 estimator: REML)")
    assert "Q(df = 4)" in text and text.splitlines()[0] == "Random-Effects Model (k = 5; tau^2 estimator: REML)"
    assert text == str(text) and type(str(res)) is str and str(res) == text
    print(text)
    assert capsys.readouterr().out == text + "\n"


def test_repr_of_summary_is_the_table_not_an_escaped_string(res):
    text = res.summary()
    assert repr(text) == str.__str__(text)
    assert "\\n" not in repr(text) and not repr(text).startswith("'")


def test_ipython_and_jupyter_show_the_table(res):
    formatters = pytest.importorskip("IPython.core.formatters")
    shown = formatters.PlainTextFormatter()(res.summary())
    assert shown == str.__str__(res.summary())
    assert shown.count("\n") >= 10 and not shown.startswith("'")


def test_result_repr_is_short_and_says_what_it_is(res):
    text = repr(res)
    assert len(text) < 250 and "\n" not in text
    assert text.startswith("MetaResult(random-effects REML, test knha, k=5: SMD ") and text.endswith(")")
    assert f"{res.estimate:.4f}" in text and f"{res.ci_low:.4f}" in text and "profile=cochrane-2025" in text
    assert "yi=array" not in text  # not the dataclass dump
    formatters = pytest.importorskip("IPython.core.formatters")
    assert formatters.PlainTextFormatter()(res) == text
    assert "<table>" in res._repr_html_()  # Jupyter's HTML card is unchanged


def test_ratio_repr_shows_the_ratio():
    r = pool(np.log([1.3, 1.1, 0.9]), np.array([0.04, 0.05, 0.03]), profile="cochrane-2025", measure="RR")
    text = repr(r)
    e = r.exp()
    assert f"RR {e['estimate']:.4f} [95% CI {e['ci_low']:.4f}, {e['ci_high']:.4f}] (log {r.estimate:.4f})" in text


def test_common_effect_repr():
    r = pool(YI, VI, method="EE", test="z")
    text = repr(r)
    assert text.startswith("MetaResult(common-effect, test z, k=5") and "tau2" not in text


def test_mh_and_subgroup_summaries_display_as_text():
    """MHResult and SubgroupResult print like MetaResult: a bare ``summary()`` shows the table."""
    from trialsynth import pool_mh, subgroups
    from trialsynth.pooling.results import SummaryText

    mh = pool_mh("RR", events1=[5, 10, 3], n1=[50, 60, 40], events2=[9, 14, 8], n2=[50, 58, 41])
    text = mh.summary()
    assert isinstance(text, SummaryText) and repr(text) == str(text) and "\n" in repr(text)
    sg = subgroups([0.1, 0.3, 0.2, 0.5], [0.01, 0.02, 0.015, 0.03], groups=["a", "a", "b", "b"])
    assert isinstance(sg.summary(), SummaryText) and "\n" in repr(sg.summary())
    from trialsynth import meta_regression

    reg = meta_regression([0.1, 0.3, 0.2, 0.5, 0.4], [0.01, 0.02, 0.015, 0.03, 0.02], moderators=[[1], [2], [3], [4], [5]])
    assert isinstance(reg.summary(), SummaryText) and "\n" in repr(reg.summary())
