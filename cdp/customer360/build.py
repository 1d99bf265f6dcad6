"""Assemble the customer 360 from golden records, holdings, engagement, consent and households."""

from __future__ import annotations

import datetime as dt
import logging
from dataclasses import dataclass

import polars as pl

from cdp.customer360.consent import consent_summary, current_consent
from cdp.customer360.golden import CID, clustered, customer_keys, golden_from_records, party_records
from cdp.customer360.holdings import (
    HOLDING_DEFAULTS,
    age_on,
    build_engagement,
    build_holdings,
    months_between,
)
from cdp.customer360.households import build_households
from cdp.customer360.survivorship import GOLDEN_COLUMNS, SurvivorshipRules

log = logging.getLogger(__name__)

#: Columns of customer_360 after the golden record, in order.
PROFILE_COLUMNS: tuple[str, ...] = (
    "identifiers",
    "n_source_records",
    "systems",
    *HOLDING_DEFAULTS,
    "relationship_start_date",
    "tenure_months",
    "digital_registered",
    "last_login_at",
    "logins_30d",
    "logins_90d",
    "age",
    "household_id",
    "household_size",
    "n_consents_granted",
    "consents_granted",
)

#: Columns of customer_source_records, in order.
SOURCE_RECORD_COLUMNS: tuple[str, ...] = ("customer_id", "source", "record_id", "source_system")


@dataclass(frozen=True)
class Customer360Result:
    """The tables the customer 360 stage publishes.

    Attributes:
        customer_360: One row per customer: golden record, identifiers, holdings, engagement, consent summary.
        lineage: ``customer_attribute_lineage``: the record and rule behind each golden value.
        source_records: ``customer_source_records``: every party record key of each customer.
        consent: ``customer_consent``: current decision per customer, purpose and channel.
        households: ``households``: customers sharing a normalized golden address.
    """

    customer_360: pl.DataFrame
    lineage: pl.DataFrame
    source_records: pl.DataFrame
    consent: pl.DataFrame
    households: pl.DataFrame


def build_customer_360(
    *,
    parties: pl.DataFrame,
    clusters: pl.DataFrame,
    accounts: pl.DataFrame,
    account_holders: pl.DataFrame,
    events: pl.DataFrame,
    consents: pl.DataFrame,
    rules: SurvivorshipRules,
    as_of: dt.date,
) -> Customer360Result:
    """Build every customer 360 table.

    Holdings count open accounts only (opened on or before ``as_of``, not closed, not held as an
    authorized user); closed accounts still move ``relationship_start_date`` back. Engagement and
    age are measured on ``as_of``; consent is the latest known decision.

    Args:
        parties: ``std_parties``.
        clusters: ``identity_clusters`` (one row per accepted party record).
        accounts: ``std_accounts``.
        account_holders: ``std_account_holders``.
        events: ``std_events``.
        consents: ``std_consents``.
        rules: Survivorship rules (:func:`load_survivorship`).
        as_of: Reference date of the tenure, age, engagement windows and open accounts.

    Returns:
        The five tables, each sorted by its key; the same inputs always give identical frames.
    """
    customers = customer_keys(clusters)
    records = party_records(parties, clusters, customers)
    keys = clustered(records).select("source", "record_id", CID)

    golden, lineage = golden_from_records(records, customers, rules=rules)
    holdings, engagement, identifiers = pl.collect_all(
        [
            build_holdings(accounts, account_holders, keys, as_of=as_of),
            build_engagement(events, keys, clustered(records), as_of=as_of),
            _identifiers(clustered(records)),
        ]
    )
    consent = current_consent(consents, keys, customers)
    households = build_households(golden, max_members=rules.household_max_members)

    start = pl.min_horizontal("first_customer_since", "first_opened_date")
    customer_360 = (
        golden.lazy()
        .join(identifiers.lazy(), on=CID, how="left")
        .join(holdings.lazy(), on=CID, how="left")
        .join(engagement.lazy(), on=CID, how="left")
        .join(
            households.lazy().select("customer_id", "household_id", "household_size"),
            on="customer_id",
            how="left",
        )
        .join(consent_summary(consent, customers), on=CID, how="left")
        .with_columns(
            [pl.col(name).fill_null(value) for name, value in HOLDING_DEFAULTS.items() if value is not None]
        )
        .with_columns(
            product_families=pl.col("product_families").fill_null([]),
            n_source_records=pl.col("n_source_records").fill_null(0),
            identifiers=pl.col("identifiers").fill_null([]),
            systems=pl.col("systems").fill_null([]),
            relationship_start_date=start,
            tenure_months=months_between(start, as_of),
            digital_registered=pl.col("digital_registered").fill_null(False),
            logins_30d=pl.col("logins_30d").fill_null(0),
            logins_90d=pl.col("logins_90d").fill_null(0),
            age=age_on(pl.col("date_of_birth"), as_of),
            n_consents_granted=pl.col("n_consents_granted").fill_null(0),
            consents_granted=pl.col("consents_granted").fill_null([]),
        )
        .sort(CID)
        .select("customer_id", *GOLDEN_COLUMNS, *PROFILE_COLUMNS)
        .collect()
    )
    source_records = (
        clustered(records)
        .join(customers.lazy(), on=CID, how="inner")
        .select(SOURCE_RECORD_COLUMNS)
        .sort("customer_id", "source", "record_id")
        .collect()
    )
    log.info(
        "customer360: %d customers, %d lineage rows, %d consent states, %d household members",
        customer_360.height,
        lineage.height,
        consent.height,
        households.height,
    )
    return Customer360Result(customer_360, lineage, source_records, consent, households)


def _identifiers(records: pl.LazyFrame) -> pl.LazyFrame:
    return records.group_by(CID).agg(
        identifiers=pl.concat_str(["source", "record_id"], separator=":").sort(),
        n_source_records=pl.len().cast(pl.Int64()),
        systems=pl.col("source_system").drop_nulls().unique().sort(),
        first_customer_since=pl.col("customer_since").min(),
    )
