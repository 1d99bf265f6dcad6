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

import polars as pl

from cdp.ingest.entries import assemble, ingest_entry
from cdp.ingest.mapping import CANONICAL
from cdp.ingest.readers import extract_files
from cdp.ingest.results import FRAME_NAMES, IngestResult, MappedSources
from cdp.ingest.specs import KINDS, SourceConfig
from cdp.privacy.erasure import ErasureRegister, load_erasure_register
from cdp.privacy.tokens import token_key
from cdp.schemas.canonical import ACCOUNT_HOLDER_COLUMNS, empty_frame

log = logging.getLogger(__name__)


def load_register(config: SourceConfig, erasure: ErasureRegister | None) -> ErasureRegister:
    """``erasure``, or the config's register file when None, checked against the party entries."""
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
    register = load_register(config, erasure)
    erased = register.erased_keys
    key = token_key()
    outcomes = [
        ingest_entry(spec, config, extract_files(spec, config.base_dir), erased=erased, key=key)
        for kind in KINDS
        if kind in kinds
        for spec in config.specs(kind)
    ]
    assembled = assemble(outcomes)
    return MappedSources(
        **assembled.frames,
        rejects=assembled.rejects,
        reconciliation=assembled.reconciliation,
        summaries=assembled.summaries,
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
