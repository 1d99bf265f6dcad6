"""Life-event signals, each with the date it was detected and the evidence (JSON).

Every detector uses only data on or before ``as_of`` and reports events detected within the
12-month history window:

- ``new_salary_payer``: a salary series from a payer whose first payment came at least
  ``NEW_PAYER_HISTORY_DAYS`` after the customer's first observed deposit transaction (so the payer
  really is new, not merely the start of the data); detected on its first pay day. Salary means
  regular income detected from recurrence, so a pension that starts is also a new payer; the
  evidence's ``salary_category_share`` (share of payments categorised as salary) tells them apart.
- ``salary_stopped``: the customer's latest salary series is overdue beyond its grace period and no
  other salary runs; detected on the day the missed payment became overdue.
- ``address_change``: a party record of the customer shows an address (line 1 + postcode) never
  seen before in the customer's earlier records; detected on that record's ``updated_at``.
  Undated records count as the oldest known addresses.
- ``large_deposit``: a single credit from a non-recurring payer of at least
  ``LARGE_DEPOSIT_RATIO`` times the customer's typical monthly inflow (the 12-month inflow without
  that credit, divided by 12) and at least ``LARGE_DEPOSIT_MIN``.
- ``mortgage_intent``: ``MORTGAGE_VIEWS`` or more mortgage-rate page views within
  ``MORTGAGE_WINDOW``; detected on the view that reached the count.
- ``approaching_retirement``: within ``RETIREMENT_LEAD_YEARS`` of ``RETIREMENT_AGE``; detected on
  the birthday that started that period, and reported while it lasts (it is a state, not a moment).
"""

from __future__ import annotations

import polars as pl

from cdp.features.cashflow import SALARY_HINTS, external_deposit_flows
from cdp.features.columns import LIFE_EVENT_COLUMNS
from cdp.features.linking import PointInTime
from cdp.features.recurrence import grace_days, next_date

NEW_PAYER_HISTORY_DAYS = 45
LARGE_DEPOSIT_RATIO = 3.0
LARGE_DEPOSIT_MIN = 2500.0
MORTGAGE_VIEWS = 3
MORTGAGE_WINDOW = "14d"
RETIREMENT_AGE = 67
RETIREMENT_LEAD_YEARS = 5


def _event(name: str, evidence: list[pl.Expr | str]) -> list[pl.Expr]:
    return [
        pl.col("customer_key"),
        pl.lit(name).alias("event"),
        pl.col("detected_on"),
        pl.struct(evidence).struct.json_encode().alias("evidence"),
    ]


def salary_events(pit: PointInTime, *, series: pl.LazyFrame) -> pl.LazyFrame:
    """``new_salary_payer`` and ``salary_stopped`` from the credit series."""
    salaries = series.filter(pl.col("is_salary"))
    first_seen = (
        external_deposit_flows(pit).group_by("customer_key").agg(first_seen=pl.col("posted_date").min())
    )
    candidates = salaries.join(first_seen, on="customer_key", how="inner").filter(
        (pl.col("first_date") - pl.col("first_seen")).dt.total_days() >= NEW_PAYER_HISTORY_DAYS
    )
    earlier = salaries.select(
        "customer_key",
        pl.col("party").alias("previous_payer"),
        pl.col("first_date").alias("prev_first"),
        pl.col("last_date").alias("prev_last"),
    )
    prior = (
        candidates.join(earlier, on="customer_key", how="inner")
        .filter((pl.col("previous_payer") != pl.col("party")) & (pl.col("prev_first") < pl.col("first_date")))
        .sort("customer_key", "party", "prev_last", "previous_payer", descending=[False, False, True, False])
        .group_by("customer_key", "party", maintain_order=True)
        .agg(pl.col("previous_payer").first())
    )
    new_payer = (
        candidates.join(prior, on=["customer_key", "party"], how="left")
        .with_columns(detected_on=pl.col("first_date"))
        .select(
            _event(
                "new_salary_payer",
                [
                    pl.col("party").alias("payer"),
                    pl.col("first_date").alias("first_payment"),
                    "n",
                    "cadence",
                    pl.col("median_amount").round(2),
                    pl.col("hint_share").round(2).alias("salary_category_share"),
                    "previous_payer",
                ],
            )
        )
    )
    latest = (
        salaries.sort("customer_key", "last_date", descending=[False, True])
        .group_by("customer_key", maintain_order=True)
        .agg(
            party=pl.col("party").first(),
            last_date=pl.col("last_date").first(),
            cadence=pl.col("cadence").first(),
            n=pl.col("n").first(),
            any_active=pl.col("active").any(),
        )
    )
    overdue_on = next_date(pl.col("last_date"), pl.col("cadence")) + pl.duration(
        days=grace_days(pl.col("cadence"))
    )
    stopped = (
        latest.filter(~pl.col("any_active") & (pl.col("n") >= 3))
        .with_columns(detected_on=overdue_on + pl.duration(days=1))
        .filter(pl.col("detected_on") <= pit.as_of)
        .select(
            _event(
                "salary_stopped",
                [
                    pl.col("party").alias("payer"),
                    pl.col("last_date").alias("last_payment"),
                    "cadence",
                    "n",
                    next_date(pl.col("last_date"), pl.col("cadence")).alias("expected_on"),
                ],
            )
        )
    )
    return pl.concat([new_payer, stopped])


