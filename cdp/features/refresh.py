"""Refresh the feature tables for the customers a daily batch touched, not for the whole bank.

Every feature is computed per customer from that customer's own rows (see
:mod:`cdp.features.batches`) and the as-of date. On a day with the same as-of date, a customer's
features can only change when its customer 360 row was rebuilt (its records, accounts, holder
links or events changed, or it was re-clustered) or when transactions of an account it holds
changed. Those customers are rebuilt from their rows alone and spliced into the previous tables;
everyone else keeps their rows. The splice equals a full build (tests hold it to that).
"""

from __future__ import annotations

import datetime as dt
import logging
from dataclasses import dataclass

import polars as pl

from cdp.features.batches import customer_batches
from cdp.features.build import FeatureResult, build_customer_features
from cdp.features.linking import Frame

log = logging.getLogger(__name__)

_LIFE_EVENT_ORDER = ("customer_id", "detected_on", "event", "evidence")


@dataclass(frozen=True)
class FeatureRefresh:
    """Output of :func:`refresh_customer_features`.

    Attributes:
        result: the feature tables after the batch.
        rebuilt_customers: customers whose features were computed this run.
        full_rebuild: True when every customer was computed (the splice would not have paid).
    """

    result: FeatureResult
    rebuilt_customers: int
    full_rebuild: bool


def holders_of_accounts(
    accounts: pl.DataFrame, *, account_holders: Frame, clusters: pl.DataFrame
) -> pl.Series:
    """Current customers holding any of ``accounts`` (columns ``account_source``, ``account_id``)."""
    keys = accounts.select("account_source", "account_id").unique()
    if keys.is_empty():
        return pl.Series("customer_id", [], dtype=pl.String())
    # The one-column prefilter is what Polars pushes down to a lazy scan of the holder links.
    links = (
        account_holders.lazy()
        .filter(pl.col("account_id").is_in(keys["account_id"].implode()))
        .join(keys.lazy(), on=["account_source", "account_id"], how="semi")
        .select(source="party_source", record_id="party_record_id")
        .collect()
    )
    return (
        clusters.join(links.unique(), on=["source", "record_id"], how="semi")["customer_id"]
        .drop_nulls()
        .unique()
        .cast(pl.String())
    )


def refresh_customer_features(
    previous: FeatureResult,
    *,
    stale_customer_ids: pl.Series,
    transactions: Frame,
    accounts: Frame,
    account_holders: Frame,
    events: Frame,
    parties: Frame,
    clusters: pl.DataFrame,
    customers: pl.DataFrame,
    as_of: dt.date,
    max_fraction: float = 0.5,
) -> FeatureRefresh:
    """The feature tables after a batch: the stale customers rebuilt, the others' rows kept.

    Args:
        previous: the feature tables the previous run published, as of the same ``as_of``.
        stale_customer_ids: customers whose inputs changed (customer 360 rebuilt or removed,
            transactions of a held account changed); may include customers that no longer exist.
        transactions, accounts, account_holders, events, parties: this run's standardized tables;
            lazy scans are read only for the stale customers' rows.
        clusters: this run's ``identity_clusters``.
        customers: this run's ``customer_360`` (its customer set is the output's).
        as_of: the run's as-of date; must be the previous tables' (time-relative features change
            for everyone otherwise).
        max_fraction: above this share of stale customers, build everyone instead.

    Returns:
        The refreshed tables and how many customers were computed.
    """
    previous_dates = previous.features["as_of"].unique().to_list()
    if previous_dates and previous_dates != [as_of]:
        raise ValueError(f"previous features are as of {previous_dates}, not {as_of}: build them in full")
    current = customers.select("customer_id").unique()
    rebuild = current.filter(pl.col("customer_id").is_in(stale_customer_ids.cast(pl.String()).implode()))
    inputs = {
        "transactions": transactions,
        "accounts": accounts,
        "account_holders": account_holders,
        "events": events,
        "parties": parties,
        "clusters": clusters,
    }
    if rebuild.height > max_fraction * max(current.height, 1):
        result = build_customer_features(**inputs, customers=customers, as_of=as_of)
        return FeatureRefresh(result, current.height, full_rebuild=True)
    gone = previous.features.select("customer_id").join(current, on="customer_id", how="anti")
    drop = pl.concat([rebuild["customer_id"], gone["customer_id"]]).unique().implode()
    if rebuild.is_empty():
        fresh = FeatureResult(previous.features.clear(), previous.life_events.clear())
    else:
        members = customers.join(rebuild, on="customer_id", how="semi")
        # One batch of exactly the stale customers: their rows only, read through the scans.
        (batch,) = customer_batches(**inputs, customers=members, size=members.height)
        fresh = build_customer_features(**batch, as_of=as_of)
    features = pl.concat(
        [
            previous.features.filter(~pl.col("customer_id").is_in(drop)),
            fresh.features.select(previous.features.columns).cast(previous.features.schema),
        ]
    ).sort("customer_id")
    life_events = pl.concat(
        [
            previous.life_events.filter(~pl.col("customer_id").is_in(drop)),
            fresh.life_events.select(previous.life_events.columns).cast(previous.life_events.schema),
        ]
    ).sort(_LIFE_EVENT_ORDER)
    log.info(
        "features refresh: %d rebuilt, %d removed, %d customers",
        rebuild.height,
        gone.height,
        features.height,
    )
    return FeatureRefresh(FeatureResult(features, life_events), rebuild.height, full_rebuild=False)
