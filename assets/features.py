"""Point-in-time customer features and life-event signals for decisioning."""

import dagster as dg
import polars as pl

from assets.resources import RunOptions, WarehouseResource
from cdp.ingest.changes import TableChanges
from cdp.runmodes import build_feature_tables

GROUP = "features"


@dg.multi_asset(
    group_name=GROUP,
    outs={
        "customer_features": dg.AssetOut(
            description="One row per customer: cash-flow, risk and relationship features."
        ),
        "customer_life_events": dg.AssetOut(description="Detected life events with their date and evidence."),
    },
)
def customer_feature_tables(
    context: dg.AssetExecutionContext,
    std_transactions: TableChanges,
    std_accounts: TableChanges,
    std_account_holders: TableChanges,
    std_events: TableChanges,
    std_parties: TableChanges,
    identity_clusters: pl.DataFrame,
    customer_360: pl.DataFrame,
    customer_360_affected: pl.DataFrame,
    warehouse: WarehouseResource,
    run_options: RunOptions,
) -> tuple[pl.DataFrame, pl.DataFrame]:
    """Compute customers' features as of the run date, using only data on or before it: on a
    daily run, only for the customers whose data changed."""
    built = build_feature_tables(
        transactions=std_transactions,
        accounts=std_accounts,
        account_holders=std_account_holders,
        events=std_events,
        parties=std_parties,
        clusters=identity_clusters,
        customers=customer_360,
        customer_360_affected=customer_360_affected,
        as_of=run_options.as_of_date(),
        warehouse=warehouse.warehouse(),
    )
    context.add_output_metadata(
        {"mode": built.mode, "reason": built.reason, "rebuilt_customers": built.rebuilt_customers},
        output_name="customer_features",
    )
    return built.result.features, built.result.life_events
