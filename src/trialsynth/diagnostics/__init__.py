"""Stage 4, diagnostics: heterogeneity, sensitivity analyses, small-study effects."""
