"""Checking a text's claims against the pooled evidence, with computed verdicts."""
