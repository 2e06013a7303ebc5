"""The examples in the effects docstrings run and print what they say."""

import doctest

import pytest

from trialsynth.effects import conversions, measures, records


@pytest.mark.parametrize("module", [measures, conversions, records], ids=lambda m: m.__name__)
def test_docstring_examples(module):
    result = doctest.testmod(module, optionflags=doctest.NORMALIZE_WHITESPACE)
    assert result.failed == 0