def address_events(pit: PointInTime) -> pl.LazyFrame:
    """A move: the first record version of the customer showing an address never seen before."""
    dated = pit.parties.filter(pl.col("address_key").is_not_null())
    first_seen = (
        dated.sort("customer_key", "updated_at", "source", "record_id", nulls_last=False)
        .group_by("customer_key", "address_key", maintain_order=True)
        .first()
        .sort("customer_key", "updated_at", "source", "record_id", nulls_last=False)
        .with_columns(
            prev_source=pl.col("source").shift(1).over("customer_key"),
            prev_record_id=pl.col("record_id").shift(1).over("customer_key"),
            prev_updated_at=pl.col("updated_at").shift(1).over("customer_key"),
            rank=pl.int_range(pl.len()).over("customer_key"),
        )
    )
    return (
        first_seen.filter((pl.col("rank") > 0) & pl.col("updated_at").is_not_null())
        .with_columns(detected_on=pl.col("updated_at"))
        .select(
            _event(
                "address_change",
                [
                    "source",
                    "record_id",
                    "updated_at",
                    pl.col("prev_source").alias("previous_source"),
                    pl.col("prev_record_id").alias("previous_record_id"),
                    pl.col("prev_updated_at").alias("previous_updated_at"),
                ],
            )
        )
    )


def large_deposit_events(pit: PointInTime, *, series: pl.LazyFrame, inflow_12m: pl.LazyFrame) -> pl.LazyFrame:
    """Single credits far above the customer's typical monthly inflow, from non-recurring payers."""
    recurring = series.filter(pl.col("cadence").is_not_null()).select("customer_key", "party_key")
    credits = external_deposit_flows(pit).filter(
        (pl.col("amount") > 0) & ~pl.col("category").is_in(SALARY_HINTS).fill_null(False)
    )
    typical = ((pl.col("inflow_12m") - pl.col("amount")) / 12).clip(lower_bound=0.0)
    return (
        credits.join(recurring, on=["customer_key", "party_key"], how="anti", nulls_equal=False)
        .join(inflow_12m, on="customer_key", how="inner")
        .join(pit.accounts.select("account_key", "account_source", "account_id").unique(), on="account_key")
        .with_columns(typical=typical)
        .filter(
            (pl.col("amount") >= LARGE_DEPOSIT_MIN)
            & (pl.col("amount") >= LARGE_DEPOSIT_RATIO * pl.col("typical"))
        )
        .with_columns(detected_on=pl.col("posted_date"))
        .select(
            _event(
                "large_deposit",
                [
                    pl.col("amount").round(2),
                    pl.col("typical").round(2).alias("typical_monthly_inflow"),
                    "category",
                    pl.col("account_source"),
                    pl.col("account_id"),
                ],
            )
        )
    )


def mortgage_intent_events(pit: PointInTime) -> pl.LazyFrame:
    """Repeated mortgage-rate page views in a short window."""
    page = pl.col("page")
    views = (
        pit.events.filter(
            (pl.col("event_type") == "page_view") & page.str.contains("mortgage") & page.str.contains("rate")
        )
        .sort("customer_key", "event_time")
        .with_columns(one=pl.lit(1, dtype=pl.Int64))
        .with_columns(
            in_window=pl.col("one")
            .rolling_sum_by("event_time", window_size=MORTGAGE_WINDOW)
            .over("customer_key")
        )
        .with_columns(prev=pl.col("in_window").shift(1).over("customer_key").fill_null(0))
    )
    return (
        views.filter((pl.col("in_window") >= MORTGAGE_VIEWS) & (pl.col("prev") < MORTGAGE_VIEWS))
        .with_columns(detected_on=pl.col("event_date"))
        .select(
            _event(
                "mortgage_intent",
                [
                    pl.col("in_window").alias("views_in_window"),
                    pl.lit(MORTGAGE_WINDOW).alias("window"),
                    "page",
                ],
            )
        )
    )


def retirement_events(pit: PointInTime) -> pl.LazyFrame:
    """Customers within the lead years of retirement age, detected on the birthday that began it."""
    start_age = RETIREMENT_AGE - RETIREMENT_LEAD_YEARS
    starts = pl.col("date_of_birth").dt.offset_by(f"{start_age}y")
    ends = pl.col("date_of_birth").dt.offset_by(f"{RETIREMENT_AGE}y")
    return (
        pit.customers.filter(pl.col("date_of_birth").is_not_null())
        .with_columns(detected_on=starts, ends=ends)
        .filter((pl.col("detected_on") <= pit.as_of) & (pl.col("ends") > pit.as_of))
        .select(
            _event(
                "approaching_retirement",
                [
                    pl.lit(RETIREMENT_AGE).alias("retirement_age"),
                    pl.col("ends").alias("retirement_on"),
                ],
            )
        )
    )


def detect_life_events(pit: PointInTime, *, series: pl.LazyFrame, inflow_12m: pl.LazyFrame) -> pl.LazyFrame:
    """Every life event detected in the 12 months up to ``as_of``, sorted by customer and date.

    Returns ``customer_key`` followed by the ``customer_life_events`` columns.
    """
    events = pl.concat(
        [
            salary_events(pit, series=series),
            address_events(pit),
            large_deposit_events(pit, series=series, inflow_12m=inflow_12m),
            mortgage_intent_events(pit),
        ],
        how="vertical",
    )
    windowed = events.filter(
        (pl.col("detected_on") > pit.window_start) & (pl.col("detected_on") <= pit.as_of)
    )
    return (
        pl.concat([windowed, retirement_events(pit)], how="vertical")
        .join(pit.customers.select("customer_key", "customer_id"), on="customer_key", how="inner")
        .select(["customer_key"] + [pl.col(name).cast(dtype) for name, dtype in LIFE_EVENT_COLUMNS.items()])
        .sort("customer_id", "detected_on", "event", "evidence")
    )
