"""The customer 360: golden records with lineage, holdings, engagement, consent and households."""

import datetime as dt

import dagster as dg
import polars as pl

from assets.resources import RunOptions, SourcesResource, WarehouseResource
from cdp.customer360 import load_survivorship
from cdp.ingest.changes import TableChanges
from cdp.runmodes import build_customer_tables

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
        "customer_360_runs": dg.AssetOut(
            description="One row per run: full build or splice, and how many rebuilt."
        ),
        "customer_360_affected": dg.AssetOut(
            description="Customers whose 360 rows this run rebuilt or removed (not published)."
        ),
    },
)
def customer_360_tables(
    context: dg.AssetExecutionContext,
    std_parties: TableChanges,
    std_accounts: TableChanges,
    std_account_holders: TableChanges,
    std_events: TableChanges,
    std_consents: TableChanges,
    identity_clusters: pl.DataFrame,
    identity_runs: pl.DataFrame,
    identity_affected: pl.DataFrame,
    sources: SourcesResource,
    warehouse: WarehouseResource,
    run_options: RunOptions,
):
    """Build the customer 360 from the standardized records and the resolved identities."""
    built = build_customer_tables(
        parties=std_parties,
        clusters=identity_clusters,
        accounts=std_accounts,
        account_holders=std_account_holders,
        events=std_events,
        consents=std_consents,
        rules=load_survivorship(sources.survivorship_file()),
        as_of=run_options.as_of_date(),
        identity_mode=str(identity_runs["mode"][-1]),
        affected_customer_ids=identity_affected,
        warehouse=warehouse.warehouse(),
        run_id=context.run_id,
        run_time=dt.datetime.now(dt.UTC).replace(tzinfo=None),
    )
    summary = built.runs.row(-1, named=True)
    context.add_output_metadata(
        {key: summary[key] for key in ("mode", "reason", "customers", "rebuilt_customers")},
        output_name="customer_360",
    )
    outputs = built.outputs()
    return (*outputs.values(), built.runs, built.affected_customers())
