"""Segment membership, with entry and exit history across runs."""

import dagster as dg
import polars as pl

from assets.resources import RunOptions, SourcesResource, WarehouseResource
from cdp.pipeline import previous_table
from cdp.segments import evaluate_segments, load_segments, update_membership_history

GROUP = "segments"


@dg.asset(group_name=GROUP, kinds={"polars"})
def segment_membership(
    context: dg.AssetExecutionContext,
    customer_360: pl.DataFrame,
    customer_features: pl.DataFrame,
    sources: SourcesResource,
    warehouse: WarehouseResource,
    run_options: RunOptions,
) -> dg.Output[pl.DataFrame]:
    """Who is in each declared segment, when they entered and when they left."""
    as_of = run_options.as_of_date()
    current = evaluate_segments(
        load_segments(sources.segments_file()),
        customers=customer_360,
        features=customer_features,
        as_of=as_of,
    )
    history = update_membership_history(
        previous_table(warehouse.warehouse(), "segment_membership"),
        current,
        run_id=context.run_id,
        as_of=as_of,
    )
    sizes = current.group_by("segment").len().sort("segment")
    return dg.Output(history, metadata={f"size/{row[0]}": row[1] for row in sizes.iter_rows()})
