"""Which customers of the customer 360 a batch makes stale, beyond those re-clustered.

A customer's 360 row depends on its own records and their accounts, events and consents, on the
as-of date, and on three things shared between customers: whether an email or phone is held by
too many customers to be trusted (``max_customers_per_value``), which party sources emit events
(``digital_registered``), and who lives at the same address (households). The first is handled
here (customers holding a value whose shared status flipped are rebuilt, and a rebuild sees every
holder of its values); the other two are recomputed for everyone by the refresh.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import polars as pl

from cdp.customer360 import SurvivorshipRules
from cdp.incremental.delta import KEYS
from cdp.ingest.changes import rows_with_keys
from cdp.schemas.canonical import (
    ACCOUNT_COLUMNS,
    ACCOUNT_HOLDER_COLUMNS,
    CLUSTER_COLUMNS,
    EVENT_COLUMNS,
    conform,
)

_PARTY_KEYS = ["party_source", "party_record_id"]


@dataclass(frozen=True)
class Customer360Inputs:
    """The inputs of :func:`cdp.customer360.build_customer_360` for one run.

    Attributes:
        parties: ``std_parties``.
        clusters: ``identity_clusters``.
        accounts: ``std_accounts``.
        account_holders: ``std_account_holders``.
        events: ``std_events``.
        consents: ``std_consents``.
        as_of: the run's as-of date.

    The four activity tables may be lazy (a daily run passes the sorted scans of their
    changes): a refresh then reads only the rows of the customers it rebuilds, since Polars
    pushes those filters below the merge and sort.
    """

    parties: pl.DataFrame
    clusters: pl.DataFrame
    accounts: pl.DataFrame | pl.LazyFrame
    account_holders: pl.DataFrame | pl.LazyFrame
    events: pl.DataFrame | pl.LazyFrame
    consents: pl.DataFrame | pl.LazyFrame
    as_of: dt.date


def eager(frame: pl.DataFrame | pl.LazyFrame) -> pl.DataFrame:
    """``frame`` in memory (a lazy activity table is read whole)."""
    return frame.collect() if isinstance(frame, pl.LazyFrame) else frame


def customers_of(keys: pl.DataFrame, clusters: pl.DataFrame) -> pl.Series:
    """Current customer IDs of the given record keys (keys without a customer are skipped)."""
    return (
        clusters.join(keys.select(KEYS).unique(), on=list(KEYS), how="semi")["customer_id"]
        .drop_nulls()
        .unique()
    )


def limited_rules(rules: SurvivorshipRules) -> list[tuple[str, ...]]:
    """Key columns of every rule whose values stop counting once many customers share them."""
    return [rule.key for rule in rules.attributes if rule.max_customers_per_value is not None]


def _holder_counts(
    inputs: Customer360Inputs, key: list[str], values: pl.DataFrame, limit: int
) -> pl.DataFrame:
    """Those of ``values`` held by more than ``limit`` distinct customers (placeholder patterns are
    ignored: a superset only rebuilds a few more customers)."""
    clusters = conform(inputs.clusters, CLUSTER_COLUMNS).drop_nulls("customer_id")
    return (
        inputs.parties.lazy()
        .select(*KEYS, *key)
        .join(values.lazy(), on=key, how="semi")
        .join(clusters.lazy(), on=list(KEYS), how="inner")
        .group_by(key)
        .agg(_holders=pl.col("customer_id").n_unique())
        .filter(pl.col("_holders") > limit)
        .select(key)
        .collect()
    )


def shared_status_flips(
    previous: Customer360Inputs, current: Customer360Inputs, *, rules: SurvivorshipRules, customers: pl.Series
) -> pl.Series:
    """Current customers holding a value that became, or stopped being, too widely shared.

    A value's holders change only through records of customers whose records changed, so only
    the values those ``customers`` hold now or held before are counted.
    """
    mine = [
        inputs.parties.join(
            inputs.clusters.filter(pl.col("customer_id").is_in(customers.implode())).select(KEYS),
            on=list(KEYS),
            how="semi",
        )
        for inputs in (previous, current)
    ]
    found: list[pl.Series] = []
    for rule in rules.attributes:
        if rule.max_customers_per_value is None:
            continue
        key = list(rule.key)
        values = pl.concat([frame.select(key) for frame in mine]).drop_nulls().unique()
        before = _holder_counts(previous, key, values, rule.max_customers_per_value)
        after = _holder_counts(current, key, values, rule.max_customers_per_value)
        flipped = pl.concat([before.join(after, on=key, how="anti"), after.join(before, on=key, how="anti")])
        if flipped.height:
            holders = current.parties.join(flipped, on=key, how="semi").select(KEYS)
            found.append(customers_of(holders, current.clusters))
    return _ids(found)


def as_of_shift(previous: Customer360Inputs, current: Customer360Inputs) -> pl.Series:
    """Customers whose holdings or login windows differ between the two as-of dates.

    An account opening or closing between the dates changes open holdings and the relationship
    start; an event entering or leaving the 30- or 90-day window, or arriving before the new end,
    changes the engagement counts. Age and tenure are recomputed for everyone by the refresh.
    """
    if previous.as_of == current.as_of:
        return pl.Series("customer_id", [], dtype=pl.String())
    low, high = sorted((previous.as_of, current.as_of))
    accounts = conform(current.accounts.lazy(), ACCOUNT_COLUMNS)
    moved = (
        accounts.filter(
            pl.col("opened_date").is_between(low, high, closed="right")
            | pl.col("closed_date").is_between(low, high, closed="right")
        )
        .select(account_source="source", account_id="account_id")
        .collect()
    )
    holders = rows_with_keys(
        conform(current.account_holders.lazy(), ACCOUNT_HOLDER_COLUMNS),
        moved,
        ["account_source", "account_id"],
    ).select(source="party_source", record_id="party_record_id")
    start = dt.datetime.combine(low + dt.timedelta(days=1), dt.time())
    stop = dt.datetime.combine(high + dt.timedelta(days=1), dt.time())
    time = pl.col("event_time")
    crossing = pl.any_horizontal(
        [
            time.is_between(start - dt.timedelta(days=days), stop - dt.timedelta(days=days), closed="left")
            for days in (0, 30, 90)
        ]
    )
    engaged = (
        conform(current.events.lazy(), EVENT_COLUMNS)
        .filter(crossing)
        .select(source="party_source", record_id="party_record_id")
        .collect()
    )
    return customers_of(pl.concat([holders, engaged]), current.clusters)


def activity_keys_of(inputs: Customer360Inputs, keys: pl.DataFrame) -> dict[str, pl.DataFrame]:
    """The accounts, holder links, events and consents of the given party records."""
    parties = keys.select(party_source="source", party_record_id="record_id")
    holder_links = rows_with_keys(
        conform(inputs.account_holders.lazy(), ACCOUNT_HOLDER_COLUMNS), parties, _PARTY_KEYS
    )
    accounts = holder_links.select(source="account_source", account_id="account_id").unique()
    return {
        "account_holders": holder_links,
        "accounts": rows_with_keys(inputs.accounts.lazy(), accounts, ["source", "account_id"]),
        "events": rows_with_keys(inputs.events.lazy(), parties, _PARTY_KEYS),
        "consents": rows_with_keys(inputs.consents.lazy(), parties, _PARTY_KEYS),
    }


def context_records(
    inputs: Customer360Inputs, keys: pl.DataFrame, *, rules: SurvivorshipRules
) -> pl.DataFrame:
    """Keys of every record sharing a limited value (email, phone ...) with the given records.

    Rebuilding a customer on a subset of records must still count every holder of its values.
    """
    mine = inputs.parties.join(keys, on=list(KEYS), how="semi")
    found = [keys.select(KEYS)]
    for key in limited_rules(rules):
        values = mine.select(key).drop_nulls().unique()
        found.append(inputs.parties.join(values, on=list(key), how="semi").select(KEYS))
    return pl.concat(found).unique()


def _ids(parts: list[pl.Series]) -> pl.Series:
    if not parts:
        return pl.Series("customer_id", [], dtype=pl.String())
    return pl.concat([part.cast(pl.String()).rename("customer_id") for part in parts]).unique()
