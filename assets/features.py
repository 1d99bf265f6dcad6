"""Point-in-time customer features and life-event signals for decisioning."""

import dagster as dg
import polars as pl

from assets.resources import RunOptions
from cdp.features import build_customer_features

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
    std_transactions: pl.DataFrame,
    std_accounts: pl.DataFrame,
    std_account_holders: pl.DataFrame,
    std_events: pl.DataFrame,
    std_parties: pl.DataFrame,
    identity_clusters: pl.DataFrame,
    customer_360: pl.DataFrame,
    run_options: RunOptions,
) -> tuple[pl.DataFrame, pl.DataFrame]:
    """Compute every customer's features as of the run date, using only data on or before it."""
    result = build_customer_features(
        transactions=std_transactions,
        accounts=std_accounts,
        account_holders=std_account_holders,
        events=std_events,
        parties=std_parties,
        clusters=identity_clusters,
        customers=customer_360,
        as_of=run_options.as_of_date(),
    )
    return result.features, result.life_events
