"""Segment membership, with entry and exit history across runs."""

import datetime as dt

import dagster as dg
import polars as pl

from assets.resources import RunOptions, SourcesResource, WarehouseResource
from cdp.runmodes import build_segment_tables
from cdp.segments import load_segments

GROUP = "segments"


@dg.multi_asset(
    group_name=GROUP,
    outs={
        "segment_membership": dg.AssetOut(
            description="Who is in each declared segment, when they entered and when they left."
        ),
        "segment_runs": dg.AssetOut(
            description="One row per run: every customer evaluated, or only those whose data changed."
        ),
    },
)
def segment_tables(
    context: dg.AssetExecutionContext,
    customer_360: pl.DataFrame,
    customer_features: pl.DataFrame,
    erased_customers: pl.DataFrame,
    sources: SourcesResource,
    warehouse: WarehouseResource,
    run_options: RunOptions,
) -> tuple[pl.DataFrame, pl.DataFrame]:
    """Fold this run's segment membership into the history (only changed customers on a daily run)."""
    built = build_segment_tables(
        segments=load_segments(sources.segments_file()),
        customers=customer_360,
        features=customer_features,
        as_of=run_options.as_of_date(),
        warehouse=warehouse.warehouse(),
        run_id=context.run_id,
        run_time=dt.datetime.now(dt.UTC).replace(tzinfo=None),
        full_refresh=run_options.full_refresh,
        erased_customers=erased_customers,
    )
    summary = built.runs.row(-1, named=True)
    context.add_output_metadata(
        {key: summary[key] for key in ("mode", "reason", "evaluated_customers", "open_stays")},
        output_name="segment_membership",
    )
    return built.history, built.runs
