"""Balance and risk features: holdings by family, negative-balance days, cards and arrears.

Daily balances are reconstructed backwards from the balance at ``as_of`` (see ``linking``): the
end-of-day balance of a day is the ``as_of`` balance minus every transaction posted after that day.
It is measured on the customer's day-to-day (liquid) deposit accounts combined, so a joint account
counts fully for each holder and money in savings does not hide an overdrawn checking account.
Only end-of-day positions are known; intraday dips are not.
"""

from __future__ import annotations

import datetime as dt

import polars as pl

from cdp.features.cashflow import shift_months
from cdp.features.columns import CENTS
from cdp.features.linking import PointInTime

NEGATIVE_WINDOW_DAYS = 90
DELINQUENT_DAYS = 30


def holdings(pit: PointInTime) -> pl.LazyFrame:
    """Balances by family, card utilization and days past due per customer."""
    acc = pit.accounts
    family, is_open = pl.col("family"), pl.col("is_open")
    card = (family == "card") & is_open
    limited_card = card & (pl.col("credit_limit") > 0)
    dpd = pl.col("days_past_due").filter(is_open)
    owed = pl.col("owed_as_of").clip(lower_bound=0.0)
    return (
        acc.group_by("customer_key")
        .agg(
            deposit_balance=pl.col("balance_as_of").filter(family == "deposit").sum().round(CENTS),
            liquid_balance=pl.col("balance_as_of").filter(pl.col("is_liquid")).sum().round(CENTS),
            has_liquid=pl.col("is_liquid").any(),
            card_balance=owed.filter(card).sum().round(CENTS),
            card_limit=pl.col("credit_limit").filter(limited_card).sum().round(CENTS),
            card_owed_with_limit=owed.filter(limited_card).sum().round(CENTS),
            mortgage_balance=owed.filter((family == "mortgage") & is_open).sum().round(CENTS),
            loan_balance=owed.filter((family == "loan") & is_open).sum().round(CENTS),
            card_days_past_due=pl.col("days_past_due").filter(card).max(),
            mortgage_days_past_due=pl.col("days_past_due").filter((family == "mortgage") & is_open).max(),
            max_days_past_due=dpd.max(),
            n_accounts_past_due=(dpd > 0).sum().cast(pl.Int64),
        )
        .with_columns(
            savings_balance=pl.col("deposit_balance") - pl.col("liquid_balance"),
            card_utilization=pl.when(pl.col("card_limit") > 0).then(
                pl.col("card_owed_with_limit") / pl.col("card_limit")
            ),
            delinquent=(pl.col("max_days_past_due") >= DELINQUENT_DAYS).fill_null(False),
        )
        .drop("card_owed_with_limit")
    )


def negative_balance_days(pit: PointInTime, *, liquid: pl.LazyFrame) -> pl.LazyFrame:
    """Days in the last 90 (``as_of`` included) ending below zero, and the lowest end-of-day balance.

    Args:
        pit: Point-in-time inputs.
        liquid: ``customer_key`` and ``liquid_balance`` of customers with a liquid account.
    """
    start = pit.as_of - dt.timedelta(days=NEGATIVE_WINDOW_DAYS - 1)
    end_next = pl.lit(pit.as_of + dt.timedelta(days=1))
    daily = (
        pit.transactions.filter(pl.col("is_liquid") & (pl.col("posted_date") >= start))
        .group_by("customer_key", "posted_date")
        .agg(net=pl.col("amount").sum().round(CENTS))
        .join(liquid, on="customer_key", how="inner")
        .sort("customer_key", "posted_date")
        .with_columns(
            after=(pl.col("net").cum_sum(reverse=True) - pl.col("net")).over("customer_key"),
            until=pl.col("posted_date").shift(-1).over("customer_key"),
        )
        .with_columns(
            eod=pl.col("liquid_balance") - pl.col("after"),
            days=(pl.coalesce(pl.col("until"), end_next) - pl.col("posted_date")).dt.total_days(),
        )
    )
    per_customer = daily.group_by("customer_key").agg(
        first_day=pl.col("posted_date").min(),
        opening=(pl.col("eod") - pl.col("net")).first(),
        negative_days=pl.col("days").filter(pl.col("eod") < 0).sum(),
        lowest=pl.col("eod").min(),
    )
    lead_days = (pl.col("first_day") - pl.lit(start)).dt.total_days()
    return (
        liquid.join(per_customer, on="customer_key", how="left")
        .with_columns(
            opening=pl.coalesce(pl.col("opening"), pl.col("liquid_balance")),
            lead_days=pl.coalesce(lead_days, pl.lit(NEGATIVE_WINDOW_DAYS)),
        )
        .select(
            "customer_key",
            (
                pl.col("negative_days").fill_null(0)
                + pl.when(pl.col("opening") < 0).then(pl.col("lead_days")).otherwise(0)
            )
            .cast(pl.Int64)
            .alias("negative_balance_days_90d"),
            pl.min_horizontal(
                pl.col("lowest"), pl.when(pl.col("lead_days") > 0).then(pl.col("opening"))
            ).alias("min_balance_90d"),
        )
    )


def card_flows(pit: PointInTime) -> pl.LazyFrame:
    """Card spending and card payments over the last 3 months."""
    since = shift_months(pit.as_of, -3)
    amount = pl.col("amount")
    return (
        pit.transactions.filter((pl.col("family") == "card") & (pl.col("posted_date") > since))
        .group_by("customer_key")
        .agg(
            card_spend_3m=(-amount).filter(amount < 0).sum().round(CENTS),
            card_payments_3m=amount.filter(amount > 0).sum().round(CENTS),
        )
    )
