"""Assemble ``customer_features`` and ``customer_life_events`` from the canonical tables."""

from __future__ import annotations

import datetime as dt
import logging
from dataclasses import dataclass

import polars as pl

from cdp.errors import ConfigError
from cdp.features import balances, cashflow, life_events, relationship
from cdp.features.batches import customer_batches
from cdp.features.columns import FEATURE_COLUMNS, LIFE_EVENT_COLUMNS, LIFE_EVENT_FEATURES
from cdp.features.linking import Frame, PointInTime, point_in_time

log = logging.getLogger(__name__)

RECENT_EVENT_DAYS = 90

#: Defaults for customers with no rows behind a feature: sums and counts are zero, flags false;
#: everything else (ratios, dates, projections, days since) stays null, meaning unknown or never.
_ZERO_FILLED = (
    "inflow_1m",
    "outflow_1m",
    "inflow_3m",
    "outflow_3m",
    "inflow_12m",
    "outflow_12m",
    "deposit_balance",
    "liquid_balance",
    "savings_balance",
    "card_balance",
    "card_limit",
    "card_spend_3m",
    "card_payments_3m",
    "mortgage_balance",
    "loan_balance",
    "n_accounts_past_due",
    "products_open",
    "logins_30d",
    "page_views_30d",
    "n_life_events_90d",
)
_FALSE_FILLED = (
    "salary_detected",
    "delinquent",
    "has_deposit",
    "has_card",
    "has_mortgage",
    "has_loan",
    "approaching_retirement",
)


@dataclass(frozen=True)
class FeatureResult:
    """Output of :func:`build_customer_features`.

    Attributes:
        features: ``customer_features``, one row per customer (columns of ``FEATURE_COLUMNS``).
        life_events: ``customer_life_events``: customer_id, event, detected_on, evidence (JSON).
    """

    features: pl.DataFrame
    life_events: pl.DataFrame


def build_customer_features(
    *,
    transactions: Frame,
    accounts: Frame,
    account_holders: Frame,
    events: Frame,
    parties: Frame,
    clusters: Frame,
    customers: Frame,
    as_of: dt.date,
    batch_size: int | None = None,
) -> FeatureResult:
    """Compute every customer's features and life events as of a date, using nothing after it.

    Args:
        transactions: ``std_transactions``.
        accounts: ``std_accounts`` (balances are the extract's snapshot).
        account_holders: ``std_account_holders``.
        events: ``std_events``.
        parties: ``std_parties``, every version of every record (for address history).
        clusters: ``identity_clusters`` (source, record_id, customer_id).
        customers: ``customer_360``; its ``customer_id`` set is the output's, ``date_of_birth`` is used.
        as_of: Only rows dated on or before this day are used.
        batch_size: Process at most this many customers at a time (None: all at once). Results are
            identical; memory is bounded by one batch (see ``cdp.features.batches``).

    Every input may also be a LazyFrame (``pl.scan_parquet``), so that only the columns used are
    ever loaded; the year of transactions is the one large intermediate.

    Returns:
        A :class:`FeatureResult`.

    Example:
        >>> from cdp.schemas.canonical import *
        >>> empty = {name: empty_frame(cols) for name, cols in [
        ...     ("transactions", TRANSACTION_COLUMNS), ("accounts", ACCOUNT_COLUMNS),
        ...     ("account_holders", ACCOUNT_HOLDER_COLUMNS), ("events", EVENT_COLUMNS),
        ...     ("parties", PARTY_COLUMNS), ("clusters", CLUSTER_COLUMNS)]}
        >>> result = build_customer_features(
        ...     **empty, customers=pl.DataFrame({"customer_id": ["C1"]}), as_of=dt.date(2024, 6, 30))
        >>> result.features.select("customer_id", "inflow_3m", "salary_detected").row(0)
        ('C1', 0.0, False)
    """
    inputs = {
        "transactions": transactions,
        "accounts": accounts,
        "account_holders": account_holders,
        "events": events,
        "parties": parties,
        "clusters": clusters,
        "customers": customers,
    }
    if batch_size is not None and batch_size < 1:
        raise ConfigError(f"batch_size must be a positive number of customers, got {batch_size}")
    n_customers = customers.lazy().select(pl.col("customer_id").n_unique()).collect().item()
    if batch_size is None or n_customers <= batch_size:
        return _build(**inputs, as_of=as_of)
    results = [_build(**batch, as_of=as_of) for batch in customer_batches(**inputs, size=batch_size)]
    return FeatureResult(
        features=pl.concat([result.features for result in results]).sort("customer_id"),
        life_events=pl.concat([result.life_events for result in results]).sort(
            "customer_id", "detected_on", "event", "evidence"
        ),
    )


