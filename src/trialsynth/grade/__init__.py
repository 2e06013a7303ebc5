"""GRADE summary-of-findings drafts from the data, every judgement with its rule."""
