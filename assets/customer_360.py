"""The customer 360: golden records with lineage, holdings, engagement, consent and households."""

import dagster as dg
import polars as pl

from assets.resources import RunOptions, SourcesResource
from cdp.customer360 import build_customer_360, load_survivorship

GROUP = "customer_360"


@dg.multi_asset(
    group_name=GROUP,
    outs={
        "customer_360": dg.AssetOut(description="One row per customer: golden record, holdings, engagement."),
        "customer_attribute_lineage": dg.AssetOut(
            description="Which source record supplied each golden value."
        ),
        "customer_source_records": dg.AssetOut(description="Every source record key of each customer."),
        "customer_consent": dg.AssetOut(description="Current consent per customer, purpose and channel."),
        "households": dg.AssetOut(description="Customers grouped by shared normalized address."),
    },
)
def customer_360_tables(
    std_parties: pl.DataFrame,
    std_accounts: pl.DataFrame,
    std_account_holders: pl.DataFrame,
    std_events: pl.DataFrame,
    std_consents: pl.DataFrame,
    identity_clusters: pl.DataFrame,
    sources: SourcesResource,
    run_options: RunOptions,
) -> tuple[pl.DataFrame, pl.DataFrame, pl.DataFrame, pl.DataFrame, pl.DataFrame]:
    """Build the customer 360 from the standardized records and the resolved identities."""
    result = build_customer_360(
        parties=std_parties,
        clusters=identity_clusters,
        accounts=std_accounts,
        account_holders=std_account_holders,
        events=std_events,
        consents=std_consents,
        rules=load_survivorship(sources.survivorship_file()),
        as_of=run_options.as_of_date(),
    )
    return result.customer_360, result.lineage, result.source_records, result.consent, result.households