def _build(
    *,
    transactions: Frame,
    accounts: Frame,
    account_holders: Frame,
    events: Frame,
    parties: Frame,
    clusters: Frame,
    customers: Frame,
    as_of: dt.date,
) -> FeatureResult:
    """One batch (or all customers at once)."""
    pit = _materialize(
        point_in_time(
            transactions=transactions,
            accounts=accounts,
            account_holders=account_holders,
            events=events,
            parties=parties,
            clusters=clusters,
            customers=customers,
            as_of=as_of,
        )
    )
    series = cashflow.credit_series(pit).collect().lazy()
    flows = cashflow.cash_flow_windows(pit).collect().lazy()
    held = balances.holdings(pit).collect().lazy()
    liquid = held.filter(pl.col("has_liquid")).select("customer_key", "liquid_balance")
    detected = life_events.detect_life_events(
        pit, series=series, inflow_12m=flows.select("customer_key", "inflow_12m")
    ).collect()

    key = "customer_key"
    base = (
        pit.customers.select(key, "customer_id")
        .join(flows, on=key, how="left")
        .join(cashflow.salary_features(series), on=key, how="left")
        .join(held, on=key, how="left")
        .join(balances.negative_balance_days(pit, liquid=liquid), on=key, how="left")
        .join(balances.card_flows(pit), on=key, how="left")
        .join(relationship.products(pit), on=key, how="left")
        .join(relationship.engagement(pit), on=key, how="left")
        .join(_event_features(detected, as_of=as_of), on=key, how="left")
        .with_columns(
            [pl.col(name).fill_null(0) for name in _ZERO_FILLED]
            + [pl.col(name).fill_null(False) for name in _FALSE_FILLED]
            + [pl.col("has_liquid").fill_null(False)]
        )
    )
    projected = cashflow.projection(debits=cashflow.scheduled_debits(pit), base=base, as_of=as_of)
    features = (
        base.join(projected, on=key, how="left")
        .with_columns(as_of=pl.lit(as_of))
        .select([pl.col(name).cast(dtype) for name, dtype in FEATURE_COLUMNS.items()])
        .sort("customer_id")
        .collect()
    )
    log.info(
        "features as of %s: %d customers, %d life events, %d with salary",
        as_of,
        features.height,
        detected.height,
        int(features["salary_detected"].sum()),
    )
    return FeatureResult(features=features, life_events=detected.drop(key))


def _materialize(pit: PointInTime) -> PointInTime:
    """Collect the shared inputs once; every feature family reads them again."""
    return PointInTime(
        as_of=pit.as_of,
        window_start=pit.window_start,
        customers=pit.customers.collect().lazy(),
        accounts=pit.accounts.collect().lazy(),
        counterparties=pit.counterparties.collect().lazy(),
        transactions=pit.transactions.collect().lazy(),
        events=pit.events.collect().lazy(),
        parties=pit.parties.collect().lazy(),
    )


def _event_features(events: pl.DataFrame, *, as_of: dt.date) -> pl.LazyFrame:
    """Days since the latest event of each kind, the retirement flag and recent-event count."""

    def days_since(kind: str) -> pl.Expr:
        return (pl.lit(as_of) - pl.col("detected_on").filter(pl.col("event") == kind).max()).dt.total_days()

    recent = as_of - dt.timedelta(days=RECENT_EVENT_DAYS)
    return (
        events.lazy()
        .group_by("customer_key")
        .agg(
            [days_since(kind).alias(column) for kind, column in LIFE_EVENT_FEATURES.items()]
            + [
                (pl.col("event") == "approaching_retirement").any().alias("approaching_retirement"),
                (pl.col("detected_on") > recent).sum().cast(pl.Int64).alias("n_life_events_90d"),
            ]
        )
    )


__all__ = ["FeatureResult", "LIFE_EVENT_COLUMNS", "build_customer_features"]
