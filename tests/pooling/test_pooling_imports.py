"""`import trialsynth; trialsynth.pool(...)` stays light: no scipy.stats, no pandas (issue 7).

scipy.stats and pandas cost about 0.7 s of imports together; the fits need only scipy.special.
pandas is imported where a frame is built (to_frame, study_frame).
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

SRC = Path(__file__).resolve().parents[2] / "src"

CODE = """
import sys
import trialsynth as ts
res = ts.pool([0.1, 0.2, 0.3], [0.01, 0.02, 0.03])
batch = ts.pool_batch([[0.1, 0.2, 0.3]], [[0.01, 0.02, 0.03]], method="DL")
_ = (res.p_value, res.q_p_value, batch.p_value, batch.pi_low, batch.se_tau2)
print(",".join(m for m in ("scipy.stats", "pandas") if m in sys.modules))
res.to_frame()
print("pandas" in sys.modules)
"""


def test_pool_does_not_import_scipy_stats_or_pandas_until_a_frame_is_built():
    env = dict(os.environ, PYTHONPATH=str(SRC))
    out = subprocess.run([sys.executable, "-c", CODE], capture_output=True, text=True, env=env,
                         check=True).stdout.split("\n")
    assert out[0] == "", f"imported by pool/pool_batch: {out[0]}"
    assert out[1] == "True"
