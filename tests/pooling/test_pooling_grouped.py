"""pool_groups: one fit per outcome x comparator x add-on x window, with the contract's frame."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from trialsynth.errors import ArgumentError
from trialsynth.pooling.fit import pool
from trialsynth.pooling.grouped import FRAME_COLUMNS, pool_groups


def _effects():
    rows = []
    rng = np.random.default_rng(11)
    for i in range(5):
        rows.append(dict(study_id=f"A{i}", outcome="pain", comparator_class="sham", window="short",
                         yi=rng.normal(-0.3, 0.2), vi=rng.uniform(0.02, 0.08), measure="SMD"))
    for i in range(3):
        rows.append(dict(study_id=f"B{i}", outcome="pain", comparator_class="usual_care",
                         window="short", yi=rng.normal(-0.6, 0.3), vi=rng.uniform(0.02, 0.08),
                         measure="SMD"))
    rows.append(dict(study_id="C0", outcome="function", comparator_class="sham", window="long",
                     yi=-0.2, vi=0.05, measure="SMD"))
    rows.append(dict(study_id="D0", outcome="function", comparator_class="usual_care",
                     window="long", yi=np.nan, vi=np.nan, measure="SMD"))
    rows.append(dict(study_id="B9", outcome="pain", comparator_class="usual_care",
                     window="short", yi=np.nan, vi=np.nan, measure="SMD"))
    out = pd.DataFrame(rows)
    out.insert(out.columns.get_loc("window"), "add_on", False)
    return out


def test_groups_match_single_pools():
    eff = _effects()
    out = pool_groups(eff)
    assert set(out.results) == {("pain", "sham", False, "short"), ("pain", "usual_care", False, "short"),
                                ("function", "sham", False, "long")}
    assert ("function", "usual_care", False, "long") in out.skipped
    sub = eff[(eff.outcome == "pain") & (eff.comparator_class == "sham")]
    direct = pool(sub.yi, sub.vi, profile="cochrane-2025", warn=False)
    got = out[("pain", "sham", False, "short")]
    assert math.isclose(got.estimate, direct.estimate, rel_tol=1e-12)
    assert got.profile == "cochrane-2025" and got.test == "knha"
    assert got.labels == list(sub.study_id)
    uc = out[("pain", "usual_care", False, "short")]
    assert uc.k == 3
    assert any("left out" in n for n in out.notes[("pain", "usual_care", False, "short")])


def test_single_study_group_has_note():
    out = pool_groups(_effects())
    res = out[("function", "sham", False, "long")]
    assert res.k == 1 and res.estimate == -0.2
    assert any("single study" in n for n in out.notes[("function", "sham", False, "long")])


def test_frame_columns():
    frame = pool_groups(_effects(), profile="metafor-default").to_frame()
    assert list(frame.columns) == ["outcome", "comparator_class", "add_on", "window", *FRAME_COLUMNS, "notes"]
    assert len(frame) == 3
    row = frame[(frame.outcome == "pain") & (frame.comparator_class == "sham")].iloc[0]
    assert row["study_ids"] == "A0; A1; A2; A3; A4" and row["profile"] == "metafor-default"
    assert row["measure"] == "SMD" and row["k"] == 5


def test_guards():
    eff = _effects()
    with pytest.raises(ArgumentError, match="window"):
        pool_groups(eff.drop(columns="window"))
    with pytest.raises(ArgumentError, match="profile"):
        pool_groups(eff, profile="nope")
    mixed = eff.copy()
    mixed.loc[0, "measure"] = "MD"
    with pytest.raises(ArgumentError, match="mixes measures"):
        pool_groups(mixed)
    with pytest.raises(ArgumentError):
        pool_groups([1, 2, 3])
    out = pool_groups(mixed, by=("outcome", "comparator_class", "window", "measure"))
    assert ("pain", "sham", "short", "MD") in out.results
    # add-on and head-to-head comparisons are different cells by default
    addon = eff.copy()
    addon.loc[addon.study_id.isin(["B0", "B1"]), "add_on"] = True
    cells = pool_groups(addon).results
    assert cells[("pain", "usual_care", True, "short")].labels == ["B0", "B1"]
    assert cells[("pain", "usual_care", False, "short")].labels == ["B2"]
    with pytest.raises(ArgumentError, match="add_on"):
        pool_groups(eff.drop(columns="add_on"))
