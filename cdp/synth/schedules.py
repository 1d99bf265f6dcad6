"""Vectorized payment schedules: a "stream" (payroll every other Friday, rent on the 1st, ...) is
expanded into dated rows with numpy, never with a per-row Python loop.

Dates that fall on a weekend or a bank holiday roll to the previous business day for credits
(employers pay early) and to the next one for debits.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import polars as pl

from cdp.synth.common import segment_ids


def month_starts(start: np.datetime64, end: np.datetime64) -> np.ndarray:
    """First day of every month overlapping ``[start, end]``."""
    first = start.astype("datetime64[M]")
    last = end.astype("datetime64[M]")
    return np.arange(first, last + 1).astype("datetime64[D]")


def every_n_days(
    anchor: np.ndarray, period: np.ndarray, start: np.ndarray, end: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """(stream, date) for dates ``anchor + k * period`` inside each stream's ``[start, end]``."""
    lead = np.maximum(np.ceil((start - anchor).astype(np.int64) / period), 0).astype(np.int64)
    count = np.maximum(((end - anchor).astype(np.int64) // period) - lead + 1, 0)
    owner, nth = segment_ids(count)
    return owner, anchor[owner] + (lead[owner] + nth) * period[owner]


def monthly(
    day: np.ndarray, start: np.ndarray, end: np.ndarray, months: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """(stream, date) on day-of-month ``day`` (31 = last day) of every month, within bounds."""
    owner = np.repeat(np.arange(day.size), months.size)
    month = np.tile(months, day.size)
    month_len = ((month.astype("datetime64[M]") + 1).astype("datetime64[D]") - month).astype(np.int64)
    date = month + np.minimum(day[owner], month_len) - 1
    keep = (date >= start[owner]) & (date <= end[owner])
    return owner[keep], date[keep]


def random_days(
    rng: np.random.Generator, rate: np.ndarray, start: np.ndarray, end: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """(stream, date) for a Poisson number of events at ``rate`` per day, uniform in bounds."""
    span = np.maximum((end - start).astype(np.int64) + 1, 0)
    owner, _ = segment_ids(rng.poisson(rate * span))
    return owner, start[owner] + (rng.random(owner.size) * span[owner]).astype(np.int64)


def business_day(dates: np.ndarray, holidays: np.ndarray, *, earlier: bool) -> np.ndarray:
    """Roll non-business days to the previous (``earlier``) or next business day."""
    return np.busday_offset(
        dates.astype("datetime64[D]"), 0, roll="preceding" if earlier else "following", holidays=holidays
    )


@dataclass
class Ledger:
    """Accumulates transaction rows from many streams, then builds one frame."""

    parts: list[dict[str, np.ndarray | pl.Series]] = field(default_factory=list)

    def add(
        self,
        *,
        account: pl.Series,
        date: np.ndarray,
        amount: np.ndarray,
        credit: np.ndarray | bool,
        category: str,
        counterparty: pl.Series | str,
    ) -> None:
        n = date.size
        self.parts.append(
            {
                "account": account,
                "date": date.astype("datetime64[D]"),
                "amount": np.round(np.abs(amount), 2),
                "credit": np.broadcast_to(np.asarray(credit, dtype=bool), (n,)),
                "category": pl.repeat(category, n, dtype=pl.String, eager=True),
                "counterparty": counterparty
                if isinstance(counterparty, pl.Series)
                else pl.repeat(counterparty, n, dtype=pl.String, eager=True),
            }
        )

    def frame(self) -> pl.DataFrame:
        frames = [
            pl.DataFrame(
                {
                    "account": part["account"],
                    "date": pl.Series(part["date"]).cast(pl.Date),
                    "amount": part["amount"],
                    "credit": part["credit"],
                    "category": part["category"],
                    "counterparty": part["counterparty"],
                }
            )
            for part in self.parts
            if len(part["date"])
        ]
        if not frames:
            return pl.DataFrame(
                schema={
                    "account": pl.String,
                    "date": pl.Date,
                    "amount": pl.Float64,
                    "credit": pl.Boolean,
                    "category": pl.String,
                    "counterparty": pl.String,
                }
            )
        return pl.concat(frames)
