"""Product holdings, relationship tenure and digital engagement of each customer, as of a date."""

from __future__ import annotations

import datetime as dt

import polars as pl

from cdp.customer360.golden import CID
from cdp.schemas.canonical import ACCOUNT_COLUMNS, ACCOUNT_HOLDER_COLUMNS, EVENT_COLUMNS, conform

#: Statuses that end an account; any other status (dormant, frozen, delinquent ...) is still open.
CLOSED_STATUSES: tuple[str, ...] = (
    "closed",
    "charged_off",
    "written_off",
    "paid_off",
    "cancelled",
    "canceled",
    "transferred",
    "settled",
)

#: Closed statuses that leave a debt unpaid: the customer is in arrears while the account shows one.
CHARGED_OFF_STATUSES: tuple[str, ...] = ("charged_off", "written_off")

#: Holder roles that use an account without owning or owing it; they do not count as holdings.
NON_OWNER_ROLES: tuple[str, ...] = ("authorized_user",)

#: System label of the digital channel (contracts: core | card | mortgage | digital | ...).
DIGITAL_SYSTEMS: tuple[str, ...] = ("digital",)

#: Holding columns of customer_360 with the value a customer without accounts gets.
HOLDING_DEFAULTS: dict[str, object] = {
    "deposit_accounts": 0,
    "deposit_balance": 0.0,
    "card_accounts": 0,
    "card_balance": 0.0,
    "card_limit": 0.0,
    "card_utilization": None,
    "mortgage_accounts": 0,
    "mortgage_balance": 0.0,
    "loan_accounts": 0,
    "loan_balance": 0.0,
    "max_days_past_due_card": None,
    "max_days_in_arrears_mortgage": None,
    "in_arrears": False,
    "product_families": None,
    "n_products": 0,
}


def build_holdings(
    accounts: pl.DataFrame, account_holders: pl.DataFrame, keys: pl.LazyFrame, *, as_of: dt.date
) -> pl.LazyFrame:
    """Per customer key: open-account counts, balances, limits, arrears, and the first opening date.

    Args:
        accounts: ``std_accounts``.
        account_holders: ``std_account_holders``.
        keys: ``(source, record_id, _cid)`` of every clustered party record.
        as_of: Accounts opened after, or closed on or before, this date are not open.

    Returns:
        One row per customer key holding at least one account (open or closed).
    """
    holders = (
        conform(account_holders, ACCOUNT_HOLDER_COLUMNS)
        .lazy()
        .filter(pl.col("role").is_null() | ~pl.col("role").str.to_lowercase().is_in(list(NON_OWNER_ROLES)))
        .join(
            keys, left_on=["party_source", "party_record_id"], right_on=["source", "record_id"], how="inner"
        )
        # A customer holding an account through several of their records holds it once.
        .select(CID, "account_source", "account_id")
        .unique()
    )
    held = holders.join(
        conform(accounts, ACCOUNT_COLUMNS).lazy().unique(subset=["source", "account_id"], keep="first"),
        left_on=["account_source", "account_id"],
        right_on=["source", "account_id"],
        how="inner",
    )
    is_open = (
        (pl.col("opened_date").is_null() | (pl.col("opened_date") <= as_of))
        & (pl.col("closed_date").is_null() | (pl.col("closed_date") > as_of))
        & (pl.col("status").is_null() | ~pl.col("status").str.to_lowercase().is_in(list(CLOSED_STATUSES)))
    )
    family = pl.col("product_family").str.to_lowercase()
    # A charge-off closes the account in the books, not the debt: the customer still owes it.
    charged_off = (pl.col("opened_date").is_null() | (pl.col("opened_date") <= as_of)) & pl.col(
        "status"
    ).str.to_lowercase().is_in(list(CHARGED_OFF_STATUSES)).fill_null(False)

    def open_in(name: str) -> pl.Expr:
        return pl.col("_open") & (pl.col("_family") == name)

    def total(column: str, name: str) -> pl.Expr:
        # Rounded to cents: multithreaded float sums differ in the last bit from run to run.
        return pl.col(column).filter(open_in(name)).sum().round(2)

    return (
        held.with_columns(_open=is_open, _family=family)
        .group_by(CID)
        .agg(
            deposit_accounts=open_in("deposit").sum().cast(pl.Int64()),
            deposit_balance=total("balance", "deposit"),
            card_accounts=open_in("card").sum().cast(pl.Int64()),
            card_balance=total("balance", "card"),
            card_limit=total("credit_limit", "card"),
            mortgage_accounts=open_in("mortgage").sum().cast(pl.Int64()),
            mortgage_balance=total("balance", "mortgage"),
            loan_accounts=open_in("loan").sum().cast(pl.Int64()),
            loan_balance=total("balance", "loan"),
            max_days_past_due_card=pl.col("days_past_due").filter(open_in("card")).max(),
            max_days_in_arrears_mortgage=pl.col("days_past_due").filter(open_in("mortgage")).max(),
            in_arrears=((pl.col("_open") & (pl.col("days_past_due").fill_null(0) > 0)) | charged_off).any(),
            product_families=pl.col("_family").filter(pl.col("_open")).drop_nulls().unique().sort(),
            n_products=pl.col("_open").sum().cast(pl.Int64()),
            first_opened_date=pl.col("opened_date")
            .filter(pl.col("opened_date").is_null() | (pl.col("opened_date") <= as_of))
            .min(),
        )
        .with_columns(
            card_utilization=pl.when(pl.col("card_limit") > 0).then(
                pl.col("card_balance") / pl.col("card_limit")
            )
        )
    )


