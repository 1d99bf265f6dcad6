"""Builders for customer 360 tests: party records and clusters from compact literal rows."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import polars as pl
import pytest

from cdp.schemas.canonical import PARTY_COLUMNS, conform

SYSTEMS = {
    "core_customers": "core",
    "card_holders": "card",
    "mortgage_borrowers": "mortgage",
    "digital_users": "digital",
}


@dataclass(frozen=True)
class Build:
    """Frames from rows; a party row is a dict with ``key`` = ``'source:record_id'`` and ``customer``."""

    def parties(self, *rows: Mapping[str, Any]) -> pl.DataFrame:
        data = []
        for row in rows:
            source, _, record_id = row["key"].partition(":")
            fields = {name: value for name, value in row.items() if name not in {"key", "customer"}}
            data.append(
                {
                    "source": source,
                    "record_id": record_id,
                    "source_system": SYSTEMS.get(source, source),
                    **fields,
                }
            )
        frame = pl.DataFrame(data, infer_schema_length=None)
        return conform(frame, PARTY_COLUMNS)

    def clusters(self, *rows: Mapping[str, Any]) -> pl.DataFrame:
        return pl.DataFrame(
            [(*row["key"].split(":", 1), row["customer"]) for row in rows],
            schema={"source": pl.String, "record_id": pl.String, "customer_id": pl.String},
            orient="row",
        )


@pytest.fixture
def build() -> Build:
    return Build()
