"""Point-in-time inputs: every source row cut at ``as_of`` and mapped to a customer.

Party records reach a customer through ``identity_clusters``; accounts through
``std_account_holders`` and then the clusters. A joint account belongs to each of its holders, so
its cash flow counts for both. Authorized users of a card are not liable for it, so the account is
not theirs for cash-flow, risk or product-holding features.

Balances are a snapshot of the extract, assumed to include every transaction in it: the balance of
an account at ``as_of`` is the snapshot balance minus the transactions posted after ``as_of``.
Liability balances (card, mortgage, loan) are read as amounts owed whatever their sign, because
card processors and mortgage platforms differ in sign convention; a payment (a positive amount)
lowers the amount owed. Status, credit limit and days past due have no history in the extracts and
are used as they are, for accounts opened on or before ``as_of``.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import polars as pl

#: Holder roles that do not make an account the customer's own.
NON_OWNER_ROLES: tuple[str, ...] = ("authorized_user",)
LIABILITY_FAMILIES: tuple[str, ...] = ("card", "mortgage", "loan")
#: Deposit product types that hold savings rather than day-to-day money.
SAVINGS_TYPES: tuple[str, ...] = ("savings", "cd", "money_market", "ira", "time_deposit")
CLOSED_STATUSES: tuple[str, ...] = ("closed", "charged_off", "paid_off", "written_off")
HISTORY = "12mo"

Frame = pl.DataFrame | pl.LazyFrame
#: The only transaction and event columns feature building reads.
TRANSACTION_INPUTS: tuple[str, ...] = (
    "account_source",
    "account_id",
    "posted_date",
    "amount",
    "category",
    "counterparty",
)
EVENT_INPUTS: tuple[str, ...] = ("party_source", "party_record_id", "event_time", "event_type", "page")
#: party_key of salary credits that name no payer: they still form one "(salary)" series.
UNNAMED_SALARY_KEY = 0


@dataclass(frozen=True)
class PointInTime:
    """The inputs of feature building, restricted to what was known on ``as_of``.

    Attributes:
        as_of: The feature date; nothing dated after it is used.
        window_start: Start (exclusive) of the 12-month transaction history.
        customers: ``customer_id``, its integer ``customer_key`` and ``date_of_birth``, one row per
            customer. Every other frame carries only ``customer_key``: grouping tens of millions of
            transactions by an integer is much faster than by text.
        accounts: One row per customer and owned account opened on or before ``as_of``, with an
            integer ``account_key`` per account.
        counterparties: ``party_key`` -> ``party``: each counterparty name (trimmed, lower-case)
            once, for display; the year of transactions carries only the 64-bit key.
        transactions: Customer transactions in ``(window_start, as_of]``: ``customer_key``,
            ``account_key``, ``family``, ``is_liquid``, ``posted_date``, ``amount``, ``category``,
            ``party_key`` (hash of a deposit transaction's normalized counterparty; null on cards) and
            ``internal`` (a transfer between the customer's own deposit accounts).
        events: Digital events on or before ``as_of`` with ``customer_key``.
        parties: Party record versions updated on or before ``as_of`` (or undated) with ``customer_key``.
    """

    as_of: dt.date
    window_start: dt.date
    customers: pl.LazyFrame
    accounts: pl.LazyFrame
    counterparties: pl.LazyFrame
    transactions: pl.LazyFrame
    events: pl.LazyFrame
    parties: pl.LazyFrame


def point_in_time(
    *,
    transactions: Frame,
    accounts: Frame,
    account_holders: Frame,
    events: Frame,
    parties: Frame,
    clusters: Frame,
    customers: Frame,
    as_of: dt.date,
) -> PointInTime:
    """Cut every input at ``as_of`` and attach the integer ``customer_key``.

    Inputs may be DataFrames or LazyFrames (e.g. ``pl.scan_parquet``): only the columns used are read.
    """
    window_start = pl.select(pl.lit(as_of).dt.offset_by(f"-{HISTORY}")).item()
    has_dob = "date_of_birth" in customers.lazy().collect_schema().names()
    dob = pl.col("date_of_birth") if has_dob else pl.lit(None)
    customers_lf = (
        customers.lazy()
        .select("customer_id", dob.cast(pl.Date).alias("date_of_birth"))
        .unique("customer_id", keep="first", maintain_order=True)
        .with_row_index("customer_key")
        .collect()
        .lazy()
    )
    clusters_lf = (
        clusters.lazy()
        .select("source", "record_id", "customer_id")
        .unique(["source", "record_id"])
        .join(customers_lf.select("customer_id", "customer_key"), on="customer_id", how="inner")
        .drop("customer_id")
    )
    tx = transactions.lazy().select(TRANSACTION_INPUTS)
    owned = _owned_accounts(account_holders, clusters_lf)
    account_rows = _accounts_as_of(accounts, tx, as_of=as_of).with_row_index("account_key")
    held = owned.join(account_rows, on=["account_source", "account_id"], how="inner").collect().lazy()
    party = pl.col("counterparty").str.strip_chars().str.to_lowercase()
    # Only what the features read is kept, with small types: this frame holds every transaction
    # of the year, and the account's text keys are replaced by its integer key.
    account_attributes = held.select(
        "account_source", "account_id", "account_key", "family", "is_liquid"
    ).unique("account_key")
    window_tx = (
        join_on(
            tx.filter(pl.col("posted_date").is_between(window_start, as_of, closed="right")),
            account_attributes,
            keys=("account_source", "account_id"),
        )
        .select(
            "account_key",
            pl.col("family").cast(pl.Categorical),
            "is_liquid",
            "posted_date",
            "amount",
            pl.col("category").cast(pl.Categorical),
            # card purchases need no counterparty: only deposit flows are grouped by payer or payee
            pl.when((party != "") & (pl.col("family") == "deposit")).then(party.hash()).alias("party_key"),
        )
        # a joint account's transactions count for each holder
        .join(held.select("account_key", "customer_key"), on="account_key", how="left", maintain_order="left")
        .filter(pl.col("customer_key").is_not_null())
        # materialized here: the internal-transfer pass reads it twice, and a lazy plan would
        # re-read and re-join the whole year of transactions for each read
        .collect(engine="streaming")
        .lazy()
    )
    names = (
        tx.filter(pl.col("posted_date").is_between(window_start, as_of, closed="right"))
        .select(pl.col("counterparty").unique())
        .select(party.alias("party"))
        .filter(pl.col("party") != "")
        .select(pl.col("party").hash().alias("party_key"), "party")
    )
    unnamed = pl.LazyFrame(
        {"party_key": [UNNAMED_SALARY_KEY], "party": ["(salary)"]},
        schema={"party_key": pl.UInt64, "party": pl.String},
    )
    return PointInTime(
        as_of=as_of,
        window_start=window_start,
        customers=customers_lf,
        accounts=held,
        counterparties=pl.concat([names, unnamed]).unique("party_key"),
        transactions=_flag_internal_transfers(window_tx),
        events=_events_as_of(events, clusters_lf, as_of=as_of),
        parties=_parties_as_of(parties, clusters_lf, as_of=as_of),
    )


def _owned_accounts(account_holders: Frame, clusters: pl.LazyFrame) -> pl.LazyFrame:
    return (
        account_holders.lazy()
        .filter(pl.col("role").is_null() | ~pl.col("role").str.to_lowercase().is_in(NON_OWNER_ROLES))
        .join(
            clusters,
            left_on=["party_source", "party_record_id"],
            right_on=["source", "record_id"],
            how="inner",
        )
        .select("account_source", "account_id", "customer_key")
        .unique()
    )


def _accounts_as_of(accounts: Frame, tx: pl.LazyFrame, *, as_of: dt.date) -> pl.LazyFrame:
    later = (
        tx.filter(pl.col("posted_date") > as_of)
        .group_by("account_source", "account_id")
        .agg(later_sum=pl.col("amount").sum())
    )
    family = pl.col("product_family").str.to_lowercase()
    closed_by_status = pl.col("closed_date").is_null() & pl.col("status").str.to_lowercase().is_in(
        CLOSED_STATUSES
    ).fill_null(False)
    return (
        accounts.lazy()
        .filter(pl.col("opened_date").is_null() | (pl.col("opened_date") <= as_of))
        .rename({"source": "account_source"})
        .unique(["account_source", "account_id"], keep="first")
        .join(later, on=["account_source", "account_id"], how="left")
        .with_columns(later_sum=pl.col("later_sum").fill_null(0.0), family=family)
        .select(
            "account_source",
            "account_id",
            "family",
            "opened_date",
            (
                (pl.col("family") == "deposit")
                & ~pl.col("product_type").str.to_lowercase().is_in(SAVINGS_TYPES).fill_null(False)
            ).alias("is_liquid"),
            ((pl.col("closed_date").is_null() | (pl.col("closed_date") > as_of)) & ~closed_by_status).alias(
                "is_open"
            ),
            pl.when(pl.col("family") == "deposit")
            .then(pl.col("balance").fill_null(0.0) - pl.col("later_sum"))
            .alias("balance_as_of"),
            pl.when(pl.col("family").is_in(LIABILITY_FAMILIES))
            .then(pl.col("balance").fill_null(0.0).abs() + pl.col("later_sum"))
            .alias("owed_as_of"),
            "credit_limit",
            "days_past_due",
        )
    )


def _flag_internal_transfers(tx: pl.LazyFrame) -> pl.LazyFrame:
    """Mark transfers between two deposit accounts of the same customer on the same day.

    Only rows categorised ``transfer`` qualify, and only when the same amount leaves one of the
    customer's deposit accounts and enters another that day; such pairs are not income or spending.
    """
    cents = (pl.col("amount").abs() * 100).round().cast(pl.Int64).alias("cents")
    is_transfer = (pl.col("category") == "transfer").fill_null(False) & (pl.col("family") == "deposit")
    transfers = tx.filter(is_transfer).with_columns(cents)
    key = ["customer_key", "posted_date", "cents"]
    pairs = (
        transfers.group_by(key)
        .agg(
            has_in=(pl.col("amount") > 0).any(),
            has_out=(pl.col("amount") < 0).any(),
            n_accounts=pl.col("account_key").n_unique(),
        )
        .filter(pl.col("has_in") & pl.col("has_out") & (pl.col("n_accounts") >= 2))
        .select(key, internal=pl.lit(True))
    )
    flagged = (
        transfers.join(pairs, on=key, how="left")
        .with_columns(pl.col("internal").fill_null(False))
        .drop("cents")
    )
    return pl.concat([tx.filter(~is_transfer).with_columns(internal=pl.lit(False)), flagged])


def _events_as_of(events: Frame, clusters: pl.LazyFrame, *, as_of: dt.date) -> pl.LazyFrame:
    end = dt.datetime.combine(as_of + dt.timedelta(days=1), dt.time())
    recent = (
        events.lazy()
        .filter(pl.col("event_time") < end)
        .select(
            pl.col("party_source").alias("source"),
            pl.col("party_record_id").alias("record_id"),
            "event_time",
            "event_type",
            "page",
        )
    )
    return join_on(recent, clusters, keys=("source", "record_id")).select(
        "customer_key",
        "event_time",
        pl.col("event_time").dt.date().alias("event_date"),
        pl.col("event_type").str.to_lowercase(),
        pl.col("page").str.to_lowercase(),
    )


def _parties_as_of(parties: Frame, clusters: pl.LazyFrame, *, as_of: dt.date) -> pl.LazyFrame:
    return (
        parties.lazy()
        .filter(pl.col("updated_at").is_null() | (pl.col("updated_at") <= as_of))
        .join(clusters, on=["source", "record_id"], how="inner")
        .select(
            "customer_key",
            "source",
            "record_id",
            "updated_at",
            pl.when(pl.col("customer_since") <= as_of).then(pl.col("customer_since")).alias("customer_since"),
            pl.when(pl.col("address_line1").is_not_null() & pl.col("postcode").is_not_null())
            .then(pl.concat_str(pl.col("address_line1").str.strip_chars(), pl.col("postcode"), separator="|"))
            .alias("address_key"),
        )
    )


def join_on(left: pl.LazyFrame, right: pl.LazyFrame, *, keys: tuple[str, ...]) -> pl.LazyFrame:
    """Inner join on several text keys (unique in ``right``), through one 64-bit hash of them.

    Joining millions of transactions on two string columns is several times slower than on one
    integer, and a left join that keeps the left order avoids reshuffling the wide left side; the
    comparison of the real keys afterwards drops unmatched rows and any hash collision, so the result
    is exactly the inner join's, in the left frame's order.
    """
    hashed = pl.struct(list(keys)).hash().alias("_key")
    right_renamed = right.with_columns(hashed).rename({key: f"_{key}" for key in keys})
    return (
        left.with_columns(hashed)
        .join(right_renamed, on="_key", how="left", maintain_order="left")
        .filter(pl.all_horizontal([pl.col(key) == pl.col(f"_{key}") for key in keys]))
        .drop("_key", *(f"_{key}" for key in keys))
    )


def months_between(start: pl.Expr, end: dt.date) -> pl.Expr:
    """Whole calendar months from ``start`` to ``end`` (a month counts once its day is reached)."""
    months = (end.year - start.dt.year().cast(pl.Int64)) * 12 + (end.month - start.dt.month().cast(pl.Int64))
    return months - (start.dt.day() > end.day).cast(pl.Int64)
