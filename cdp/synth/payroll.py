"""Income streams of the core ledger: salary from a named employer, and retirement benefits.

Salary arrives biweekly, semi-monthly or monthly, early when payday is a weekend or a holiday,
with small amount jitter and occasional overtime. Some people change jobs (a new payer from the
change date, after a short gap) and some stop being paid (layoff, retirement); retirees aged 62+
receive a monthly benefit instead.
"""

from __future__ import annotations

import numpy as np
import polars as pl

from cdp.synth import merchants as mx
from cdp.synth.common import Calendar, choice_index, gather
from cdp.synth.pools import Pools
from cdp.synth.schedules import Ledger, business_day, every_n_days, month_starts, monthly

EMPLOYED_RATE = 0.8
CADENCE_WEIGHTS = np.array([0.45, 0.25, 0.30])  # biweekly, semi-monthly, monthly
JOB_CHANGE_RATE, SALARY_STOP_RATE = 0.08, 0.05


def _weekday(days: np.ndarray) -> np.ndarray:
    return (days.astype("datetime64[D]").astype(np.int64) + 3) % 7  # Monday = 0


def add_income(
    rng: np.random.Generator,
    ledger: Ledger,
    main: pl.DataFrame,
    pools: Pools,
    calendar: Calendar,
    holidays: np.ndarray,
) -> None:
    age = main["age"].to_numpy()
    n = main.height
    employed = (
        (age >= 18) & (age <= 66) & (rng.random(n) < EMPLOYED_RATE)
        | (age > 66) & (age <= 75) & (rng.random(n) < 0.15)
        | (age >= 16) & (age < 18) & (rng.random(n) < 0.2)
    )
    employed &= ~main["deceased"].to_numpy()
    a_start = main["a_start"].to_numpy().astype("datetime64[D]")
    a_end = main["a_end"].to_numpy().astype("datetime64[D]")
    span = np.maximum((a_end - a_start).astype(np.int64), 1)
    change = employed & (rng.random(n) < JOB_CHANGE_RATE)
    stop = employed & ~change & (rng.random(n) < SALARY_STOP_RATE)
    switch_day = a_start + (span * rng.uniform(0.2, 0.9, n)).astype(np.int64)
    annual = np.where(age < 18, rng.uniform(3000, 9000, n), np.exp(rng.normal(10.9, 0.5, n)))
    # Segment 1 is the job at the start; segment 2 the new job after a change.
    seg_owner = np.concatenate([np.flatnonzero(employed), np.flatnonzero(change)])
    seg_new = np.arange(seg_owner.size) >= int(employed.sum())
    seg_start = np.where(
        seg_new, switch_day[seg_owner] + rng.integers(0, 30, seg_owner.size), a_start[seg_owner]
    )
    seg_end = np.where(seg_new | ~(change | stop)[seg_owner], a_end[seg_owner], switch_day[seg_owner])
    employer = choice_index(rng, pools.employer_weights, seg_owner.size)
    pay = annual[seg_owner] * np.where(seg_new, rng.uniform(0.95, 1.3, seg_owner.size), 1.0) * 0.76
    cadence = choice_index(rng, CADENCE_WEIGHTS, seg_owner.size)
    payer = gather(pools.employers, employer).str.to_uppercase()
    anchor = seg_start - (_weekday(seg_start) - 4) % 7
    biweekly = np.flatnonzero(cadence == 0)
    owner_b, date_b = every_n_days(
        anchor[biweekly], np.full(biweekly.size, 14), seg_start[biweekly], seg_end[biweekly]
    )
    months = month_starts(np.datetime64(calendar.start, "D"), np.datetime64(calendar.as_of, "D"))
    semi = np.flatnonzero(cadence == 1)
    monthly_rows = np.flatnonzero(cadence == 2)
    day = np.concatenate(
        [
            np.full(semi.size, 15),
            np.full(semi.size, 31),
            rng.choice([31, 31, 31, 25, 28, 1], monthly_rows.size),
        ]
    )
    rows_m = np.concatenate([semi, semi, monthly_rows])
    owner_m, date_m = monthly(day, seg_start[rows_m], seg_end[rows_m], months)
    seg = np.concatenate([biweekly[owner_b], rows_m[owner_m]])
    dates = business_day(np.concatenate([date_b, date_m]), holidays, earlier=True)
    periods = np.select([cadence[seg] == 0, cadence[seg] == 1], [26, 24], 12)
    jitter = (
        1 + rng.normal(0, 0.015, seg.size) + (rng.random(seg.size) < 0.05) * rng.uniform(0.05, 0.3, seg.size)
    )
    ledger.add(
        account=main["acct_no"].gather(pl.Series(seg_owner[seg])),
        date=dates,
        amount=pay[seg] / periods * jitter,
        credit=True,
        category="PAYROLL",
        counterparty=payer.gather(seg),
    )
    retired = ~employed & (age >= 62)
    rows = np.flatnonzero(retired)
    owner_r, date_r = monthly(np.full(rows.size, 3), a_start[rows], a_end[rows], months)
    benefit = rng.uniform(1200, 3200, rows.size)
    payer_r = pl.Series(mx.PENSION_PAYERS)[rng.choice(len(mx.PENSION_PAYERS), rows.size, p=[0.7, 0.15, 0.15])]
    ledger.add(
        account=main["acct_no"].gather(pl.Series(rows[owner_r])),
        date=business_day(date_r, holidays, earlier=True),
        amount=benefit[owner_r],
        credit=True,
        category="BENEFIT",
        counterparty=payer_r.gather(owner_r),
    )
