"""The examples in the standardize docstrings are part of the documentation: keep them true."""

from __future__ import annotations

import doctest
import importlib

import pytest

MODULES = [
    "cdp.standardize._text",
    "cdp.standardize.activity",
    "cdp.standardize.addresses",
    "cdp.standardize.codes",
    "cdp.standardize.dates",
    "cdp.standardize.emails",
    "cdp.standardize.names",
    "cdp.standardize.parties",
    "cdp.standardize.phones",
    "cdp.standardize.regions",
]


@pytest.mark.parametrize("name", MODULES)
def test_docstring_examples(name: str) -> None:
    module = importlib.import_module(name)
    result = doctest.testmod(module, optionflags=doctest.NORMALIZE_WHITESPACE)
    assert result.attempted > 0
    assert result.failed == 0
