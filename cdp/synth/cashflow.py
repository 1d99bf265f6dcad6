"""Core banking account activity over the history window, built from recurring streams.

Income (salary, benefits) comes from ``payroll``; rent or mortgage payments, bills, card
repayments, savings transfers, debit-card purchases, ATM withdrawals, person-to-person payments,
rare large one-off deposits and overdraft fees complete the ledger of each person's main
checking account.
"""

from __future__ import annotations

import numpy as np
import polars as pl

from cdp.synth import merchants as mx
from cdp.synth.common import Calendar, labels, padded
from cdp.synth.extracts import Extract
from cdp.synth.payroll import add_income
from cdp.synth.pools import Pools
from cdp.synth.schedules import Ledger, business_day, month_starts, monthly, random_days

ONE_OFF_RATE = 0.03
#: Core category codes (txn_cat) -> canonical category; the source config maps them the same way.
CATEGORY_CODES = {
    "PAYROLL": "salary",
    "BENEFIT": "deposit",
    "RENT": "rent",
    "MTGPMT": "mortgage_payment",
    "BILLPAY": "bill",
    "CARDPMT": "card_payment",
    "XFER": "transfer",
    "P2P": "transfer",
    "POS": "purchase",
    "DEPOSIT": "deposit",
    "FEE": "fee",
    "ATM": "other",
    "INT": "other",
}


def _main_accounts(accounts: pl.DataFrame, calendar: Calendar) -> pl.DataFrame:
    """Each person's main checking account, active during the window (first opened wins)."""
    start, end = calendar.start, calendar.as_of
    return (
        accounts.filter(
            (pl.col("kind") == "DDA")
            & (pl.col("closed").is_null() | (pl.col("closed") >= start))
            & (pl.col("opened") <= end)
        )
        .sort("opened", "acct_no")
        .unique("person", keep="first", maintain_order=True)
        .with_columns(
            a_start=pl.max_horizontal(pl.col("opened"), pl.lit(start)),
            a_end=pl.min_horizontal(pl.col("closed").fill_null(end), pl.lit(end)),
        )
    )


def _monthly_debits(
    rng: np.random.Generator,
    ledger: Ledger,
    main: pl.DataFrame,
    calendar: Calendar,
    holidays: np.ndarray,
    card_people: np.ndarray,
    landlords: pl.Series,
) -> None:
    n = main.height
    a_start = main["a_start"].to_numpy().astype("datetime64[D]")
    a_end = main["a_end"].to_numpy().astype("datetime64[D]")
    months = month_starts(np.datetime64(calendar.start, "D"), np.datetime64(calendar.as_of, "D"))
    rent = (main["housing"] == "rent").to_numpy()
    own_ours = (main["housing"] == "own_ours").to_numpy()
    own_other = (main["housing"] == "own_other").to_numpy()
    adult = main["age"].to_numpy() >= 18
    head = (main["role"] == "head").to_numpy()
    acct = main["acct_no"]

    def stream(
        rows: np.ndarray, day: np.ndarray, amount: np.ndarray, jitter: float, category: str, payee: pl.Series
    ) -> None:
        owner, date = monthly(day, a_start[rows], a_end[rows], months)
        value = amount[owner] * (1 + rng.normal(0, jitter, owner.size)) if jitter else amount[owner]
        ledger.add(
            account=acct.gather(pl.Series(rows[owner])),
            date=business_day(date, holidays, earlier=False),
            amount=value,
            credit=False,
            category=category,
            counterparty=payee.gather(owner),
        )

    renters = np.flatnonzero(rent & (head | (rng.random(n) < 0.3)) & adult)
    stream(
        renters,
        np.ones(renters.size, dtype=np.int64),
        np.exp(rng.normal(7.25, 0.3, renters.size)),
        0.0,
        "RENT",
        landlords[rng.integers(0, landlords.len(), renters.size)],
    )
    owners = np.flatnonzero((own_ours | own_other) & head)
    lender_code = np.where(
        own_ours[owners], len(mx.MORTGAGE_LENDERS), rng.integers(0, len(mx.MORTGAGE_LENDERS), owners.size)
    )
    lender = labels((*mx.MORTGAGE_LENDERS, mx.OWN_MORTGAGE), lender_code)
    stream(
        owners,
        rng.choice([1, 1, 1, 15], owners.size),
        np.exp(rng.normal(7.55, 0.35, owners.size)),
        0.0,
        "MTGPMT",
        lender,
    )
    bills_per = np.where(adult, rng.integers(2, 6, n), 0)
    bill_owner = np.repeat(np.arange(n), bills_per)
    biller = rng.integers(0, len(mx.BILLERS), bill_owner.size)
    typical = np.array([b[1] for b in mx.BILLERS])[biller] * np.exp(rng.normal(0, 0.25, bill_owner.size))
    owner, date = monthly(
        rng.integers(1, 29, bill_owner.size), a_start[bill_owner], a_end[bill_owner], months
    )
    spread = np.array([b[2] for b in mx.BILLERS])[biller[owner]]
    ledger.add(
        account=acct.gather(pl.Series(bill_owner[owner])),
        date=business_day(date, holidays, earlier=False),
        amount=np.maximum(typical[owner] * (1 + rng.normal(0, 1, owner.size) * spread), 5),
        credit=False,
        category="BILLPAY",
        counterparty=pl.Series([b[0] for b in mx.BILLERS]).gather(biller[owner]),
    )
    ours = np.isin(main["person"].to_numpy(), card_people)
    payers = np.flatnonzero(ours | adult & (rng.random(n) < 0.55))
    issuer = labels(
        (*mx.CARD_ISSUERS, mx.OWN_CARD),
        np.where(ours[payers], len(mx.CARD_ISSUERS), rng.integers(0, len(mx.CARD_ISSUERS), payers.size)),
    )
    stream(
        payers,
        rng.integers(1, 29, payers.size),
        np.exp(rng.normal(5.8, 0.8, payers.size)),
        0.5,
        "CARDPMT",
        issuer,
    )


