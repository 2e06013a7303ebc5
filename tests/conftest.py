"""Suite-wide settings.

The metafor reference cases (R metafor 3.8-1 output, see
``tests/reference/metafor_oracle/README.md``) are kept in the repository so that the parity
tests run, and can fail, on any fresh clone. ``TRIALSYNTH_ORACLE`` may point elsewhere (for
example at a folder with further cases); every oracle test reads it.
"""

import os
from pathlib import Path

ORACLE_IN_REPO = Path(__file__).resolve().parent / "reference" / "metafor_oracle"
os.environ.setdefault("TRIALSYNTH_ORACLE", str(ORACLE_IN_REPO))