def build_engagement(
    events: pl.DataFrame, keys: pl.LazyFrame, records: pl.LazyFrame, *, as_of: dt.date
) -> pl.LazyFrame:
    """Per customer key: digital registration, last login and login counts in the windows ending on ``as_of``.

    A customer is digitally registered when one of their records belongs to a party source that
    emits events, or to a source whose system is ``digital``. The 30- and 90-day windows are the
    30 / 90 days ending on ``as_of`` inclusive; later events are ignored (point in time).

    Args:
        events: ``std_events``.
        keys: ``(source, record_id, _cid)`` of every clustered party record.
        records: Clustered party records (``_cid``, ``source``, ``source_system``).
        as_of: The reference date.

    Returns:
        One row per customer key with ``digital_registered`` true or at least one event.
    """
    end = dt.datetime.combine(as_of + dt.timedelta(days=1), dt.time())
    frame = conform(events, EVENT_COLUMNS).lazy()
    event_sources = frame.select(pl.col("party_source").unique()).drop_nulls()
    registered = (
        records.join(event_sources, left_on="source", right_on="party_source", how="left", coalesce=False)
        .filter(pl.col("party_source").is_not_null() | pl.col("source_system").is_in(list(DIGITAL_SYSTEMS)))
        .select(CID)
        .unique()
        .with_columns(digital_registered=pl.lit(True))
    )
    login = pl.col("event_type").str.to_lowercase() == "login"
    logins = (
        frame.filter(pl.col("event_time") < end)
        .join(
            keys, left_on=["party_source", "party_record_id"], right_on=["source", "record_id"], how="inner"
        )
        .group_by(CID)
        .agg(
            last_login_at=pl.col("event_time").filter(login).max(),
            logins_30d=(login & (pl.col("event_time") >= end - dt.timedelta(days=30))).sum().cast(pl.Int64()),
            logins_90d=(login & (pl.col("event_time") >= end - dt.timedelta(days=90))).sum().cast(pl.Int64()),
        )
    )
    return registered.join(logins, on=CID, how="full", coalesce=True).with_columns(
        digital_registered=pl.lit(True),
    )


def months_between(start: pl.Expr, end: dt.date) -> pl.Expr:
    """Whole months from ``start`` to ``end`` (a month counts once its day of month is reached)."""
    months = (end.year - start.dt.year().cast(pl.Int64())) * 12 + (
        end.month - start.dt.month().cast(pl.Int64())
    )
    return (months - (start.dt.day().cast(pl.Int64()) > end.day).cast(pl.Int64())).clip(lower_bound=0)


def age_on(date_of_birth: pl.Expr, as_of: dt.date) -> pl.Expr:
    """Age in whole years on ``as_of``; null for a missing or future date of birth."""
    years = as_of.year - date_of_birth.dt.year().cast(pl.Int64())
    before_birthday = (date_of_birth.dt.month() > as_of.month) | (
        (date_of_birth.dt.month() == as_of.month) & (date_of_birth.dt.day() > as_of.day)
    )
    return pl.when(date_of_birth <= as_of).then(years - before_birthday.cast(pl.Int64()))
