"""The published contracts: column order and dtypes, and a description for every column."""

from __future__ import annotations

import datetime as dt

import polars as pl

from cdp.features import FEATURE_COLUMNS, LIFE_EVENT_COLUMNS
from cdp.features.tables import TABLE_DOCS


def test_outputs_follow_the_contracts_even_without_any_activity(bank) -> None:
    bank.customer("C1")
    result = bank.build(as_of=dt.date(2024, 6, 30))
    assert result.features.schema == pl.Schema(FEATURE_COLUMNS)
    assert result.life_events.schema == pl.Schema(LIFE_EVENT_COLUMNS)
    assert result.features.height == 1


def test_every_published_column_is_documented() -> None:
    docs = {doc.name: doc for doc in TABLE_DOCS}
    assert list(docs["customer_features"].columns) == list(FEATURE_COLUMNS)
    assert list(docs["customer_life_events"].columns) == list(LIFE_EVENT_COLUMNS)
    assert all(text.strip() for doc in TABLE_DOCS for text in doc.columns.values())
