"""Ingestion: read each source's extracts under contracts, tokenize national IDs, apply erasures.

The public entry point is :func:`ingest_sources`; :func:`map_sources` stops before
standardization so the two stages can be tested apart. Exports load lazily, because
:mod:`cdp.config` imports :mod:`cdp.ingest.expressions` and must not pull in the readers.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from cdp.ingest.sources import (
        IngestResult,
        MappedSources,
        SourceSummary,
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

__all__ = [
    "IngestResult",
    "MappedSources",
    "SourceSummary",
    "ingest_accounts",
    "ingest_consents",
    "ingest_events",
    "ingest_parties",
    "ingest_sources",
    "ingest_transactions",
    "map_sources",
    "standardize_frame",
    "standardize_mapped",
]


def __getattr__(name: str) -> Any:
    if name in __all__:
        from cdp.ingest import sources

        return getattr(sources, name)
    raise AttributeError(f"module 'cdp.ingest' has no attribute {name!r}")
