"""Current consent per customer, purpose and channel: the latest decision across all their records."""

from __future__ import annotations

import logging
from collections.abc import Sequence

import polars as pl

from cdp.customer360.golden import CID
from cdp.schemas.canonical import CONSENT_COLUMNS, conform

log = logging.getLogger(__name__)

#: Columns of customer_consent, in order.
CONSENT_STATE_COLUMNS: dict[str, pl.DataType] = {
    "customer_id": pl.String(),
    "purpose": pl.String(),
    "channel": pl.String(),
    "granted": pl.Boolean(),
    "updated_at": pl.Datetime("us"),
    "source": pl.String(),
    "record_id": pl.String(),
    "consent_source": pl.String(),
    "source_file": pl.String(),
    "source_row": pl.Int64(),
}

_STATE_KEY = ("customer_id", "purpose", "channel")


def decision_time(key: Sequence[str]) -> pl.Expr:
    """When a consent decision counts as taken, to order the decisions sharing ``key``.

    Some systems record only the date of a decision (a branch form signed on 03/14), which
    arrives as midnight. Against a decision timed later that day its order is unknown, so when a
    day holds a date-only decision, every decision of that day counts as taken at its midnight and
    the refusal wins the tie: when in doubt, the customer is not contacted. (A decision really
    taken at midnight counts as date-only, the cautious side.)

    Example:
        >>> import datetime as dt
        >>> frame = pl.DataFrame({"customer_id": ["c", "c"], "updated_at": [
        ...     dt.datetime(2026, 3, 14), dt.datetime(2026, 3, 14, 15, 30)]})
        >>> frame.select(decision_time(["customer_id"]))["updated_at"].n_unique()
        1
    """
    at = pl.col("updated_at").cast(pl.Datetime("us"))
    day = at.dt.truncate("1d")
    return pl.when((at == day).any().over([*key, day])).then(day).otherwise(at)


def current_consent(consents: pl.DataFrame, keys: pl.LazyFrame, customers: pl.DataFrame) -> pl.DataFrame:
    """The latest consent decision per (customer, purpose, channel), whichever record it came from.

    Decisions are not cut at the run's ``as_of`` date: a withdrawal is honoured as soon as it is
    known. At equal timestamps a refusal beats a grant, and a decision recorded by date only ties
    with every decision of its day (:func:`decision_time`); decisions without a timestamp rank as
    the oldest. Customers without any decision for a purpose and channel have no row, which downstream
    treats as not consented.

    Args:
        consents: ``std_consents``.
        keys: ``(source, record_id, _cid)`` of every clustered party record.
        customers: ``(_cid, customer_id)``.

    Returns:
        ``customer_consent``, sorted by customer, purpose and channel.
    """
    frame = (
        conform(consents, CONSENT_COLUMNS)
        .lazy()
        .filter(pl.col("granted").is_not_null() & pl.col("purpose").is_not_null())
    )
    keyed = (
        frame.rename({"source": "consent_source"})
        .join(
            keys, left_on=["party_source", "party_record_id"], right_on=["source", "record_id"], how="inner"
        )
        .join(customers.lazy(), on=CID, how="inner")
        .rename({"party_source": "source", "party_record_id": "record_id"})
    )
    state = (
        keyed.with_columns(_decided=decision_time(_STATE_KEY))
        .sort(
            [
                *_STATE_KEY,
                "_decided",
                "granted",
                "updated_at",
                "source",
                "record_id",
                "consent_source",
                "source_file",
                "source_row",
            ],
            descending=[False, False, False, True, False, True, False, False, False, False, False],
            nulls_last=True,
        )
        .unique(subset=list(_STATE_KEY), keep="first", maintain_order=True)
        .select(list(CONSENT_STATE_COLUMNS))
        .collect()
    )
    unmatched = consents.height - keyed.select(pl.len()).collect().item()
    if unmatched:
        log.info("customer360: %d consent decisions reference no clustered party record", unmatched)
    return state


def consent_summary(state: pl.DataFrame, customers: pl.DataFrame) -> pl.LazyFrame:
    """Per customer key: how many (purpose, channel) pairs are granted, and which (``purpose:channel``)."""
    granted = state.lazy().filter("granted").join(customers.lazy(), on="customer_id", how="inner")
    label = pl.concat_str([pl.col("purpose"), pl.col("channel").fill_null("any")], separator=":")
    return granted.group_by(CID).agg(
        n_consents_granted=pl.len().cast(pl.Int64()),
        consents_granted=label.sort(),
    )
