"""The ``trialsynth`` command line."""
