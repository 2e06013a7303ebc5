"""Importers of other tools' review files into the trial schema (the data stage).

* :func:`read_revman5`: a RevMan 5 ``.rm5`` file (XML);
* :func:`read_cochrane_data_package`: the zip of CSVs that RevMan Web and the Cochrane
  Library export (the "data package");
* :func:`review_to_trials`: the study rows of an :class:`ImportedReview` mapped into the
  trial-record schema (:mod:`trialsynth.data.schema`), with provenance "imported from FILE,
  analysis X.Y" and an evidence record that quotes the file's stored values.

Every file is read as untrusted input (:mod:`trialsynth.data.importers._safe`).
"""

from trialsynth.data.importers.cochrane_package import read_cochrane_data_package
from trialsynth.data.importers.mapping import ImportResult, mapping_template, review_to_trials
from trialsynth.data.importers.review import ImportedReview, ReviewAnalysis
from trialsynth.data.importers.revman5 import read_revman5

__all__ = ["ImportResult", "ImportedReview", "ReviewAnalysis", "mapping_template", "read_cochrane_data_package",
           "read_revman5", "review_to_trials"]
