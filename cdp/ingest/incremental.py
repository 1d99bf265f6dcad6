"""Incremental ingestion: map only the files that are new since the last run, then merge.

Landed files are immutable (see :mod:`cdp.ingest.manifest`). How the pipeline uses this:

1. The ingest asset loads the previous ``ingest_files`` table (None on the first run) and calls
   :func:`map_increment`. With ``fallback_to_full=True`` it maps everything when the manifest
   cannot be extended (``requires_full_reason`` says why, ``full`` is True); with the default
   it returns an empty increment with the reason, and the caller decides.
2. Each ``std_<kind>`` asset calls :func:`merge_increment` (or, from its parts,
   :func:`cdp.ingest.standardize_frame` on ``increment.<kind>`` and
   :func:`cdp.ingest.merge.apply_increment` with ``increment.deleted_keys[kind]`` and
   ``increment.erased_keys``) on the previously published table; ``full`` means "ignore the
   previous table".
3. ``rejects``, ``ingest_reconciliation`` and ``ingest_files`` are merged the same way
   (tables ``rejects``, ``reconciliation``, ``files``).

Example:
    >>> increment = map_increment(config, previous_files, fallback_to_full=True)  # doctest: +SKIP
    >>> std_parties = merge_increment("parties", previous_std_parties, increment)  # doctest: +SKIP
    >>> ingest_files = merge_increment("files", previous_files, increment)  # doctest: +SKIP
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import polars as pl

from cdp.ingest.entries import Assembled, EntryOutcome, assemble, ingest_entry
from cdp.ingest.manifest import FILES_COLUMNS, manifest_rows, plan_increment
from cdp.ingest.merge import TABLE_KEYS, apply_increment
from cdp.ingest.results import FRAME_NAMES, MappedSources
from cdp.ingest.sources import load_register, standardize_frame
from cdp.ingest.specs import KINDS, SourceConfig
from cdp.privacy.erasure import ErasureRegister
from cdp.privacy.tokens import token_key

log = logging.getLogger(__name__)


def _no_deletions() -> dict[str, pl.DataFrame]:
    return {name: pl.DataFrame() for name in FRAME_NAMES}


@dataclass(frozen=True)
class MappedIncrement(MappedSources):
    """The mapped rows of new files only, with what they delete and their manifest rows.

    Attributes:
        files: ``FILES_COLUMNS`` rows of the files read by this increment.
        deleted_keys: Table name -> standardized :data:`~cdp.ingest.merge.TABLE_KEYS` of the
            records the increment deletes (for ``account_holders``: every account the increment
            carries, since it brings their whole current set of links).
        full: True when every file was read (first run, or a fallback): the previous tables
            must be ignored, not merged into.
        requires_full_reason: Why the manifest could not be extended (None when it could).
    """

    files: pl.DataFrame = field(default_factory=lambda: pl.DataFrame(schema=dict(FILES_COLUMNS)))
    deleted_keys: Mapping[str, pl.DataFrame] = field(default_factory=_no_deletions)
    full: bool = False
    requires_full_reason: str | None = None


def _deleted_keys(outcomes: Sequence[EntryOutcome]) -> dict[str, pl.DataFrame]:
    """Standardized keys of deleted records (standardized like the rows they match)."""
    keys: dict[str, pl.DataFrame] = {}
    for kind in KINDS:
        rows = [
            outcome.deleted for outcome in outcomes if outcome.spec.kind == kind and outcome.deleted.height
        ]
        frame = pl.concat(rows, how="diagonal_relaxed") if rows else pl.DataFrame()
        keys[kind] = standardize_frame(kind, frame).select(TABLE_KEYS[kind])
    accounts = [
        outcome.touched.with_columns(source=pl.lit(outcome.spec.name))
        for outcome in outcomes
        if outcome.spec.kind == "accounts"
    ]
    touched = pl.concat(accounts, how="diagonal_relaxed") if accounts else pl.DataFrame()
    keys["account_holders"] = (
        standardize_frame("accounts", touched)
        .select(pl.col("source").alias("account_source"), "account_id")
        .unique()
    )
    return keys


def map_increment(
    config: SourceConfig,
    already_ingested: pl.DataFrame | None,
    *,
    erasure: ErasureRegister | None = None,
    kinds: Sequence[str] = KINDS,
    fallback_to_full: bool = False,
    verify_content: bool = False,
    ingested_at: dt.datetime | None = None,
) -> MappedIncrement:
    """Read, map, check, upsert and erase only the files not in ``already_ingested``.

    Args:
        config: The validated source config.
        already_ingested: The previous ``ingest_files`` table (:data:`FILES_COLUMNS`); None or
            empty on the first run (then every file is read and ``full`` is True).
        erasure: The erasure register (None loads the config's register file).
        kinds: Which kinds to ingest.
        fallback_to_full: When the manifest cannot be extended, read every file (``full``)
            instead of returning an empty increment.
        verify_content: Re-hash every ingested file instead of trusting unchanged size + mtime.
        ingested_at: Timestamp for the manifest rows (default: now, UTC).

    Returns:
        The increment. Its frames hold the new files' kept rows (like :func:`map_sources` on
        those files alone); ``rejects`` / ``reconciliation`` / ``summaries`` describe them.

    Raises:
        SourceFileError, ConfigError: As :func:`cdp.ingest.map_sources`.
    """
    unknown = sorted(set(kinds) - set(KINDS))
    if unknown:
        raise ValueError(f"unknown kind(s) {unknown}; expected some of {KINDS}")
    register = load_register(config, erasure)
    erased = register.erased_keys
    key = token_key()
    manifest = already_ingested if already_ingested is not None else pl.DataFrame(schema=dict(FILES_COLUMNS))
    full = manifest.height == 0
    plan = plan_increment(config, manifest, kinds=kinds, key=key, verify_content=verify_content)
    reason = plan.requires_full_reason
    if reason is not None:
        log.warning("incremental ingest not possible: %s", reason)
        if not fallback_to_full:
            return _empty(erased, reason)
        full = True
        plan = plan_increment(config, pl.DataFrame(schema=dict(FILES_COLUMNS)), kinds=kinds, key=key)
    stamp = ingested_at or dt.datetime.now(dt.UTC).replace(tzinfo=None)
    outcomes: list[EntryOutcome] = []
    manifests: list[pl.DataFrame] = []
    for kind in KINDS:
        for spec in config.specs(kind) if kind in kinds else ():
            stats = plan.new_files.get(spec.name)
            if not stats:
                continue
            outcome = ingest_entry(spec, config, [stat.path for stat in stats], erased=erased, key=key)
            outcomes.append(outcome)
            counts = {
                item.label: (item.rows_read, item.rows_accepted, item.rows_rejected) for item in outcome.files
            }
            manifests.append(
                manifest_rows(
                    stats,
                    counts,
                    source=spec.name,
                    fingerprint=plan.fingerprints[spec.name],
                    ingested_at=stamp,
                )
            )
    assembled = assemble(outcomes)
    log.info("incremental ingest: %d new file(s), full=%s", sum(m.height for m in manifests), full)
    return _increment(
        assembled,
        erased,
        files=pl.concat(manifests) if manifests else pl.DataFrame(schema=dict(FILES_COLUMNS)),
        deleted_keys=_deleted_keys(outcomes),
        full=full,
        requires_full_reason=reason,
    )


def _empty(erased: pl.DataFrame, reason: str) -> MappedIncrement:
    return _increment(assemble([]), erased, deleted_keys=_deleted_keys([]), requires_full_reason=reason)


def _increment(
    assembled: Assembled,
    erased: pl.DataFrame,
    *,
    files: pl.DataFrame | None = None,
    deleted_keys: dict[str, pl.DataFrame],
    full: bool = False,
    requires_full_reason: str | None = None,
) -> MappedIncrement:
    frames = assembled.frames
    return MappedIncrement(
        parties=frames["parties"],
        accounts=frames["accounts"],
        account_holders=frames["account_holders"],
        transactions=frames["transactions"],
        events=frames["events"],
        consents=frames["consents"],
        rejects=assembled.rejects,
        reconciliation=assembled.reconciliation,
        summaries=assembled.summaries,
        erased_keys=erased,
        files=pl.DataFrame(schema=dict(FILES_COLUMNS)) if files is None else files,
        deleted_keys=deleted_keys,
        full=full,
        requires_full_reason=requires_full_reason,
    )


def merge_increment(
    table: str,
    previous: pl.DataFrame | None,
    increment: MappedIncrement,
    *,
    standardized: pl.DataFrame | None = None,
) -> pl.DataFrame:
    """The new version of one published table: ``previous`` updated by ``increment``.

    Args:
        table: A frame of the increment (``parties`` ... ``consents``), or ``rejects``,
            ``reconciliation`` or ``files`` (the ``ingest_files`` manifest).
        previous: The table as last published (None when there is none); ignored when
            ``increment.full``.
        increment: From :func:`map_increment`.
        standardized: The increment's frame already standardized (saves standardizing twice).

    Raises:
        ValueError: The increment is an unmerged ``requires_full_reason`` report.
    """
    if increment.requires_full_reason is not None and not increment.full:
        raise ValueError(f"this increment cannot be merged: {increment.requires_full_reason}")
    base = None if increment.full else previous
    if table in FRAME_NAMES:
        frame = (
            standardized if standardized is not None else standardize_frame(table, getattr(increment, table))
        )
        return apply_increment(
            base,
            frame,
            table=table,
            deleted_keys=increment.deleted_keys.get(table),
            erased_keys=increment.erased_keys,
        )
    sources = {
        "rejects": increment.rejects,
        "reconciliation": increment.reconciliation,
        "files": increment.files,
    }
    if table not in sources:
        raise ValueError(f"unknown table {table!r}; expected one of {', '.join((*FRAME_NAMES, *sources))}")
    return apply_increment(base, sources[table], table=table)
