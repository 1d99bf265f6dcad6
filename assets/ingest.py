"""Ingestion: every configured extract read under its schema contract, bad rows quarantined."""

import dagster as dg

from assets.resources import SourcesResource
from cdp.config import load_config
from cdp.ingest import map_sources

GROUP = "ingest"

#: Mapped kinds: canonical column names, national IDs already tokens, values not yet standardized.
RAW_TABLES = ("parties", "accounts", "account_holders", "transactions", "events", "consents")


@dg.multi_asset(
    group_name=GROUP,
    outs={
        **{
            f"raw_{kind}": dg.AssetOut(description=f"Accepted {kind} rows mapped to canonical names.")
            for kind in RAW_TABLES
        },
        "rejects": dg.AssetOut(description="Quarantined rows: file, line, column and reason."),
        "ingest_reconciliation": dg.AssetOut(description="Per file: rows read = accepted + rejected."),
    },
)
def source_extracts(context: dg.AssetExecutionContext, sources: SourcesResource):
    """Read every extract the source config declares, tokenizing national IDs at the door."""
    mapped = map_sources(load_config(sources.config_file()))
    for summary in mapped.summaries:
        context.add_output_metadata(summary.as_metadata(), output_name=f"raw_{summary.kind}")
    context.add_output_metadata({"rows_rejected": mapped.rejects.height}, output_name="rejects")
    return (*(getattr(mapped, kind) for kind in RAW_TABLES), mapped.rejects, mapped.reconciliation)
