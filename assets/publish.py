"""The one atomic publish: every staged table of the run swaps into the warehouse together."""

from pathlib import Path

import dagster as dg

from assets.resources import SourcesResource, WarehouseResource
from cdp.config import load_config
from cdp.ingest.changes import TableChanges
from cdp.pipeline import PUBLISHED_TABLES, publish_run
from cdp.privacy.erasure import load_erasure_register

GROUP = "publish"


@dg.asset(
    group_name=GROUP,
    kinds={"duckdb", "parquet"},
    # A table arrives as its staged Parquet file (linked into the snapshot, not rewritten) or,
    # when staged as changes, as those changes; nothing is loaded into memory here.
    ins={
        name: dg.AssetIn(metadata={"lazy": True, "changes": True, "file": True}) for name in PUBLISHED_TABLES
    },
)
def warehouse_snapshot(
    context: dg.AssetExecutionContext,
    warehouse: WarehouseResource,
    sources: SourcesResource,
    **tables: Path | TableChanges,
) -> dg.MaterializeResult:
    """Publish every table of this run to DuckDB and Parquet in one atomic step."""
    register = load_erasure_register(load_config(sources.config_file()).erasure_register_path)
    report = publish_run(
        warehouse.warehouse(), tables, run_id=context.run_id, erased_keys=register.erased_keys
    )
    return dg.MaterializeResult(metadata=report)
