"""The one atomic publish: every staged table of the run swaps into the warehouse together."""

import dagster as dg
import polars as pl

from assets.resources import WarehouseResource
from cdp.ingest.changes import TableChanges
from cdp.pipeline import PUBLISHED_TABLES, publish_run

GROUP = "publish"


@dg.asset(
    group_name=GROUP,
    kinds={"duckdb", "parquet"},
    # Lazy: tables stream to the warehouse; a table staged as changes arrives as its changes.
    ins={name: dg.AssetIn(metadata={"lazy": True, "changes": True}) for name in PUBLISHED_TABLES},
)
def warehouse_snapshot(
    context: dg.AssetExecutionContext, warehouse: WarehouseResource, **tables: pl.LazyFrame | TableChanges
) -> dg.MaterializeResult:
    """Publish every table of this run to DuckDB and Parquet in one atomic step."""
    report = publish_run(warehouse.warehouse(), tables, run_id=context.run_id)
    return dg.MaterializeResult(metadata=report)
