"""Cash-flow features: inflow and outflow windows, salary, scheduled payments, safe-to-save.

Cash flow is measured on deposit accounts, leaving out transfers between the customer's own
accounts (see ``linking``); card accounts are not counted because paying the card from checking
is already an outflow there. Windows are calendar months back from ``as_of`` (start exclusive).

Safe-to-save (what the customer can put aside this month without missing a scheduled payment)::

    horizon            = next expected salary date (as_of + 30 days without a salary; at most 35 days)
    discretionary      = max(0, outflow_3m / 3 - scheduled_debits_monthly)      per month
    projected_low      = liquid_balance
                         - scheduled debits due in (as_of, horizon]
                         - discretionary * days to horizon / 30.44
    surplus            = coalesce(salary_monthly, inflow_3m / 3) - scheduled_debits_monthly - discretionary
    buffer             = 10% of the typical monthly outflow (outflow_3m / 3)
    safe_to_save       = floor(max(0, min(surplus, projected_low - buffer)))

so it is bounded both by what the month's income leaves over and by the cash that must stay in the
account until the next salary. ``projected_low_balance`` is also the overdraft-risk signal.
"""

from __future__ import annotations

import datetime as dt

import polars as pl

from cdp.features.columns import CENTS
from cdp.features.linking import UNNAMED_SALARY_KEY, PointInTime
from cdp.features.recurrence import CADENCE_DAYS, is_active, next_date, series_stats

SALARY_HINTS: tuple[str, ...] = ("salary", "payroll", "wages", "pension")
SCHEDULED_HINTS: tuple[str, ...] = (
    "rent",
    "mortgage_payment",
    "bill",
    "card_payment",
    "loan_payment",
    "insurance",
    "utilities",
)
MIN_SALARY = 100.0
MAX_HORIZON_DAYS = 35


def shift_months(day: dt.date, months: int) -> dt.date:
    """``day`` moved by whole calendar months, clamped to the month's last day."""
    result: dt.date = pl.select(pl.lit(day).dt.offset_by(f"{months}mo")).item()
    return result


def _party_key() -> pl.Expr:
    """Counterparty as a series key; an unnamed salary credit still forms a ``(salary)`` series."""
    unnamed = pl.lit(UNNAMED_SALARY_KEY, dtype=pl.UInt64)
    return pl.coalesce(
        pl.col("party_key"), pl.when(pl.col("category").is_in(SALARY_HINTS)).then(unnamed)
    ).alias("party_key")


def external_deposit_flows(pit: PointInTime) -> pl.LazyFrame:
    """Deposit-account transactions in the history window that are not internal transfers."""
    return pit.transactions.filter((pl.col("family") == "deposit") & ~pl.col("internal"))


def cash_flow_windows(pit: PointInTime) -> pl.LazyFrame:
    """Inflow/outflow over 1, 3 and 12 months, income trend and savings rate per customer."""
    flows = external_deposit_flows(pit)
    amount, day = pl.col("amount"), pl.col("posted_date")
    starts = {months: shift_months(pit.as_of, -months) for months in (1, 3, 6, 12)}
    aggs = []
    for months in (1, 3, 12):
        aggs.append(
            amount.filter((amount > 0) & (day > starts[months])).sum().round(CENTS).alias(f"inflow_{months}m")
        )
        aggs.append(
            (-amount)
            .filter((amount < 0) & (day > starts[months]))
            .sum()
            .round(CENTS)
            .alias(f"outflow_{months}m")
        )
    aggs.append(
        amount.filter((amount > 0) & (day > starts[6]) & (day <= starts[3]))
        .sum()
        .round(CENTS)
        .alias("inflow_prior_3m")
    )
    prior = pl.col("inflow_prior_3m")
    return (
        flows.group_by("customer_key")
        .agg(aggs)
        .with_columns(
            income_trend_3m=pl.when(prior > 0).then((pl.col("inflow_3m") - prior) / prior),
            savings_rate_3m=pl.when(pl.col("inflow_3m") > 0).then(
                (pl.col("inflow_3m") - pl.col("outflow_3m")) / pl.col("inflow_3m")
            ),
        )
        .drop("inflow_prior_3m")
    )


def credit_series(pit: PointInTime) -> pl.LazyFrame:
    """Every credit series (customer, payer) with cadence, stability and an ``is_salary`` verdict.

    Series carry ``party_key`` and the payer's name, ``party``.

    A series is a salary when it recurs (a cadence was found), its median payment is at least
    ``MIN_SALARY``, and either most payments carry a salary category with a CV up to 0.5, or it has
    at least three payments with a CV up to 0.25 and is not categorised as a transfer. Two payments
    are enough only with the salary category, so a new job shows up after its second pay day.
    """
    credits = (
        external_deposit_flows(pit)
        .filter(pl.col("amount") > 0)
        .with_columns(_party_key())
        .filter(pl.col("party_key").is_not_null())
    )
    hinted = (pl.col("hint_share") >= 0.5) & (pl.col("amount_cv") <= 0.5)
    unhinted = (pl.col("n") >= 3) & (pl.col("amount_cv") <= 0.25) & (pl.col("transfer_share") < 0.5)
    return (
        series_stats(credits, hint_categories=SALARY_HINTS)
        .join(pit.counterparties, on="party_key", how="left")
        .with_columns(
            is_salary=(
                pl.col("cadence").is_not_null()
                & (pl.col("median_amount") >= MIN_SALARY)
                & (hinted | unhinted)
            ).fill_null(False),
            active=is_active(pl.col("last_date"), pl.col("cadence"), as_of=pit.as_of).fill_null(False),
            next_expected=next_date(pl.col("last_date"), pl.col("cadence")),
        )
    )


