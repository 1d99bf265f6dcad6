"""What ingestion returns: the frames, rejects, reconciliation and a summary per config entry."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import polars as pl

FRAME_NAMES: tuple[str, ...] = (
    "parties",
    "accounts",
    "account_holders",
    "transactions",
    "events",
    "consents",
)


@dataclass(frozen=True)
class SourceSummary:
    """What happened to one config entry, for asset metadata and the run report.

    Attributes:
        rows_read / rows_accepted / rows_rejected: Data rows over all files (reconciliation sums).
        deleted: Accepted rows marked by ``deleted_when`` (deletion instructions).
        superseded: Accepted data rows that a later row with the same key replaced or deleted.
        erased: Output rows removed by the erasure register (records, or links / events /
            consents of erased records).
        records: Rows in the output after upserts, deletions and erasure.
        holder_links: Account-holder links produced (accounts only).
        invalid_national_ids: Output party rows whose national ID was invalid or junk (no token).
    """

    kind: str
    source: str
    system: str
    files: tuple[str, ...]
    rows_read: int
    rows_accepted: int
    rows_rejected: int
    deleted: int
    superseded: int
    erased: int
    records: int
    holder_links: int = 0
    invalid_national_ids: int = 0

    def as_metadata(self) -> dict[str, Any]:
        """Flat ``{name: value}`` pairs (prefixed with the source name) for Dagster metadata."""
        values = {
            "files": len(self.files),
            "rows_read": self.rows_read,
            "rows_accepted": self.rows_accepted,
            "rows_rejected": self.rows_rejected,
            "deleted": self.deleted,
            "superseded": self.superseded,
            "erased": self.erased,
            "records": self.records,
        }
        if self.kind == "accounts":
            values["holder_links"] = self.holder_links
        if self.kind == "parties":
            values["invalid_national_ids"] = self.invalid_national_ids
        return {f"{self.source}/{name}": value for name, value in values.items()}


@dataclass(frozen=True)
class _Frames:
    parties: pl.DataFrame
    accounts: pl.DataFrame
    account_holders: pl.DataFrame
    transactions: pl.DataFrame
    events: pl.DataFrame
    consents: pl.DataFrame
    rejects: pl.DataFrame
    reconciliation: pl.DataFrame
    summaries: tuple[SourceSummary, ...]
    erased_keys: pl.DataFrame = field(
        default_factory=lambda: pl.DataFrame(schema={"source": pl.String, "record_id": pl.String})
    )

    def summary(self, source: str) -> SourceSummary:
        """The summary of one entry by name."""
        for summary in self.summaries:
            if summary.source == source:
                return summary
        raise KeyError(source)


@dataclass(frozen=True)
class MappedSources(_Frames):
    """Accepted rows as mapped by the config (canonical names, values as the expressions produced
    them, national IDs already tokens), before standardization."""


@dataclass(frozen=True)
class IngestResult(_Frames):
    """Standardized tables (canonical contracts), rejects, reconciliation and per-source summaries."""
