"""Ingest one config entry from a list of its files, and assemble entries into mapped frames.

Shared by the full ingest (:func:`cdp.ingest.sources.map_sources`, every file of every entry)
and the incremental one (:func:`cdp.ingest.incremental.map_increment`, only new files): both
give the same per-row outcome for a file, so an increment merged onto the previous tables
equals a full ingest.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import polars as pl

from cdp.errors import ConfigError
from cdp.ingest.contracts import CheckedFile, check_file, record_key
from cdp.ingest.mapping import CANONICAL, DELETED, INVALID_NATIONAL_IDS, holder_column, map_rows
from cdp.ingest.readers import file_label, read_extract
from cdp.ingest.results import FRAME_NAMES, SourceSummary
from cdp.ingest.specs import SourceConfig, SourceSpec
from cdp.privacy.erasure import suppress_erased
from cdp.schemas.canonical import (
    ACCOUNT_HOLDER_COLUMNS,
    RECONCILIATION_COLUMNS,
    REJECT_COLUMNS,
    conform,
    empty_frame,
)

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class EntryOutcome:
    """One entry's files after upserts, deletions and erasure.

    Attributes:
        spec: The config entry.
        frame: Kept mapped rows (canonical columns), one per key.
        holders: Account-holder links of the kept rows (accounts only).
        deleted: Mapped rows whose latest version is a ``deleted_when`` marker.
        touched: Key columns of every key the files carry (kept, deleted or erased).
        files: The per-file outcomes, in path order.
        summary: Counts for metadata.
    """

    spec: SourceSpec
    frame: pl.DataFrame
    holders: pl.DataFrame
    deleted: pl.DataFrame
    touched: pl.DataFrame
    files: list[CheckedFile]
    summary: SourceSummary


def holder_links(spec: SourceSpec, frame: pl.DataFrame) -> pl.DataFrame:
    """One ``ACCOUNT_HOLDER_COLUMNS`` row per non-null holder key of each mapped account row."""
    links = [
        frame.select(
            pl.lit(spec.name).alias("account_source"),
            pl.col("account_id"),
            pl.lit(holder.party).alias("party_source"),
            pl.col(holder_column(index, "key")).alias("party_record_id"),
            pl.col(holder_column(index, "role")).alias("role"),
        ).filter(pl.col("party_record_id").is_not_null())
        for index, holder in enumerate(spec.holders)
    ]
    if not links:
        return empty_frame(ACCOUNT_HOLDER_COLUMNS)
    return conform(pl.concat(links, how="vertical_relaxed"), ACCOUNT_HOLDER_COLUMNS).unique(
        maintain_order=True
    )


def mapped_columns(spec: SourceSpec, frame: pl.DataFrame) -> pl.DataFrame:
    """The canonical columns of a mapped frame (drops probes, flags and holder columns)."""
    return frame.select([name for name in CANONICAL[spec.kind] if name in frame.columns])


def _check_files(
    spec: SourceSpec, config: SourceConfig, paths: Sequence[Path], key: bytes
) -> list[CheckedFile]:
    checked: list[CheckedFile] = []
    for path in paths:
        label = file_label(path, config.base_dir)
        raw = read_extract(spec, path, label=label)
        try:
            mapped = map_rows(spec, raw.table, key=key)
        except ConfigError as err:
            raise ConfigError(f"{config.path}: {err}") from None
        result = check_file(spec, raw, mapped)
        del raw
        log.info(
            "ingest %s %s: read=%d accepted=%d rejected=%d",
            spec.name,
            label,
            result.rows_read,
            result.rows_accepted,
            result.rows_rejected,
        )
        checked.append(result)
    return checked


def ingest_entry(
    spec: SourceSpec, config: SourceConfig, paths: Sequence[Path], *, erased: pl.DataFrame, key: bytes
) -> EntryOutcome:
    """Read, map and check ``paths`` (in the given order), then upsert, delete and erase.

    Args:
        spec: The config entry.
        config: The config (for the base folder and error messages).
        paths: At least one file of the entry, oldest first.
        erased: Erased ``(source, record_id)`` party keys.
        key: Token key for national IDs.
    """
    checked = _check_files(spec, config, paths, key)
    accepted = pl.concat([item.accepted for item in checked], how="diagonal_relaxed")
    record = list(record_key(spec))
    latest = accepted.unique(subset=record, keep="last", maintain_order=True)
    kept = latest.filter(~pl.col(DELETED))
    deleted = latest.filter(pl.col(DELETED))
    holders = holder_links(spec, kept)
    erased_count = 0
    if spec.kind == "parties":
        remaining = suppress_erased(kept, erased)
        erased_count, kept = kept.height - remaining.height, remaining
    elif spec.party is not None:
        remaining = suppress_erased(
            kept, erased, source_column="party_source", record_id_column="party_record_id"
        )
        erased_count, kept = kept.height - remaining.height, remaining
    elif holders.height:
        remaining = suppress_erased(
            holders, erased, source_column="party_source", record_id_column="party_record_id"
        )
        erased_count, holders = holders.height - remaining.height, remaining
    data_rows = sum(item.rows_accepted - item.rows_deleted for item in checked)
    summary = SourceSummary(
        kind=spec.kind,
        source=spec.name,
        system=spec.system,
        files=tuple(item.label for item in checked),
        rows_read=sum(item.rows_read for item in checked),
        rows_accepted=sum(item.rows_accepted for item in checked),
        rows_rejected=sum(item.rows_rejected for item in checked),
        deleted=sum(item.rows_deleted for item in checked),
        superseded=data_rows - latest.height + deleted.height,
        erased=erased_count,
        records=kept.height,
        holder_links=holders.height,
        invalid_national_ids=int(kept[INVALID_NATIONAL_IDS].sum()) if spec.kind == "parties" else 0,
    )
    return EntryOutcome(
        spec=spec,
        frame=mapped_columns(spec, kept),
        holders=holders,
        deleted=mapped_columns(spec, deleted),
        touched=latest.select(record),
        files=checked,
        summary=summary,
    )


@dataclass(frozen=True)
class Assembled:
    """Entries combined per table: mapped frames, rejects and reconciliation."""

    frames: dict[str, pl.DataFrame]
    rejects: pl.DataFrame
    reconciliation: pl.DataFrame
    summaries: tuple[SourceSummary, ...]


def assemble(outcomes: Sequence[EntryOutcome]) -> Assembled:
    """Concatenate entry outcomes per table, in the given (kind, entry, file) order."""
    parts: dict[str, list[pl.DataFrame]] = {name: [] for name in FRAME_NAMES}
    checked: list[CheckedFile] = []
    for outcome in outcomes:
        parts[outcome.spec.kind].append(outcome.frame)
        if outcome.spec.holders:
            parts["account_holders"].append(outcome.holders)
        checked.extend(outcome.files)
    reconciliation = pl.DataFrame(
        {
            "source": [item.source for item in checked],
            "file": [item.label for item in checked],
            "rows_read": [item.rows_read for item in checked],
            "rows_accepted": [item.rows_accepted for item in checked],
            "rows_rejected": [item.rows_rejected for item in checked],
        },
        schema=dict(RECONCILIATION_COLUMNS),
    )
    rejects = (
        pl.concat([item.rejects for item in checked], how="vertical_relaxed")
        if checked
        else empty_frame(REJECT_COLUMNS)
    )
    frames = {
        name: pl.concat(frames, how="diagonal_relaxed") if frames else pl.DataFrame()
        for name, frames in parts.items()
    }
    if frames["account_holders"].width == 0:
        frames["account_holders"] = empty_frame(ACCOUNT_HOLDER_COLUMNS)
    return Assembled(frames, rejects, reconciliation, tuple(outcome.summary for outcome in outcomes))
