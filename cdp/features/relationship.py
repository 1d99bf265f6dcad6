"""Relationship and engagement features: products held, tenure, logins and last activity."""

from __future__ import annotations

import datetime as dt

import polars as pl

from cdp.features.linking import PointInTime, months_between

ENGAGEMENT_DAYS = 30
#: Transactions the bank books without the customer doing anything; they are not activity.
PASSIVE_CATEGORIES: tuple[str, ...] = ("fee", "interest", "salary")
FAMILIES: tuple[str, ...] = ("deposit", "card", "mortgage", "loan")


def products(pit: PointInTime) -> pl.LazyFrame:
    """Open accounts as of the date, their families, and months since the relationship began.

    The relationship begins at the earliest of any held account's opening (closed ones included)
    and any of the customer's party records' ``customer_since``.
    """
    acc = pit.accounts
    open_acc = pl.col("is_open")
    held = acc.group_by("customer_key").agg(
        products_open=open_acc.sum().cast(pl.Int64),
        product_families=pl.col("family").filter(open_acc).drop_nulls().unique().sort().str.join(","),
        first_opened=pl.col("opened_date").min(),
        **{f"has_{name}": (open_acc & (pl.col("family") == name)).any() for name in FAMILIES},
    )
    since = pit.parties.group_by("customer_key").agg(first_since=pl.col("customer_since").min())
    begin = pl.min_horizontal("first_opened", "first_since")
    return (
        held.join(since, on="customer_key", how="full", coalesce=True)
        .with_columns(relationship_months=months_between(begin, pit.as_of).clip(lower_bound=0))
        .with_columns(
            pl.when(pl.col("product_families") != "")
            .then(pl.col("product_families"))
            .alias("product_families")
        )
        .drop("first_opened", "first_since")
    )


def engagement(pit: PointInTime) -> pl.LazyFrame:
    """Logins and page views in the last 30 days, days since the last login and the last activity.

    Activity is any digital event or any transaction the customer made (fees, interest and salary
    credits are booked by others); null means none within the 12-month history.
    """
    since = pit.as_of - dt.timedelta(days=ENGAGEMENT_DAYS)
    as_of = pl.lit(pit.as_of)
    recent = pl.col("event_date") > since
    digital = pit.events.group_by("customer_key").agg(
        logins_30d=((pl.col("event_type") == "login") & recent).sum().cast(pl.Int64),
        page_views_30d=((pl.col("event_type") == "page_view") & recent).sum().cast(pl.Int64),
        last_login=pl.col("event_date").filter(pl.col("event_type") == "login").max(),
        last_event=pl.col("event_date").filter(pl.col("event_date") > pit.window_start).max(),
    )
    banking = (
        pit.transactions.filter(~pl.col("category").is_in(PASSIVE_CATEGORIES).fill_null(False))
        .group_by("customer_key")
        .agg(last_transaction=pl.col("posted_date").max())
    )
    last_activity = pl.max_horizontal("last_event", "last_transaction")
    return digital.join(banking, on="customer_key", how="full", coalesce=True).select(
        "customer_key",
        pl.col("logins_30d").fill_null(0),
        pl.col("page_views_30d").fill_null(0),
        (as_of - pl.col("last_login")).dt.total_days().alias("days_since_last_login"),
        (as_of - last_activity).dt.total_days().alias("days_since_last_activity"),
    )
