"""Refresh the published customer 360 tables for the customers a batch touched.

The refreshed tables equal what :func:`cdp.customer360.build_customer_360` gives on the full
inputs (tests compare them with ``assert_frame_equal``):

- stale customers (see :mod:`cdp.incremental.scope`) are rebuilt by ``build_customer_360`` on
  their own records plus every record sharing a limited value with them, and spliced into the
  previous tables (sorted by ``customer_id``; a stable sort keeps each customer's row order);
  customer IDs that no longer exist (merged away, last record removed) are dropped;
- ``digital_registered`` is recomputed for everyone (a new event-emitting source changes it for
  customers the batch never touched);
- households are recomputed for every address key held before or after by a rebuilt customer;
- when the as-of date moved, customers with an account opening or closing, or an event crossing a
  window edge, between the two dates are rebuilt, and ``age`` and ``tenure_months`` are
  recomputed for everyone from the stored birth date and relationship start.

When more than ``max_fraction`` of the customers are stale the full build is cheaper, and is run.
"""

from __future__ import annotations

import logging
from collections.abc import Collection
from dataclasses import dataclass

import polars as pl

from cdp.customer360 import Customer360Result, SurvivorshipRules, build_customer_360
from cdp.customer360.holdings import DIGITAL_SYSTEMS, age_on, months_between
from cdp.customer360.households import HOUSEHOLD_COLUMNS, address_key, household_id
from cdp.incremental.delta import KEYS, PartyDelta, party_delta
from cdp.incremental.scope import (
    Customer360Inputs,
    as_of_shift,
    context_records,
    customers_of,
    eager,
    shared_status_flips,
)
from cdp.schemas.canonical import CLUSTER_COLUMNS, EVENT_COLUMNS, conform

log = logging.getLogger(__name__)

_TABLES = ("customer_360", "lineage", "source_records", "consent")
_ALWAYS_SPLICED = ("customer_360", "source_records")


@dataclass(frozen=True)
class Customer360Refresh:
    """Output of :func:`refresh_customer_360`.

    Attributes:
        tables: the five customer 360 tables after the batch; a table left out of the splice
            (``splice`` argument) holds only the rebuilt customers' rows.
        rebuilt_customers: customers rebuilt from their records.
        full_rebuild: True when the full build ran instead of a splice.
        replaced_customer_ids: customers whose previous rows were replaced or removed (rebuilt,
            merged away, or left without records): the keys to delete before adding the rows of
            an unspliced table.
    """

    tables: Customer360Result
    rebuilt_customers: int
    full_rebuild: bool
    replaced_customer_ids: pl.Series | None = None


def build_full(inputs: Customer360Inputs, *, rules: SurvivorshipRules) -> Customer360Result:
    """``build_customer_360`` on every record (the batch path's reference)."""
    return build_customer_360(
        parties=inputs.parties,
        clusters=inputs.clusters,
        accounts=eager(inputs.accounts),
        account_holders=eager(inputs.account_holders),
        events=eager(inputs.events),
        consents=eager(inputs.consents),
        rules=rules,
        as_of=inputs.as_of,
    )


