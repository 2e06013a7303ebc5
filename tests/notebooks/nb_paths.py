"""Paths shared by the notebook tests."""

from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
NOTEBOOK_DIR = ROOT / "notebooks"
NAMES = ["01_evidence_base", "02_short_vs_long_term", "03_article_claims", "04_robustness", "05_summary_of_findings"]
