"""Small builders for identity tests: records and edges written as compact literal rows."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import polars as pl
import pytest

from cdp.identity import DECISION_COLUMNS, Decisions

T0 = dt.datetime(2025, 1, 1)


@dataclass(frozen=True)
class Build:
    """Frames from rows; every record lives in source ``s`` unless the key says ``source:id``."""

    @staticmethod
    def key(text: str) -> tuple[str, str]:
        source, _, record_id = text.partition(":") if ":" in text else ("s", "", text)
        return source, record_id

    def records(self, *rows: str | tuple[str, str | None]) -> pl.DataFrame:
        """Records from keys, or (key, national_id_token) tuples."""
        data = [
            (*self.key(row), None) if isinstance(row, str) else (*self.key(row[0]), row[1]) for row in rows
        ]
        return pl.DataFrame(
            data,
            schema={"source": pl.String, "record_id": pl.String, "national_id_token": pl.String},
            orient="row",
        )

    def edges(self, *rows: tuple[str, str, float]) -> pl.DataFrame:
        """Edges from (left key, right key, probability); the weight grows with the probability."""
        data = [(*self.key(left), *self.key(right), p, _weight(p), "splink") for left, right, p in rows]
        return pl.DataFrame(
            data,
            schema={
                "source_l": pl.String,
                "record_id_l": pl.String,
                "source_r": pl.String,
                "record_id_r": pl.String,
                "match_probability": pl.Float64,
                "match_weight": pl.Float64,
                "match_reason": pl.String,
            },
            orient="row",
        )

    def decisions(
        self, *, must: tuple[tuple[str, str], ...] = (), cannot: tuple[tuple[str, str], ...] = ()
    ) -> Decisions:
        def frame(pairs: tuple[tuple[str, str], ...]) -> pl.DataFrame:
            rows = [(*self.key(a), *self.key(b), "steward", T0, "checked documents") for a, b in pairs]
            return pl.DataFrame(rows, schema=dict(DECISION_COLUMNS), orient="row")

        return Decisions(must_link=frame(must), cannot_link=frame(cannot))

    @staticmethod
    def groups(clusters: pl.DataFrame, column: str = "customer_id") -> list[list[str]]:
        """The partition of record ids, as sorted lists: compares clusterings whatever the labels."""
        grouped = clusters.group_by(column).agg(pl.col("record_id").sort())["record_id"].to_list()
        return sorted(grouped)


def _weight(probability: float) -> float:
    import math

    return math.log2(probability / (1 - probability)) if probability < 1 else 60.0


@pytest.fixture
def build() -> Build:
    return Build()