def refresh_customer_360(
    previous: Customer360Result,
    *,
    previous_inputs: Customer360Inputs,
    inputs: Customer360Inputs,
    affected_customer_ids: pl.Series,
    rules: SurvivorshipRules,
    activity: pl.DataFrame | None = None,
    delta: PartyDelta | None = None,
    max_fraction: float = 0.5,
    splice: Collection[str] = _TABLES,
) -> Customer360Refresh:
    """Bring the customer 360 tables up to date by rebuilding only the stale customers.

    Args:
        previous: the five tables the previous run published (built from ``previous_inputs``).
        previous_inputs: the inputs of the previous run (its as-of date included).
        inputs: this run's inputs (``clusters`` is the new ``identity_clusters``).
        affected_customer_ids: customer IDs whose records the identity update changed
            (:attr:`IncrementResolution.affected_customer_ids`).
        rules: survivorship rules (the same as the previous run's).
        activity: party keys whose accounts, holder links, events or consents changed
            (:func:`cdp.incremental.activity_changes`); computed from the inputs when None.
        delta: the party delta; computed from the inputs when None.
        max_fraction: above this share of stale customers, run the full build instead.
        splice: the tables (of ``customer_360``, ``lineage``, ``source_records``, ``consent``)
            to splice into the previous version; the others come back as the rebuilt rows only,
            for the caller to publish as changes (``customer_360`` and ``source_records`` are
            always spliced: the shared columns are computed from them).

    Returns:
        The refreshed tables and how many customers were rebuilt.
    """
    from cdp.incremental.delta import activity_changes

    if activity is None:
        activity = activity_changes(
            previous_accounts=eager(previous_inputs.accounts),
            accounts=eager(inputs.accounts),
            previous_account_holders=eager(previous_inputs.account_holders),
            account_holders=eager(inputs.account_holders),
            previous_events=eager(previous_inputs.events),
            events=eager(inputs.events),
            previous_consents=eager(previous_inputs.consents),
            consents=eager(inputs.consents),
        )
    if delta is None:
        delta = party_delta(previous_inputs.parties, inputs.parties)
    clusters = conform(inputs.clusters, CLUSTER_COLUMNS).drop_nulls("customer_id")
    current_ids = clusters["customer_id"].unique()
    touched = delta.touched_keys()
    changed = pl.concat(
        [
            affected_customer_ids.cast(pl.String()).rename("customer_id"),
            customers_of(touched, conform(previous_inputs.clusters, CLUSTER_COLUMNS)),
            customers_of(pl.concat([touched, activity.select(KEYS)]), clusters),
        ]
    ).unique()
    stale = pl.concat(
        [
            changed,
            shared_status_flips(previous_inputs, inputs, rules=rules, customers=changed),
            as_of_shift(previous_inputs, inputs),
        ]
    ).unique()
    rebuild = stale.filter(stale.is_in(current_ids.implode()))
    if rebuild.len() > max_fraction * max(current_ids.len(), 1):
        log.info(
            "customer360 refresh: %d of %d customers stale, full build", rebuild.len(), current_ids.len()
        )
        return Customer360Refresh(build_full(inputs, rules=rules), current_ids.len(), full_rebuild=True)
    gone = previous.customer_360.select("customer_id").filter(
        ~pl.col("customer_id").is_in(current_ids.implode())
    )
    drop = pl.concat([rebuild, gone["customer_id"]]).unique()
    rebuilt = _rebuild(inputs, clusters, rebuild, rules=rules)
    spliced = {
        name: (
            _splice(getattr(previous, name), getattr(rebuilt, name), drop=drop, keep=rebuild)
            if name in splice or name in _ALWAYS_SPLICED
            else _fresh(getattr(previous, name), getattr(rebuilt, name), keep=rebuild)
        )
        for name in _TABLES
    }
    households = _households(previous, spliced["customer_360"], drop, rebuild, rules=rules)
    customer_360 = _refresh_shared_columns(
        spliced["customer_360"], households, inputs, spliced["source_records"]
    )
    if previous_inputs.as_of != inputs.as_of:
        customer_360 = customer_360.with_columns(
            tenure_months=months_between(pl.col("relationship_start_date"), inputs.as_of),
            age=age_on(pl.col("date_of_birth"), inputs.as_of),
        )
    log.info(
        "customer360 refresh: %d rebuilt, %d dropped, %d customers",
        rebuild.len(),
        drop.len(),
        customer_360.height,
    )
    tables = Customer360Result(
        customer_360=customer_360,
        lineage=spliced["lineage"],
        source_records=spliced["source_records"],
        consent=spliced["consent"],
        households=households,
    )
    return Customer360Refresh(tables, rebuild.len(), full_rebuild=False, replaced_customer_ids=drop)


def _rebuild(
    inputs: Customer360Inputs, clusters: pl.DataFrame, rebuild: pl.Series, *, rules: SurvivorshipRules
) -> Customer360Result:
    """``build_customer_360`` on the rebuilt customers' records (plus context for shared values)."""
    own = clusters.filter(pl.col("customer_id").is_in(rebuild.implode())).select(KEYS)
    scope = context_records(inputs, own, rules=rules)
    from cdp.incremental.scope import activity_keys_of

    activity = activity_keys_of(inputs, own)
    return build_customer_360(
        parties=inputs.parties.join(scope, on=list(KEYS), how="semi", maintain_order="left"),
        clusters=clusters.join(scope, on=list(KEYS), how="semi"),
        accounts=activity["accounts"],
        account_holders=activity["account_holders"],
        events=activity["events"],
        consents=activity["consents"],
        rules=rules,
        as_of=inputs.as_of,
    )


