"""Standardization: each canonical table is last run's version updated by the new extracts."""

import dagster as dg
import polars as pl

from assets.ingest import INGESTED_TABLES
from assets.resources import WarehouseResource
from cdp.ingest import MappedIncrement
from cdp.pipeline import merged_table

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
    def _standardize(increment: MappedIncrement, warehouse: WarehouseResource) -> dg.Output[pl.DataFrame]:
        published = warehouse.warehouse()
        standardized = merged_table(table, increment, warehouse=published, published=f"std_{table}")
        return dg.Output(standardized, metadata={"rows": standardized.height})

    return _standardize


STANDARDIZED_ASSETS = [_standardized_asset(table) for table in STANDARDIZED_TABLES]