def _random_activity(
    rng: np.random.Generator, ledger: Ledger, main: pl.DataFrame, calendar: Calendar
) -> None:
    n = main.height
    a_start = main["a_start"].to_numpy().astype("datetime64[D]")
    a_end = main["a_end"].to_numpy().astype("datetime64[D]")
    adult = main["age"].to_numpy() >= 18
    acct = main["acct_no"]
    owner, date = random_days(
        rng, np.where(adult, 5.0, 2.0) * np.exp(rng.normal(0, 0.5, n)) / 30.4, a_start, a_end
    )
    kind, name = mx.pick_merchants(rng, owner.size)
    log_mean = np.array([m[3] for m in mx.MERCHANTS])[kind]
    ledger.add(
        account=acct.gather(pl.Series(owner)),
        date=date,
        amount=np.exp(rng.normal(log_mean, 0.6)),
        credit=False,
        category="POS",
        counterparty=pl.Series(mx.merchant_names()).gather(name),
    )
    owner, date = random_days(rng, np.full(n, 0.8 / 30.4), a_start, a_end)
    ledger.add(
        account=acct.gather(pl.Series(owner)),
        date=date,
        amount=rng.choice([20, 40, 60, 80, 100, 200, 300], owner.size).astype(np.float64),
        credit=False,
        category="ATM",
        counterparty="ATM WITHDRAWAL",
    )
    owner, date = random_days(rng, np.full(n, 0.7 / 30.4), a_start, a_end)
    incoming = rng.random(owner.size) < 0.5
    ledger.add(
        account=acct.gather(pl.Series(owner)),
        date=date,
        amount=np.exp(rng.normal(4.0, 0.8, owner.size)),
        credit=incoming,
        category="P2P",
        counterparty=labels(("ZELLE PAYMENT TO", "ZELLE PAYMENT FROM"), incoming.astype(np.int64)),
    )
    span = np.maximum((a_end - a_start).astype(np.int64), 0)
    lucky = np.flatnonzero(adult & (rng.random(n) < ONE_OFF_RATE * span / 365.0))
    ledger.add(
        account=acct.gather(pl.Series(lucky)),
        date=a_start[lucky] + (rng.random(lucky.size) * span[lucky]).astype(np.int64),
        amount=np.round(np.exp(rng.normal(10.4, 0.9, lucky.size)), -2),
        credit=True,
        category="DEPOSIT",
        counterparty=pl.Series(mx.ONE_OFF_PAYERS)[rng.integers(0, len(mx.ONE_OFF_PAYERS), lucky.size)],
    )
    overdrawn = main["overdrawn"].to_numpy()
    owner, date = random_days(rng, np.where(overdrawn, 5.0, 0.15) / 365.0, a_start, a_end)
    ledger.add(
        account=acct.gather(pl.Series(owner)),
        date=date,
        amount=np.full(owner.size, 35.0),
        credit=False,
        category="FEE",
        counterparty="OVERDRAFT FEE",
    )


