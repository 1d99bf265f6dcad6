"""Ingestion: the extracts that landed since the last run, read under their schema contracts."""

import dagster as dg

from assets.resources import RunOptions, SourcesResource, WarehouseResource
from cdp.pipeline import ingest_increment, merged_table, split_increment

GROUP = "ingest"

#: Canonical tables an extract can feed; each gets its own slice of the increment.
INGESTED_TABLES = ("parties", "accounts", "account_holders", "transactions", "events", "consents")


@dg.multi_asset(
    group_name=GROUP,
    outs={
        **{
            f"raw_{table}": dg.AssetOut(
                description=f"New {table} rows and deletions since the last run (internal)."
            )
            for table in INGESTED_TABLES
        },
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
):
    """Read new extracts (all of them on a first or full-refresh run), tokenizing national IDs at the door."""
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
        output_name="raw_parties",
    )
    slices = split_increment(increment, INGESTED_TABLES)
    return (
        *(slices[table] for table in INGESTED_TABLES),
        merged_table("rejects", increment, warehouse=published, published="rejects"),
        merged_table("reconciliation", increment, warehouse=published, published="ingest_reconciliation"),
        merged_table("files", increment, warehouse=published, published="ingest_files"),
    )
