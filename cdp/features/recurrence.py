"""Detect recurring flows (salaries, scheduled payments) from dates alone, robust to shifted days.

A series is every flow between one customer and one counterparty in the history window, with
same-day flows summed (a salary split into two credits is one payment). Its cadence comes from
the intervals between payments:

- the median interval picks the family: 4-10 days weekly, 10-20 days twice a month, 24-38 days
  monthly; at least 70% of intervals must fall in that band, so a missed or extra payment is
  tolerated while irregular flows are not;
- biweekly (every 14 days) and semi-monthly (e.g. the 1st and the 15th) have the same median, so
  they are told apart by the mean of the in-band intervals: about 14.0 days for biweekly, about
  15.2 (365.25 / 24) for semi-monthly, with the split at 14.6. Weekend and holiday shifts move
  single payments by a day or three but cancel out in the mean.

Amount stability is the coefficient of variation (population standard deviation / mean) of the
payment amounts.
"""

from __future__ import annotations

import datetime as dt

import polars as pl

from cdp.features.columns import CENTS, RATIO_DIGITS

#: Nominal days between payments, and payments per month, of each cadence.
CADENCE_DAYS: dict[str, float] = {
    "weekly": 7.0,
    "biweekly": 14.0,
    "semi_monthly": 365.25 / 24,
    "monthly": 365.25 / 12,
}
PER_MONTH: dict[str, float] = {"weekly": 52 / 12, "biweekly": 26 / 12, "semi_monthly": 2.0, "monthly": 1.0}
BAND_SHARE = 0.7


def series_stats(flows: pl.LazyFrame, *, hint_categories: tuple[str, ...]) -> pl.LazyFrame:
    """Summarise each (customer, counterparty) series and classify its cadence.

    Args:
        flows: ``customer_key``, ``party_key`` (counterparty), ``posted_date``, ``amount`` (positive)
            and ``category``.
        hint_categories: Categories that suggest the kind of flow looked for (e.g. ``salary``).

    Returns:
        One row per series (``customer_key``, ``party_key``): ``n``, ``first_date``, ``last_date``,
        ``median_amount``, ``amount_cv``, ``hint_share`` (share of payment days with a hint category),
        ``transfer_share`` (likewise for ``transfer``), ``cadence`` (null when the dates
        are not regular), ``per_month`` and ``monthly_amount``.
    """
    keys = ["customer_key", "party_key"]
    keyed = flows.with_columns(series_key=pl.struct("customer_key", "party_key").hash())
    # Most (customer, counterparty) pairs occur once (shops); drop them before the costlier steps.
    # One 64-bit key is much cheaper to count than two columns; a collision only keeps extra rows.
    repeated = keyed.group_by("series_key").agg(pl.len()).filter(pl.col("len") >= 2).select("series_key")
    daily = (
        keyed.join(repeated, on="series_key", how="semi")
        .group_by(*keys, "posted_date")
        .agg(
            amount=pl.col("amount").sum().round(CENTS),
            hint=pl.col("category").is_in(hint_categories).fill_null(False).any(),
            transfer=(pl.col("category") == "transfer").fill_null(False).any(),
        )
    )
    repeated_days = daily.group_by(keys).agg(pl.len()).filter(pl.col("len") >= 2).select(keys)
    # Intervals come from a sorted frame and plain column aggregations: an expression per group
    # (sort + diff inside ``agg``) is orders of magnitude slower with millions of small series.
    same_series = (pl.col("customer_key") == pl.col("customer_key").shift(1)) & (
        pl.col("party_key") == pl.col("party_key").shift(1)
    )
    interval = pl.col("interval")
    with_intervals = (
        daily.join(repeated_days, on=keys, how="semi")
        .sort(*keys, "posted_date")
        .with_columns(
            interval=pl.when(same_series).then(
                (pl.col("posted_date") - pl.col("posted_date").shift(1)).dt.total_days()
            )
        )
        .with_columns(
            in_weekly=interval.is_between(4, 10),
            in_twice=interval.is_between(10, 20),
            in_monthly=interval.is_between(24, 38),
        )
        .with_columns(twice_interval=pl.when(pl.col("in_twice")).then(interval))
    )
    n_intervals = (pl.len() - 1).cast(pl.Float64)
    stats = with_intervals.group_by(keys).agg(
        n=pl.len().cast(pl.Int64),
        first_date=pl.col("posted_date").min(),
        last_date=pl.col("posted_date").max(),
        median_amount=pl.col("amount").median(),
        amount_cv=(pl.col("amount").std(ddof=0) / pl.col("amount").mean()).round(RATIO_DIGITS),
        hint_share=pl.col("hint").mean(),
        transfer_share=pl.col("transfer").mean(),
        median_interval=interval.median(),
        share_weekly=pl.col("in_weekly").sum() / n_intervals,
        share_twice=pl.col("in_twice").sum() / n_intervals,
        share_monthly=pl.col("in_monthly").sum() / n_intervals,
        mean_twice=pl.col("twice_interval").mean(),
    )
    med = pl.col("median_interval")
    cadence = (
        pl.when(med.is_between(4, 10) & (pl.col("share_weekly") >= BAND_SHARE))
        .then(pl.lit("weekly"))
        .when(med.is_between(10, 20, closed="right") & (pl.col("share_twice") >= BAND_SHARE))
        .then(pl.when(pl.col("mean_twice") < 14.6).then(pl.lit("biweekly")).otherwise(pl.lit("semi_monthly")))
        .when(med.is_between(24, 38) & (pl.col("share_monthly") >= BAND_SHARE))
        .then(pl.lit("monthly"))
    )
    per_month = pl.col("cadence").replace_strict(PER_MONTH, default=None, return_dtype=pl.Float64)
    return (
        stats.with_columns(cadence=cadence)
        .with_columns(per_month=per_month)
        .with_columns(monthly_amount=(pl.col("median_amount") * pl.col("per_month")).round(CENTS))
        .drop("median_interval", "share_weekly", "share_twice", "share_monthly", "mean_twice")
    )


def next_date(last: pl.Expr, cadence: pl.Expr) -> pl.Expr:
    """The next expected payment date after ``last`` (calendar month for monthly series)."""
    return (
        pl.when(cadence == "monthly")
        .then(last.dt.offset_by("1mo"))
        .when(cadence == "semi_monthly")
        .then(last + pl.duration(days=15))
        .when(cadence == "biweekly")
        .then(last + pl.duration(days=14))
        .when(cadence == "weekly")
        .then(last + pl.duration(days=7))
    )


def grace_days(cadence: pl.Expr) -> pl.Expr:
    """Days a payment may be late before the series counts as stopped: half a period, at least 5."""
    days = cadence.replace_strict(CADENCE_DAYS, default=None, return_dtype=pl.Float64)
    return pl.max_horizontal(days / 2, pl.lit(5.0)).ceil().cast(pl.Int64)


def is_active(last: pl.Expr, cadence: pl.Expr, *, as_of: dt.date) -> pl.Expr:
    """The series still runs on ``as_of``: its next payment is not overdue beyond the grace."""
    return (next_date(last, cadence) + pl.duration(days=grace_days(cadence))) >= pl.lit(as_of)
