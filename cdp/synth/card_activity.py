"""Card processor transactions: purchases with a merchant category (MCC), refunds, monthly
payments, interest for revolvers and late fees for accounts past due.

Amounts are in cents, positive for charges and negative for credits (payments, refunds), as
processors report them; the source config flips the sign to the canonical "positive = money in".
"""

from __future__ import annotations

import numpy as np
import polars as pl

from cdp.synth import merchants as mx
from cdp.synth.common import Calendar, labels, padded
from cdp.synth.extracts import Extract
from cdp.synth.schedules import business_day, month_starts, monthly, random_days

PURCHASES_PER_MONTH = 12.0
REFUND_RATE = 0.02
TXN_TYPES = ("PUR", "REF", "PMT", "INT", "FEE")
CREDIT_NAMES = ("PAYMENT - THANK YOU", "INTEREST CHARGE", "LATE FEE")


def card_transactions(rng: np.random.Generator, accounts: pl.DataFrame, *, calendar: Calendar) -> Extract:
    """All card transactions in the window for the card accounts in ``accounts`` (card facts)."""
    start, end = np.datetime64(calendar.start, "D"), np.datetime64(calendar.as_of, "D")
    opened = accounts["opened"].to_numpy().astype("datetime64[D]")
    closed = accounts["closed"].fill_null(calendar.as_of).to_numpy().astype("datetime64[D]")
    a_start, a_end = np.maximum(opened, start), np.minimum(closed, end)
    n = accounts.height
    holidays = calendar.holidays
    rate = PURCHASES_PER_MONTH * np.exp(rng.normal(0, 0.7, n)) / 30.4
    owner, day = random_days(rng, rate, a_start, a_end)
    kind, name = mx.pick_merchants(rng, owner.size)
    log_mean = np.array([m[3] for m in mx.MERCHANTS])[kind]
    log_sd = np.array([m[4] for m in mx.MERCHANTS])[kind]
    cents = np.maximum(np.exp(rng.normal(log_mean, log_sd)) * 100, 99).astype(np.int64)
    refund = rng.random(owner.size) < REFUND_RATE
    purchases = pl.DataFrame(
        {
            "row": owner,
            "txn_date": day,
            "type": refund.astype(np.int64),
            "cents": np.where(refund, -cents, cents),
            "mcc": kind,
            "merchant": name,
        }
    )
    months = month_starts(start, end)
    due_day = rng.integers(1, 29, n)
    p_owner, p_day = monthly(due_day, a_start, a_end, months)
    revolver = accounts["revolver"].to_numpy()
    limit = accounts["limit"].to_numpy()
    paid = np.where(
        revolver[p_owner], rng.uniform(0.02, 0.1, p_owner.size), rng.uniform(0.05, 0.3, p_owner.size)
    )
    i_owner = p_owner[revolver[p_owner]]
    i_day = p_day[revolver[p_owner]]
    late = accounts["dpd"].to_numpy() > 0
    fee = late[p_owner] & (rng.random(p_owner.size) < 0.5)
    f_owner, f_day = p_owner[fee], p_day[fee] + 1
    sizes = (p_owner.size, i_owner.size, f_owner.size)
    credit_type = np.repeat(np.arange(2, 5), sizes)
    names = len(mx.merchant_names())
    credits = pl.DataFrame(
        {
            "row": np.concatenate([p_owner, i_owner, f_owner]),
            "txn_date": np.concatenate([business_day(p_day, holidays, earlier=False), i_day, f_day]),
            "type": credit_type,
            "cents": np.concatenate(
                [
                    -(limit[p_owner] * paid * 100).astype(np.int64),
                    (limit[i_owner] * rng.uniform(0.01, 0.02, i_owner.size) * 100).astype(np.int64),
                    np.full(f_owner.size, 3900, dtype=np.int64),
                ]
            ),
            "mcc": np.full(credit_type.size, -1),
            "merchant": names + credit_type - 2,
        }
    )
    rows = pl.concat([purchases, credits]).with_columns(pl.col("txn_date").cast(pl.Date))
    post = business_day(
        rows["txn_date"].to_numpy() + rng.integers(0, 3, rows.height), holidays, earlier=False
    )
    rows = rows.with_columns(post_date=pl.Series(post).cast(pl.Date)).filter(
        pl.col("post_date") <= calendar.as_of
    )
    # A stable sort on one key keeps the (deterministic) generation order within a day.
    rows = rows.sort("post_date", maintain_order=True)
    mcc = rows["mcc"].to_numpy()
    is_purchase = pl.Series(mcc >= 0)
    frame = rows.select(
        TXN_REF=padded(np.arange(1, rows.height + 1), 12, "C"),
        ACCT_NBR=accounts["acct_nbr"].gather(rows["row"]),
        TXN_DATE="txn_date",
        POST_DATE="post_date",
        TXN_TYPE=labels(TXN_TYPES, rows["type"].to_numpy()),
        AMOUNT_CENTS="cents",
        MCC=pl.when(is_purchase).then(labels([m[0] for m in mx.MERCHANTS], np.maximum(mcc, 0))),
        MCC_DESC=pl.when(is_purchase).then(labels([m[1] for m in mx.MERCHANTS], np.maximum(mcc, 0))),
        MERCHANT_NAME=labels(mx.merchant_names() + CREDIT_NAMES, rows["merchant"].to_numpy()),
    )
    return Extract(
        system="card",
        stem="transactions",
        frame=frame,
        batch=calendar.batch_of(frame["POST_DATE"].to_numpy()),
        parquet=True,
    )
