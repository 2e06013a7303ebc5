"""Stage 3, pooling: tau2 estimators, fits, results objects, batch fits, method profiles, and the
multivariate / multilevel model (:mod:`.multivariate`) with its models of the effect over time
(:mod:`.longitudinal`)."""
