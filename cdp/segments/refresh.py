"""Refresh segment membership for the customers whose data changed, not for the whole bank.

A rule reads one customer's ``customer_360`` row and ``customer_features`` row (and the as-of
date, for age). With the same definitions and date, a customer's membership can only change when
one of those two rows changed, so the refresh compares them with the previously published rows,
evaluates the rules for the customers whose rows differ (or who are new or gone), folds only
their stays into the history, and keeps everyone else's stays as they are. The result equals
folding a full evaluation into the history (tests hold it to that).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import logging
from collections.abc import Sequence
from dataclasses import dataclass

import polars as pl

from cdp.schemas.canonical import conform
from cdp.segments.columns import MEMBERSHIP_COLUMNS
from cdp.segments.definitions import SegmentDefinition
from cdp.segments.evaluate import evaluate_segments
from cdp.segments.membership import check_history_date, sort_history, update_membership_history

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class SegmentRefresh:
    """Output of :func:`refresh_segment_membership`.

    Attributes:
        history: ``segment_membership`` after the run.
        evaluated_customers: customers whose rules were evaluated this run.
        full_rebuild: True when every customer was evaluated.
    """

    history: pl.DataFrame
    evaluated_customers: int
    full_rebuild: bool


def definitions_version(segments: Sequence[SegmentDefinition]) -> str:
    """A short digest of the segment definitions: a changed rule set re-evaluates everyone."""
    described = sorted((s.name, s.version, s.rule, s.credit) for s in segments)
    return hashlib.sha256(repr(described).encode()).hexdigest()[:12]


def changed_customers(previous: pl.DataFrame, current: pl.DataFrame, *, columns: Sequence[str]) -> pl.Series:
    """Customers whose row (over ``columns``) differs between two one-row-per-customer tables,
    or who are in only one of them."""
    used = ["customer_id", *[name for name in columns if name != "customer_id"]]

    def hashed(frame: pl.DataFrame) -> pl.DataFrame:
        present = [name for name in used if name in frame.columns]
        return frame.select("customer_id", _row=pl.struct(present).hash(seed=7))

    both = hashed(previous).join(hashed(current), on="customer_id", how="full", coalesce=True)
    # ne_missing: a customer present on one side only counts as changed too.
    return both.filter(pl.col("_row").ne_missing(pl.col("_row_right")))["customer_id"].unique()


def refresh_segment_membership(
    previous_history: pl.DataFrame,
    *,
    segments: Sequence[SegmentDefinition],
    customers: pl.DataFrame,
    features: pl.DataFrame,
    previous_customers: pl.DataFrame,
    previous_features: pl.DataFrame,
    as_of: dt.date,
    run_id: str,
    max_fraction: float = 0.5,
) -> SegmentRefresh:
    """``segment_membership`` after this run, evaluating only the customers whose rows changed.

    Args:
        previous_history: the last published ``segment_membership``, built with the same
            ``segments`` as of the same ``as_of``.
        segments: the segment definitions.
        customers, features: this run's ``customer_360`` and ``customer_features``.
        previous_customers, previous_features: the versions the previous history was evaluated on.
        as_of: the run's date.
        run_id: this run, recorded on entries and exits.
        max_fraction: above this share of changed customers, evaluate everyone.
    """
    check_history_date(previous_history, as_of)
    # Every 360 column, not only those rules may name today: a superset only evaluates a few more.
    stale = pl.concat(
        [
            changed_customers(previous_customers, customers, columns=customers.columns),
            changed_customers(previous_features, features, columns=features.columns),
        ]
    ).unique()
    if stale.len() > max_fraction * max(customers.height, 1):
        current = evaluate_segments(segments, customers=customers, features=features, as_of=as_of)
        history = update_membership_history(previous_history, current, run_id=run_id, as_of=as_of)
        return SegmentRefresh(history, customers.height, full_rebuild=True)
    wanted = stale.implode()
    mine = pl.col("customer_id").is_in(wanted)
    current = evaluate_segments(
        segments, customers=customers.filter(mine), features=features.filter(mine), as_of=as_of
    )
    history = conform(previous_history, MEMBERSHIP_COLUMNS)
    refreshed = update_membership_history(history.filter(mine), current, run_id=run_id, as_of=as_of)
    spliced = sort_history(pl.concat([history.filter(~mine), refreshed]))
    evaluated = customers.filter(mine).height
    log.info("segments refresh: %d customers evaluated, %d stays", evaluated, spliced.height)
    return SegmentRefresh(spliced, evaluated, full_rebuild=False)