def _savings(
    rng: np.random.Generator,
    ledger: Ledger,
    accounts: pl.DataFrame,
    main: pl.DataFrame,
    calendar: Calendar,
    holidays: np.ndarray,
) -> None:
    start, end = calendar.start, calendar.as_of
    savings = accounts.filter(
        (pl.col("kind") == "SAV")
        & (pl.col("closed").is_null() | (pl.col("closed") >= start))
        & (pl.col("opened") <= end)
    )
    s_start = savings["opened"].clip(lower_bound=start).to_numpy().astype("datetime64[D]")
    s_end = savings["closed"].fill_null(end).clip(upper_bound=end).to_numpy().astype("datetime64[D]")
    months = month_starts(np.datetime64(start, "D"), np.datetime64(end, "D"))
    owner, date = monthly(np.full(savings.height, 31), s_start, s_end, months)
    ledger.add(
        account=savings["acct_no"].gather(pl.Series(owner)),
        date=business_day(date, holidays, earlier=True),
        amount=rng.uniform(0.05, 12.0, owner.size),
        credit=True,
        category="INT",
        counterparty="INTEREST PAID",
    )
    linked = savings.join(
        main.select("person", pl.col("acct_no").alias("chk"), "a_start", "a_end"), on="person"
    )
    saver = linked.filter(pl.Series(rng.random(linked.height) < 0.4))
    lo = np.maximum(saver["a_start"].to_numpy(), saver["opened"].to_numpy()).astype("datetime64[D]")
    hi = saver["a_end"].to_numpy().astype("datetime64[D]")
    owner, date = monthly(rng.integers(2, 28, saver.height), lo, hi, months)
    amount = np.round(rng.uniform(50, 1000, saver.height) / 50) * 50
    date = business_day(date, holidays, earlier=False)
    suffix = saver["acct_no"].str.slice(-4).gather(pl.Series(owner))
    ledger.add(
        account=saver["chk"].gather(pl.Series(owner)),
        date=date,
        amount=amount[owner],
        credit=False,
        category="XFER",
        counterparty="TRANSFER TO SAV XXXX" + suffix,
    )
    ledger.add(
        account=saver["acct_no"].gather(pl.Series(owner)),
        date=date,
        amount=amount[owner],
        credit=True,
        category="XFER",
        counterparty="TRANSFER FROM CHECKING",
    )


def core_transactions(
    rng: np.random.Generator,
    accounts: pl.DataFrame,
    persons: pl.DataFrame,
    card_people: np.ndarray,
    pools: Pools,
    *,
    calendar: Calendar,
) -> Extract:
    """Every posted transaction of the core deposit accounts in the window, as a Parquet extract."""
    holidays = calendar.holidays
    main = _main_accounts(accounts, calendar).join(
        persons.select("person", "age", "role", "housing", "deceased"),
        on="person",
        how="left",
        maintain_order="left",
    )
    landlords = pl.Series(pools.last_names[:400]).str.to_uppercase() + pl.Series(
        rng.choice([" PROPERTY MGMT", " APARTMENTS", " REALTY LLC", " HOLDINGS"], 400)
    )
    ledger = Ledger()
    add_income(rng, ledger, main, pools, calendar, holidays)
    _monthly_debits(rng, ledger, main, calendar, holidays, card_people, landlords)
    _random_activity(rng, ledger, main, calendar)
    _savings(rng, ledger, accounts, main, calendar, holidays)
    rows = ledger.frame().filter(pl.col("date") <= calendar.as_of).sort("date", maintain_order=True)
    frame = rows.select(
        txn_id=padded(np.arange(1, rows.height + 1), 11, "TX"),
        acct_no="account",
        post_dt="date",
        amt="amount",
        dr_cr=pl.when(pl.col("credit")).then(pl.lit("C")).otherwise(pl.lit("D")),
        txn_cat="category",
        cpty_name="counterparty",
    )
    return Extract(
        system="core",
        stem="transactions",
        frame=frame,
        batch=calendar.batch_of(frame["post_dt"].to_numpy()),
        parquet=True,
    )
