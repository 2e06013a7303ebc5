"""Build ``reports/``: the entry point behind ``make report``."""

from __future__ import annotations

import html
from pathlib import Path


def build_report(data_path: str | Path = "data/trials.csv", out_dir: str | Path = "reports") -> Path:
    """Write the report folder and return the path of its ``index.html``."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    index = out / "index.html"
    index.write_text(
        "<!doctype html><html><head><meta charset='utf-8'><title>trialsynth report</title></head>"
        f"<body><h1>trialsynth report</h1><p>Data: {html.escape(str(data_path))}</p></body></html>\n",
        encoding="utf-8",
    )
    return index
