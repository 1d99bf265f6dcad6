"""Ingestion: the extracts that landed since the last run, read under their schema contracts."""

import dagster as dg
import polars as pl

from assets.resources import RunOptions, SourcesResource, WarehouseResource
from cdp.ingest import MappedIncrement
from cdp.pipeline import ingest_increment, merged_table

GROUP = "ingest"


@dg.multi_asset(
    group_name=GROUP,
    outs={
        "ingest_increment": dg.AssetOut(
            description="Mapped rows of the new extract files, what they delete, and whether this is a full read."
        ),
        "rejects": dg.AssetOut(
            description="Quarantined rows of every file ingested so far: file, line, column, reason."
        ),
        "ingest_reconciliation": dg.AssetOut(description="Per file: rows read = accepted + rejected."),
        "ingest_files": dg.AssetOut(
            description="Manifest of every extract file ingested, with its fingerprint."
        ),
    },
)
def source_extracts(
    context: dg.AssetExecutionContext,
    sources: SourcesResource,
    warehouse: WarehouseResource,
    run_options: RunOptions,
) -> tuple[MappedIncrement, pl.DataFrame, pl.DataFrame, pl.DataFrame]:
    """Read new extracts (all of them on a first or --full-refresh run), tokenizing national IDs at the door."""
    published = warehouse.warehouse()
    increment = ingest_increment(
        sources.config_file(), warehouse=published, full_refresh=run_options.full_refresh
    )
    context.add_output_metadata(
        {
            "mode": "full" if increment.full else "incremental",
            "full_reason": increment.requires_full_reason or "",
            "new_files": increment.files.height,
            **{key: value for summary in increment.summaries for key, value in summary.as_metadata().items()},
        },
        output_name="ingest_increment",
    )
    return (
        increment,
        merged_table("rejects", increment, warehouse=published, published="rejects"),
        merged_table("reconciliation", increment, warehouse=published, published="ingest_reconciliation"),
        merged_table("files", increment, warehouse=published, published="ingest_files"),
    )