def _fresh(previous: pl.DataFrame, rebuilt: pl.DataFrame, *, keep: pl.Series) -> pl.DataFrame:
    """The rebuilt customers' rows, shaped like ``previous`` and in customer order."""
    fresh = rebuilt.filter(pl.col("customer_id").is_in(keep.implode())).select(previous.columns)
    return fresh.cast(previous.schema).sort("customer_id", maintain_order=True)


def _splice(
    previous: pl.DataFrame, rebuilt: pl.DataFrame, *, drop: pl.Series, keep: pl.Series
) -> pl.DataFrame:
    """Previous rows of untouched customers and rebuilt rows of the rebuilt ones, in customer order.

    Both sides are sorted by ``customer_id`` first and hold disjoint customers, so a stable sort
    of the two gives the order the full build sorts into.
    """
    kept = previous.filter(~pl.col("customer_id").is_in(drop.implode()))
    fresh = rebuilt.filter(pl.col("customer_id").is_in(keep.implode())).select(kept.columns)
    # A stable sort keeps each customer's rows in the order the build gave them.
    return pl.concat([kept, fresh.cast(kept.schema)]).sort("customer_id", maintain_order=True)


def _households(
    previous: Customer360Result,
    customer_360: pl.DataFrame,
    drop: pl.Series,
    rebuild: pl.Series,
    *,
    rules: SurvivorshipRules,
) -> pl.DataFrame:
    """Households recomputed for every address key a dropped or rebuilt customer held or holds."""
    before = previous.customer_360.filter(pl.col("customer_id").is_in(drop.implode()))
    after = customer_360.filter(pl.col("customer_id").is_in(rebuild.implode()))
    touched = (
        pl.concat([before.select(_key=address_key()), after.select(_key=address_key())]).drop_nulls().unique()
    )
    postcodes = touched.select(pl.col("_key").str.split("|").list.last()).to_series()
    near = customer_360.filter(
        pl.col("postcode").str.strip_chars().str.slice(0, 5).is_in(postcodes.implode())
    ).select("customer_id", _key=address_key())
    members = (
        near.join(touched, on="_key", how="semi")
        .with_columns(household_size=pl.len().over("_key").cast(pl.Int64()))
        .filter(pl.col("household_size") <= rules.household_max_members)
    )
    ids = touched.with_columns(household_id=household_id(touched["_key"]))
    fresh = members.join(ids, on="_key", how="inner").select(list(HOUSEHOLD_COLUMNS))
    kept = conform(previous.households, HOUSEHOLD_COLUMNS).filter(
        ~pl.col("customer_id").is_in(drop.implode())
        & ~pl.col("household_id").is_in(ids["household_id"].implode())
    )
    return pl.concat([kept, fresh]).sort("household_id", "customer_id")


def _refresh_shared_columns(
    customer_360: pl.DataFrame,
    households: pl.DataFrame,
    inputs: Customer360Inputs,
    source_records: pl.DataFrame,
) -> pl.DataFrame:
    """Household membership and ``digital_registered``, which depend on other customers' data."""
    event_sources = (
        conform(inputs.events.lazy(), EVENT_COLUMNS)
        .select(pl.col("party_source").drop_nulls().unique())
        .collect()
        .to_series()
    )
    registered = (
        source_records.filter(
            pl.col("source").is_in(event_sources.implode())
            | pl.col("source_system").is_in(list(DIGITAL_SYSTEMS))
        )
        .select("customer_id")
        .unique()
    )
    columns = customer_360.columns
    return (
        customer_360.drop("household_id", "household_size")
        .join(
            households.select("customer_id", "household_id", "household_size"),
            on="customer_id",
            how="left",
            maintain_order="left",
        )
        .with_columns(digital_registered=pl.col("customer_id").is_in(registered["customer_id"].implode()))
        .select(columns)
    )