def salary_features(series: pl.LazyFrame) -> pl.LazyFrame:
    """The customer's main salary: the active salary series with the largest monthly amount."""
    return (
        series.filter(pl.col("is_salary") & pl.col("active"))
        .sort(["customer_key", "monthly_amount", "party"], descending=[False, True, False])
        .group_by("customer_key", maintain_order=True)
        .first()
        .select(
            "customer_key",
            pl.lit(True).alias("salary_detected"),
            pl.col("party").alias("salary_payer"),
            pl.col("cadence").alias("salary_cadence"),
            pl.col("median_amount").alias("salary_amount_median"),
            pl.col("amount_cv").alias("salary_amount_cv"),
            pl.col("monthly_amount").alias("salary_monthly"),
            pl.col("last_date").alias("salary_last_date"),
            pl.col("next_expected").alias("salary_next_expected_date"),
        )
    )


def scheduled_debits(pit: PointInTime) -> pl.LazyFrame:
    """Active recurring debits from day-to-day accounts (rent, bills, loan and card payments).

    Recurrence is detected like salaries; the amount may vary more (CV up to 0.5) when most
    payments carry a bill-like category, otherwise it must be steady (CV up to 0.15) so that weekly
    grocery shopping is not mistaken for a standing order.
    """
    debits = (
        pit.transactions.filter(pl.col("is_liquid") & (pl.col("amount") < 0) & ~pl.col("internal"))
        .with_columns(pl.col("amount").abs(), _party_key())
        .filter(pl.col("party_key").is_not_null())
    )
    hinted = pl.col("hint_share") >= 0.5
    steady = pl.when(hinted).then(pl.col("amount_cv") <= 0.5).otherwise(pl.col("amount_cv") <= 0.15)
    return (
        series_stats(debits, hint_categories=SCHEDULED_HINTS)
        .filter(
            pl.col("cadence").is_not_null()
            & ((pl.col("n") >= 3) | hinted)
            & steady
            & is_active(pl.col("last_date"), pl.col("cadence"), as_of=pit.as_of)
        )
        .with_columns(next_due=next_date(pl.col("last_date"), pl.col("cadence")))
    )


def projection(*, debits: pl.LazyFrame, base: pl.LazyFrame, as_of: dt.date) -> pl.LazyFrame:
    """Projected low balance before the next salary, overdraft risk and safe-to-save.

    Args:
        debits: Output of :func:`scheduled_debits`.
        base: Per customer ``liquid_balance``, ``has_liquid``, ``salary_monthly``,
            ``salary_next_expected_date``, ``inflow_3m`` and ``outflow_3m``.
        as_of: The feature date.
    """
    tomorrow = as_of + dt.timedelta(days=1)
    horizon = (
        pl.when(pl.col("salary_next_expected_date") > as_of)
        .then(pl.col("salary_next_expected_date"))
        .otherwise(pl.lit(as_of + dt.timedelta(days=30)))
        .clip(upper_bound=as_of + dt.timedelta(days=MAX_HORIZON_DAYS))
    )
    horizons = base.select("customer_key", horizon.alias("horizon"))
    period = pl.col("cadence").replace_strict(CADENCE_DAYS, default=None, return_dtype=pl.Float64)
    first_due = pl.max_horizontal(pl.col("next_due"), pl.lit(tomorrow))
    occurrences = (
        pl.when(first_due <= pl.col("horizon"))
        .then(((pl.col("horizon") - first_due).dt.total_days() / period).floor() + 1)
        .otherwise(0.0)
    )
    due = (
        debits.join(horizons, on="customer_key", how="inner")
        .group_by("customer_key")
        .agg(
            due_before_horizon=(occurrences * pl.col("median_amount")).sum().round(CENTS),
            n_scheduled_debits=pl.len().cast(pl.Int64),
            scheduled_debits_monthly=pl.col("monthly_amount").sum().round(CENTS),
        )
    )
    scheduled = pl.col("scheduled_debits_monthly")
    discretionary = pl.max_horizontal(pl.col("outflow_3m") / 3 - scheduled, pl.lit(0.0))
    days_ahead = (pl.col("horizon") - pl.lit(as_of)).dt.total_days()
    projected = pl.col("liquid_balance") - pl.col("due_before_horizon") - discretionary * days_ahead / 30.44
    surplus = pl.coalesce(pl.col("salary_monthly"), pl.col("inflow_3m") / 3) - scheduled - discretionary
    headroom = pl.col("projected_low_balance") - 0.1 * pl.col("outflow_3m") / 3
    return (
        base.join(horizons, on="customer_key", how="left")
        .join(due, on="customer_key", how="left")
        .with_columns(
            pl.col("due_before_horizon").fill_null(0.0),
            pl.col("n_scheduled_debits").fill_null(0),
            scheduled.fill_null(0.0),
        )
        .with_columns(projected_low_balance=pl.when(pl.col("has_liquid")).then(projected))
        .with_columns(
            overdraft_risk=pl.col("projected_low_balance") < 0,
            safe_to_save=pl.max_horizontal(pl.min_horizontal(surplus, headroom), pl.lit(0.0)).floor(),
        )
        .with_columns(
            safe_to_save=pl.when(pl.col("projected_low_balance").is_not_null()).then(pl.col("safe_to_save"))
        )
        .select(
            "customer_key",
            "n_scheduled_debits",
            "scheduled_debits_monthly",
            "projected_low_balance",
            "overdraft_risk",
            "safe_to_save",
        )
    )
