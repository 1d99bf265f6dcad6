"""Standardization: each canonical table is last run's version updated by the new extracts.

Each asset carries only the batch (rows upserted, keys deleted) and the published version it
applies to; downstream steps that need the whole table load it from those two.
"""

import dagster as dg

from assets.ingest import INGESTED_TABLES
from assets.resources import WarehouseResource
from cdp.ingest import MappedIncrement
from cdp.ingest.changes import TableChanges
from cdp.pipeline import standardized_changes

GROUP = "standardize"

#: Canonical tables, each standardized from its slice of the ingest increment.
STANDARDIZED_TABLES = INGESTED_TABLES


def _standardized_asset(table: str) -> dg.AssetsDefinition:
    @dg.asset(
        name=f"std_{table}",
        group_name=GROUP,
        kinds={"polars"},
        ins={"increment": dg.AssetIn(f"raw_{table}")},
        description=f"Canonical {table}: names, dates, codes, phones, emails and addresses normalized.",
    )
    def _standardize(increment: MappedIncrement, warehouse: WarehouseResource) -> dg.Output[TableChanges]:
        published = warehouse.warehouse()
        changes = standardized_changes(table, increment, warehouse=published, published=f"std_{table}")
        return dg.Output(changes, metadata={"mode": "full" if changes.is_full else "changes"})

    return _standardize


STANDARDIZED_ASSETS = [_standardized_asset(table) for table in STANDARDIZED_TABLES]
