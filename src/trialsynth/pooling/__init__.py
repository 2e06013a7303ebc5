"""Stage 3, pooling: tau2 estimators, fits, results objects, batch fits, method profiles."""
