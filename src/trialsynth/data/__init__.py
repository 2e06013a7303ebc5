"""Stage 1, data: the trial-record schema, loading and validation, time windows."""
