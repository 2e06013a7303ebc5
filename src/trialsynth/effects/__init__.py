"""Stage 2, effects: effect-size measures and conversions between reported statistics."""
