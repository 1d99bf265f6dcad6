"""Ingestion: read each source's extracts under contracts, tokenize national IDs, apply erasures.

The public entry point is :func:`ingest_sources`; :func:`map_sources` stops before
standardization so the two stages can be tested apart. Daily loads use :func:`map_increment`
(only files not in the ``ingest_files`` manifest, :data:`FILES_COLUMNS`) and
:func:`merge_increment` / :func:`apply_increment` to update the published tables; see
:mod:`cdp.ingest.incremental`. Exports load lazily, because :mod:`cdp.config` imports
:mod:`cdp.ingest.expressions` and must not pull in the readers.
"""

from __future__ import annotations

from importlib import import_module
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from cdp.ingest.incremental import MappedIncrement, map_increment, merge_increment
    from cdp.ingest.manifest import FILES_COLUMNS
    from cdp.ingest.merge import TABLE_KEYS, apply_increment, sort_table
    from cdp.ingest.results import IngestResult, MappedSources, SourceSummary
    from cdp.ingest.sources import (
        ingest_accounts,
        ingest_consents,
        ingest_events,
        ingest_parties,
        ingest_sources,
        ingest_transactions,
        map_sources,
        standardize_frame,
        standardize_mapped,
    )

_MODULES = {
    "FILES_COLUMNS": "cdp.ingest.manifest",
    "MappedIncrement": "cdp.ingest.incremental",
    "map_increment": "cdp.ingest.incremental",
    "merge_increment": "cdp.ingest.incremental",
    "TABLE_KEYS": "cdp.ingest.merge",
    "apply_increment": "cdp.ingest.merge",
    "sort_table": "cdp.ingest.merge",
    "IngestResult": "cdp.ingest.results",
    "MappedSources": "cdp.ingest.results",
    "SourceSummary": "cdp.ingest.results",
    **dict.fromkeys(
        (
            "ingest_accounts",
            "ingest_consents",
            "ingest_events",
            "ingest_parties",
            "ingest_sources",
            "ingest_transactions",
            "map_sources",
            "standardize_frame",
            "standardize_mapped",
        ),
        "cdp.ingest.sources",
    ),
}
__all__ = [
    "FILES_COLUMNS",
    "TABLE_KEYS",
    "IngestResult",
    "MappedIncrement",
    "MappedSources",
    "SourceSummary",
    "apply_increment",
    "ingest_accounts",
    "ingest_consents",
    "ingest_events",
    "ingest_parties",
    "ingest_sources",
    "ingest_transactions",
    "map_increment",
    "map_sources",
    "merge_increment",
    "sort_table",
    "standardize_frame",
    "standardize_mapped",
]


def __getattr__(name: str) -> Any:
    if name in _MODULES:
        return getattr(import_module(_MODULES[name]), name)
    raise AttributeError(f"module 'cdp.ingest' has no attribute {name!r}")
