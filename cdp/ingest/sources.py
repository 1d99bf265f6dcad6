"""Ingest every source of a config: read, map, check, upsert, delete, erase, then standardize.

Per entry, files matching the glob are read in path order. Within one file a repeated key is a
reject (``duplicate record_id``). Across files a later row with the same key replaces the
earlier one (upsert), and a row marked by ``deleted_when`` removes the record (the deletion row
itself counts as accepted in the reconciliation, and as ``deleted`` in the summary). Erased
party records (:mod:`cdp.privacy.erasure`) are removed last, with their holder links, events and
consents. Counts: for every file ``rows_read = rows_accepted + rows_rejected``; rejects has one
row per reason, so a row with two problems is one rejected row and two reject rows.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass

import polars as pl

from cdp.errors import ConfigError
from cdp.ingest.contracts import CheckedFile, check_file, record_key
from cdp.ingest.mapping import CANONICAL, DELETED, INVALID_NATIONAL_IDS, holder_column, map_rows
from cdp.ingest.readers import extract_files, file_label, read_extract
from cdp.ingest.results import FRAME_NAMES, IngestResult, MappedSources, SourceSummary
from cdp.ingest.specs import KINDS, SourceConfig, SourceSpec
from cdp.privacy.erasure import ErasureRegister, load_erasure_register, suppress_erased
from cdp.privacy.tokens import token_key
from cdp.schemas.canonical import (
    ACCOUNT_HOLDER_COLUMNS,
    RECONCILIATION_COLUMNS,
    REJECT_COLUMNS,
    conform,
    empty_frame,
)

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class _SpecOutcome:
    frame: pl.DataFrame
    holders: pl.DataFrame
    files: list[CheckedFile]
    summary: SourceSummary


def _holders(spec: SourceSpec, frame: pl.DataFrame) -> pl.DataFrame:
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


def _mapped_columns(spec: SourceSpec, frame: pl.DataFrame) -> pl.DataFrame:
    return frame.select([name for name in CANONICAL[spec.kind] if name in frame.columns])


def _ingest_spec(spec: SourceSpec, config: SourceConfig, erased: pl.DataFrame, key: bytes) -> _SpecOutcome:
    checked: list[CheckedFile] = []
    for path in extract_files(spec, config.base_dir):
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
    accepted = pl.concat([item.accepted for item in checked], how="diagonal_relaxed")
    latest = accepted.unique(subset=list(record_key(spec)), keep="last", maintain_order=True)
    kept = latest.filter(~pl.col(DELETED))
    holders = _holders(spec, kept)
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
        superseded=data_rows - latest.filter(~pl.col(DELETED)).height,
        erased=erased_count,
        records=kept.height,
        holder_links=holders.height,
        invalid_national_ids=int(kept[INVALID_NATIONAL_IDS].sum()) if spec.kind == "parties" else 0,
    )
    return _SpecOutcome(_mapped_columns(spec, kept), holders, checked, summary)


def _register(config: SourceConfig, erasure: ErasureRegister | None) -> ErasureRegister:
    register = load_erasure_register(config.erasure_register_path) if erasure is None else erasure
    register.check_sources(spec.name for spec in config.parties)
    return register


def map_sources(
    config: SourceConfig, *, erasure: ErasureRegister | None = None, kinds: Sequence[str] = KINDS
) -> MappedSources:
    """Read, map, check, upsert and erase every entry of ``kinds``, without standardizing.

    Args:
        config: The validated source config.
        erasure: The erasure register; None loads ``config.erasure_register_path`` (missing file =
            nothing erased). Pass ``ErasureRegister.empty()`` to erase nothing on purpose.
        kinds: Which kinds to ingest (``parties``, ``accounts``, ``transactions``, ``events``,
            ``consents``); the others come back empty.

    Returns:
        Mapped frames (account holders conform to ``ACCOUNT_HOLDER_COLUMNS``), rejects,
        reconciliation and one :class:`SourceSummary` per entry.

    Raises:
        SourceFileError: A file is missing, empty, wrongly encoded or lacks a column.
        ConfigError: An expression does not work on the extract, or the erasure register is invalid.
    """
    unknown = sorted(set(kinds) - set(KINDS))
    if unknown:
        raise ValueError(f"unknown kind(s) {unknown}; expected some of {KINDS}")
    register = _register(config, erasure)
    erased = register.erased_keys
    key = token_key()
    frames: dict[str, list[pl.DataFrame]] = {name: [] for name in FRAME_NAMES}
    checked: list[CheckedFile] = []
    summaries: list[SourceSummary] = []
    for kind in KINDS:
        if kind not in kinds:
            continue
        for spec in config.specs(kind):
            outcome = _ingest_spec(spec, config, erased, key)
            frames[kind].append(outcome.frame)
            if spec.holders:
                frames["account_holders"].append(outcome.holders)
            checked.extend(outcome.files)
            summaries.append(outcome.summary)
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
    combined = {
        name: pl.concat(parts, how="diagonal_relaxed") if parts else pl.DataFrame()
        for name, parts in frames.items()
    }
    if combined["account_holders"].width == 0:
        combined["account_holders"] = empty_frame(ACCOUNT_HOLDER_COLUMNS)
    return MappedSources(
        **combined,
        rejects=rejects,
        reconciliation=reconciliation,
        summaries=tuple(summaries),
        erased_keys=erased,
    )


_STANDARDIZED_CONTRACTS = {
    "parties": CANONICAL["parties"],
    "accounts": CANONICAL["accounts"],
    "account_holders": ACCOUNT_HOLDER_COLUMNS,
    "transactions": CANONICAL["transactions"],
    "events": CANONICAL["events"],
    "consents": CANONICAL["consents"],
}


def standardize_frame(name: str, frame: pl.DataFrame) -> pl.DataFrame:
    """Standardize one mapped table (``parties``, ``accounts``, ...); an empty one stays empty."""
    import cdp.standardize as standardize

    if name not in _STANDARDIZED_CONTRACTS:
        raise ValueError(f"unknown table {name!r}; expected one of {FRAME_NAMES}")
    if frame.height == 0:
        return empty_frame(_STANDARDIZED_CONTRACTS[name])
    standardized: pl.DataFrame = getattr(standardize, f"standardize_{name}")(frame)
    return standardized


def standardize_mapped(mapped: MappedSources) -> IngestResult:
    """Apply :mod:`cdp.standardize` to every mapped frame (empty kinds become empty tables)."""
    return IngestResult(
        **{name: standardize_frame(name, getattr(mapped, name)) for name in FRAME_NAMES},
        rejects=mapped.rejects,
        reconciliation=mapped.reconciliation,
        summaries=mapped.summaries,
        erased_keys=mapped.erased_keys,
    )


def ingest_sources(
    config: SourceConfig, *, erasure: ErasureRegister | None = None, kinds: Sequence[str] = KINDS
) -> IngestResult:
    """Ingest and standardize every source of the config (see :func:`map_sources` for arguments).

    Example:
        >>> result = ingest_sources(load_config("data/sample/sources.yaml"))  # doctest: +SKIP
        >>> result.reconciliation.filter(pl.col("rows_rejected") > 0)  # doctest: +SKIP
    """
    return standardize_mapped(map_sources(config, erasure=erasure, kinds=kinds))


def ingest_parties(config: SourceConfig, *, erasure: ErasureRegister | None = None) -> IngestResult:
    """Only the party entries (the other tables come back empty)."""
    return ingest_sources(config, erasure=erasure, kinds=("parties",))


def ingest_accounts(config: SourceConfig, *, erasure: ErasureRegister | None = None) -> IngestResult:
    """Only the account entries, with their holder links."""
    return ingest_sources(config, erasure=erasure, kinds=("accounts",))


def ingest_transactions(config: SourceConfig, *, erasure: ErasureRegister | None = None) -> IngestResult:
    """Only the transaction entries."""
    return ingest_sources(config, erasure=erasure, kinds=("transactions",))


def ingest_events(config: SourceConfig, *, erasure: ErasureRegister | None = None) -> IngestResult:
    """Only the event entries."""
    return ingest_sources(config, erasure=erasure, kinds=("events",))


def ingest_consents(config: SourceConfig, *, erasure: ErasureRegister | None = None) -> IngestResult:
    """Only the consent entries."""
    return ingest_sources(config, erasure=erasure, kinds=("consents",))
