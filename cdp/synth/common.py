"""Shared helpers of the synthetic bank: seeded random streams, unique ids and business dates.

Every component draws from its own named stream (``rng_for(seed, "core")``), so adding draws to
one system never shifts the values of another and the output stays reproducible for a seed.
"""

from __future__ import annotations

import calendar
import datetime as dt
import zlib
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import polars as pl


def rng_for(seed: int, stream: str) -> np.random.Generator:
    """A random generator for one named component, independent of every other component."""
    return np.random.default_rng([seed, zlib.crc32(stream.encode())])


def unique_ints(rng: np.random.Generator, n: int, low: int, high: int) -> np.ndarray:
    """``n`` distinct random integers in ``[low, high)``, in random (not sorted) order."""
    if high - low < n:
        raise ValueError(f"cannot draw {n} distinct values from a range of {high - low}")
    drawn = np.empty(0, dtype=np.int64)
    while drawn.size < n:
        extra = rng.integers(low, high, size=int((n - drawn.size) * 1.1) + 16, dtype=np.int64)
        merged = np.concatenate([drawn, extra])
        _, first = np.unique(merged, return_index=True)
        drawn = merged[np.sort(first)]
    return drawn[:n]


def padded(values: np.ndarray, width: int, prefix: str = "") -> pl.Series:
    """Integers rendered as zero-padded strings with a prefix, e.g. ``C00012345``."""
    text = pl.Series(values.astype(np.int64)).cast(pl.String).str.zfill(width)
    return pl.select(pl.format(f"{prefix}{{}}", text)).to_series() if prefix else text


def choice_index(rng: np.random.Generator, weights: np.ndarray, n: int) -> np.ndarray:
    """``n`` indices drawn with probability proportional to ``weights``."""
    cumulative = np.cumsum(weights, dtype=np.float64)
    index: np.ndarray = np.searchsorted(cumulative, rng.random(n) * cumulative[-1], side="right")
    return index.astype(np.int64)


def zipf_weights(n: int, exponent: float = 1.0) -> np.ndarray:
    """Skewed popularity weights: the first item is the most common."""
    return 1.0 / np.arange(1, n + 1, dtype=np.float64) ** exponent


def gather(pool: Sequence[str] | pl.Series, index: np.ndarray) -> pl.Series:
    """Values of ``pool`` at ``index`` as a String series (vectorized lookup)."""
    series = pool if isinstance(pool, pl.Series) else pl.Series(list(pool), dtype=pl.String)
    return series.gather(pl.Series(index.astype(np.int64)))


def labels(pool: Sequence[str], codes: np.ndarray) -> pl.Series:
    """Strings of ``pool`` at integer ``codes`` (much faster than building from numpy strings)."""
    return pl.Series(list(pool), dtype=pl.String).gather(pl.Series(np.asarray(codes, dtype=np.int64)))


def to_date_series(days: np.ndarray) -> pl.Series:
    """numpy ``datetime64[D]`` values as a Polars Date series."""
    return pl.Series(days.astype("datetime64[D]")).cast(pl.Date)


def days_of(value: dt.date) -> np.datetime64:
    return np.datetime64(value, "D")


def segment_ids(counts: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """For ``counts`` per parent, the parent index and the occurrence number of every child row.

    Example: counts ``[2, 0, 3]`` -> parents ``[0, 0, 2, 2, 2]``, occurrences ``[0, 1, 0, 1, 2]``.
    """
    counts = counts.astype(np.int64)
    parents = np.repeat(np.arange(counts.size, dtype=np.int64), counts)
    starts = np.cumsum(counts) - counts
    occurrence = np.arange(parents.size, dtype=np.int64) - starts[parents]
    return parents, occurrence


def _nth_weekday(year: int, month: int, weekday: int, nth: int) -> dt.date:
    first = dt.date(year, month, 1)
    offset = (weekday - first.weekday()) % 7
    if nth > 0:
        return first + dt.timedelta(days=offset + 7 * (nth - 1))
    following = dt.date(year + (month == 12), month % 12 + 1, 1)
    last = following - dt.timedelta(days=1)
    return last - dt.timedelta(days=(last.weekday() - weekday) % 7)


def us_bank_holidays(first_year: int, last_year: int) -> np.ndarray:
    """Federal Reserve holidays (observed dates) for a range of years, as ``datetime64[D]``."""
    days: list[dt.date] = []
    for year in range(first_year, last_year + 1):
        fixed = [
            dt.date(year, 1, 1),
            dt.date(year, 6, 19),
            dt.date(year, 7, 4),
            dt.date(year, 11, 11),
            dt.date(year, 12, 25),
        ]
        for day in fixed:
            # Saturday holidays are not moved for the Fed; Sunday ones move to Monday.
            days.append(day + dt.timedelta(days=1) if day.weekday() == 6 else day)
        days += [
            _nth_weekday(year, 1, 0, 3),
            _nth_weekday(year, 2, 0, 3),
            _nth_weekday(year, 5, 0, -1),
            _nth_weekday(year, 9, 0, 1),
            _nth_weekday(year, 10, 0, 2),
            _nth_weekday(year, 11, 3, 4),
        ]
    return np.array(sorted(days), dtype="datetime64[D]")


@dataclass(frozen=True)
class Calendar:
    """The generation window: history start, the as-of date and the batch cut-off dates.

    ``batch_dates[k]`` is the date of batch ``k + 1``; records created on or before
    ``batch_dates[0]`` are in the initial load, later ones in the first batch whose date is on or
    after their creation.
    """

    as_of: dt.date
    start: dt.date
    batch_dates: tuple[dt.date, ...]
    batch_days: int = 7

    @property
    def later_weeks(self) -> float:
        """Weeks covered by the batches after the initial load: what per-week change rates scale by."""
        return (len(self.batch_dates) - 1) * self.batch_days / 7

    @property
    def holidays(self) -> np.ndarray:
        return us_bank_holidays(self.start.year - 1, self.as_of.year + 1)

    @property
    def window_start(self) -> dt.date:
        """First day after the initial load; events after it land in later batches."""
        return self.batch_dates[0] + dt.timedelta(days=1)

    def batch_of(self, days: np.ndarray) -> np.ndarray:
        """1-based batch number of each ``datetime64[D]`` date (dates before batch 1 -> 1)."""
        edges = np.array(self.batch_dates, dtype="datetime64[D]")
        return (
            np.minimum(np.searchsorted(edges, days.astype("datetime64[D]"), side="left"), edges.size - 1) + 1
        )


BATCH_SPACING_DAYS = 7


def make_calendar(
    as_of: dt.date, *, months: int, batches: int | None, batch_days: int = BATCH_SPACING_DAYS
) -> Calendar:
    """History starts ``months`` before ``as_of``; batches are ``batch_days`` apart and end on ``as_of``."""
    month_index = as_of.year * 12 + as_of.month - 1 - months
    year, month = divmod(month_index, 12)
    month_days = calendar.monthrange(year, month + 1)[1]
    start = min(dt.date(year, month + 1, min(as_of.day, month_days)) + dt.timedelta(days=1), as_of)
    count = batches or 1
    dates = tuple(as_of - dt.timedelta(days=batch_days * (count - k)) for k in range(1, count + 1))
    return Calendar(as_of=as_of, start=start, batch_dates=dates, batch_days=batch_days)
