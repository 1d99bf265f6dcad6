"""Segment membership history: when each customer entered and left each segment version.

A stay is keyed by (segment, segment_version, customer_id). A new rule version is a new segment
for history purposes: customers of the old version leave it and those of the new one enter, so each
row always says under which rule the customer qualified. A customer who leaves and comes back gets
a second row. Re-running the same date with the same result changes nothing.
"""

from __future__ import annotations

import datetime as dt

import polars as pl

from cdp.errors import ConfigError
from cdp.schemas.canonical import conform
from cdp.segments.columns import CURRENT_MEMBERSHIP_COLUMNS, MEMBERSHIP_COLUMNS

KEY = list(CURRENT_MEMBERSHIP_COLUMNS)


def update_membership_history(
    previous: pl.DataFrame | None, current: pl.DataFrame, *, run_id: str, as_of: dt.date
) -> pl.DataFrame:
    """Fold this run's membership into the history.

    Args:
        previous: The last published ``segment_membership`` (None on the first run).
        current: ``evaluate_segments`` output of this run.
        run_id: This run's id, recorded on entries and exits.
        as_of: This run's date: entries get ``entered_on = as_of``, exits ``exited_on = as_of``.

    Returns:
        The full ``segment_membership``: closed stays unchanged, open stays kept or closed, new
        stays opened.

    Raises:
        ConfigError: ``as_of`` is earlier than a date already in the history.

    Example:
        >>> now = pl.DataFrame({"segment": ["s"], "segment_version": [1], "customer_id": ["c1"]})
        >>> first = update_membership_history(None, now, run_id="r1", as_of=dt.date(2024, 1, 1))
        >>> second = update_membership_history(first, now.clear(), run_id="r2", as_of=dt.date(2024, 2, 1))
        >>> second.select("customer_id", "entered_on", "exited_on", "exited_run_id").row(0)
        ('c1', datetime.date(2024, 1, 1), datetime.date(2024, 2, 1), 'r2')
    """
    history = (
        pl.DataFrame(schema=dict(MEMBERSHIP_COLUMNS))
        if previous is None
        else conform(previous, MEMBERSHIP_COLUMNS)
    )
    check_history_date(history, as_of)
    now = conform(current, CURRENT_MEMBERSHIP_COLUMNS).unique(KEY)
    is_open = pl.col("exited_on").is_null()
    closed = history.filter(~is_open)
    open_stays = history.filter(is_open).unique(KEY, keep="first")
    stayed = open_stays.join(now, on=KEY, how="semi")
    exited = open_stays.join(now, on=KEY, how="anti").with_columns(
        exited_on=pl.lit(as_of), exited_run_id=pl.lit(run_id)
    )
    entered = now.join(open_stays, on=KEY, how="anti").with_columns(
        entered_on=pl.lit(as_of),
        exited_on=pl.lit(None, dtype=pl.Date),
        entered_run_id=pl.lit(run_id),
        exited_run_id=pl.lit(None, dtype=pl.String),
    )
    return sort_history(
        pl.concat([conform(part, MEMBERSHIP_COLUMNS) for part in (closed, stayed, exited, entered)])
    )


def sort_history(history: pl.DataFrame) -> pl.DataFrame:
    """Stays in one fixed order: by key and entry date, then by every other column, so that stays
    sharing a key and an entry date (runs on the same as-of date) never swap between runs."""
    return history.sort(list(MEMBERSHIP_COLUMNS), nulls_last=True)


def check_history_date(history: pl.DataFrame, as_of: dt.date) -> None:
    """Refuse to fold a run into a history that already has changes after its date.

    Raises:
        ConfigError: ``as_of`` is earlier than a date already in the history.
    """
    latest = history.select(pl.max_horizontal(pl.col("entered_on").max(), pl.col("exited_on").max())).item()
    if latest is not None and as_of < latest:
        raise ConfigError(
            f"segment membership history already has changes on {latest}; cannot update it as of {as_of} "
            "(run with a later --as-of, or rebuild the history)"
        )


def current_members(history: pl.DataFrame, segment: str) -> pl.DataFrame:
    """Open stays of one segment (``segment_membership`` rows with no exit date)."""
    frame = history.filter(pl.col("segment") == segment)
    if "exited_on" in frame.columns:
        frame = frame.filter(pl.col("exited_on").is_null())
    return frame


def membership_trend(history: pl.DataFrame, segment: str) -> pl.DataFrame:
    """Size of a segment on every date it changed, with the entries and exits of that date.

    Returns:
        ``date``, ``entered``, ``exited``, ``size`` (members after that date's changes), sorted.
    """
    rows = history.filter(pl.col("segment") == segment)
    entries = rows.group_by(pl.col("entered_on").alias("date")).agg(entered=pl.len())
    exits = (
        rows.filter(pl.col("exited_on").is_not_null())
        .group_by(pl.col("exited_on").alias("date"))
        .agg(exited=pl.len())
    )
    return (
        entries.join(exits, on="date", how="full", coalesce=True)
        .with_columns(
            pl.col("entered").fill_null(0).cast(pl.Int64), pl.col("exited").fill_null(0).cast(pl.Int64)
        )
        .sort("date")
        .with_columns(size=(pl.col("entered") - pl.col("exited")).cum_sum())
    )
