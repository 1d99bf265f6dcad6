"""Dates and timestamps from the text formats bank extracts use.

Ingestion already rejected rows whose declared SQL expression failed; what arrives here as text
is coerced leniently: the first format that parses wins, and anything else is null. Years
outside 1800-2200 (``0001-01-01``, ``9999-12-31`` "no date" sentinels) are null too.
"""

from __future__ import annotations

import datetime as dt

import polars as pl

from cdp.standardize._text import Stage, staged

#: ISO, MM/DD/YYYY, DD-MON-YYYY (Oracle), YYYYMMDD, then less common unambiguous variants.
DATE_FORMATS: tuple[str, ...] = (
    "%Y-%m-%d",
    "%m/%d/%Y",
    "%d-%b-%Y",
    "%Y%m%d",
    "%Y/%m/%d",
    "%m-%d-%Y",
    "%d.%m.%Y",
    "%d %b %Y",
    "%b %d %Y",
)

#: Timestamp formats tried after "T" is replaced by a space and any UTC offset removed.
DATETIME_FORMATS: tuple[str, ...] = (
    "%Y-%m-%d %H:%M:%S%.f",
    "%Y-%m-%d %H:%M",
    "%m/%d/%Y %H:%M:%S%.f",
    "%m/%d/%Y %I:%M:%S %p",
    "%m/%d/%Y %I:%M %p",
    "%m/%d/%Y %H:%M",
    "%Y/%m/%d %H:%M:%S%.f",
    "%Y%m%d %H%M%S",
    "%d-%b-%Y %H:%M:%S%.f",
)

MIN_YEAR = 1800
MAX_YEAR = 2200

_TIME_PART = r"[T ]\d{1,2}:\d{2}.*$"
# An offset only counts right after a time of day, so "01-02-2020" keeps its year.
_UTC_OFFSET = r"(:\d{2}(?:\.\d+)?)\s*(Z|[+-]\d{2}:?\d{2})$"


def parsed_date(col: str | pl.Expr, *, formats: tuple[str, ...] = DATE_FORMATS) -> pl.Expr:
    """A date parsed from text in any of ``formats``; a time of day, if present, is ignored.

    Already-typed dates and timestamps also work (they are read as their ISO text).

    Args:
        col: Column name or expression.
        formats: ``strptime`` formats, tried in order; the first that parses wins.

    Returns:
        ``pl.Date`` expression; null for unparseable or out-of-range values.

    Example:
        >>> df = pl.DataFrame({"d": ["2020-01-31", "01/31/2020", "31-JAN-2020", "20200131", "soon"]})
        >>> df.select(parsed_date("d"))["d"].dt.to_string().to_list()
        ['2020-01-31', '2020-01-31', '2020-01-31', '2020-01-31', None]
    """
    return staged(col, _date_stages("value", formats), return_dtype=pl.Date())


def _first_match(series: pl.Series, formats: tuple[str, ...], dtype: pl.Date | pl.Datetime) -> pl.Series:
    """Parse with each format in turn, only the values that no earlier format parsed.

    Equivalent to coalescing one ``strptime`` per format, but a column in one format is read
    once instead of once per format.
    """
    result = series.str.strptime(dtype, formats[0], strict=False) if formats else series.cast(dtype)
    for fmt in formats[1:]:
        pending = (result.is_null() & series.is_not_null()).arg_true()
        if pending.is_empty():
            break
        result = result.scatter(pending, series.gather(pending).str.strptime(dtype, fmt, strict=False))
    return result


def _parsed(expr: pl.Expr, formats: tuple[str, ...], dtype: pl.Date | pl.Datetime) -> pl.Expr:
    return expr.map_batches(lambda series: _first_match(series, formats, dtype), return_dtype=dtype)


def _date_stages(source: str, formats: tuple[str, ...], *, only_if_null: str | None = None) -> list[Stage]:
    text, date = pl.col("date_text"), pl.col("date")
    cleaned = pl.col(source).str.strip_chars().str.replace(_TIME_PART, "")
    if only_if_null is not None:
        cleaned = pl.when(pl.col(only_if_null).is_null()).then(cleaned)
    return [
        {"date_text": cleaned},
        {"date": _parsed(text, formats, pl.Date())},
        {"result": pl.when(date.dt.year().is_between(MIN_YEAR, MAX_YEAR)).then(date)},
    ]


def parsed_datetime(
    col: str | pl.Expr,
    *,
    formats: tuple[str, ...] = DATETIME_FORMATS,
    date_formats: tuple[str, ...] = DATE_FORMATS,
) -> pl.Expr:
    """A naive UTC timestamp (microseconds) parsed from text.

    ISO 8601 with ``T`` or a space, optional fractional seconds and an optional ``Z`` or
    ``+hh:mm`` offset (converted to UTC); US ``MM/DD/YYYY hh:mm[:ss] [AM|PM]``; a bare date is
    midnight; 10- and 13-digit numbers are Unix epoch seconds and milliseconds.

    Args:
        col: Column name or expression.
        formats: Timestamp ``strptime`` formats, tried in order.
        date_formats: Date formats tried when no timestamp format parses.

    Returns:
        ``pl.Datetime("us")`` expression; null for unparseable or out-of-range values.

    Example:
        >>> df = pl.DataFrame({"t": ["2024-03-01T10:15Z", "2024-03-01 12:15+02:00", "03/01/2024 10:15 AM"]})
        >>> df.select(parsed_datetime("t"))["t"].dt.to_string("%Y-%m-%d %H:%M").to_list()
        ['2024-03-01 10:15', '2024-03-01 10:15', '2024-03-01 10:15']
    """
    text, offset_digits = pl.col("text"), pl.col("offset_digits")
    sign = pl.when(pl.col("offset").str.starts_with("-")).then(-1).otherwise(1)
    offset_minutes = sign * (
        offset_digits.str.slice(0, 2).cast(pl.Int64, strict=False) * 60
        + offset_digits.str.slice(2, 2).cast(pl.Int64, strict=False)
    )
    local = text.str.replace(_UTC_OFFSET, "${1}").str.replace(r"^(\d{4}-\d{2}-\d{2})T", "${1} ")
    naive = _parsed(pl.col("local"), formats, pl.Datetime("us"))
    epoch = pl.col("epoch")
    from_epoch = pl.from_epoch(pl.when(epoch < 10**11).then(epoch * 1000).otherwise(epoch), time_unit="ms")
    date_stages = _date_stages("local", date_formats, only_if_null="utc")
    stamp = pl.col("stamp")
    return staged(
        col,
        [
            {"text": pl.col("value").str.strip_chars()},
            {
                "offset": text.str.extract(_UTC_OFFSET, 2),
                "local": local,
                "epoch": text.str.extract(r"^(\d{10}|\d{13})$", 1).cast(pl.Int64, strict=False),
            },
            {"offset_digits": pl.col("offset").str.replace_all(r"\D", "")},
            {"utc": naive - pl.duration(minutes=offset_minutes.fill_null(0))},
            *date_stages,
            {
                "stamp": pl.coalesce(
                    pl.col("utc"),
                    from_epoch.cast(pl.Datetime("us")),
                    pl.col("result").cast(pl.Datetime("us")),
                )
            },
            {"result": pl.when(stamp.dt.year().is_between(MIN_YEAR, MAX_YEAR)).then(stamp)},
        ],
        return_dtype=pl.Datetime("us"),
    )


#: Dates that source systems key in when the real date of birth is unknown.
PLACEHOLDER_BIRTH_DATES = (
    dt.date(1900, 1, 1),
    dt.date(1899, 12, 31),
    dt.date(1901, 1, 1),
    dt.date(9999, 12, 31),
)
#: Earlier dates of birth are data-entry defaults, not people: nobody alive was born before this.
EARLIEST_BIRTH_DATE = dt.date(1901, 1, 2)


def plausible_birth_date(col: str | pl.Expr) -> pl.Expr:
    """Null a date of birth that is a placeholder or impossibly old, so it never counts as evidence.

    Example:
        >>> frame = pl.DataFrame({"dob": [dt.date(1900, 1, 1), dt.date(1985, 3, 4)]})
        >>> frame.select(plausible_birth_date("dob"))["dob"].to_list()
        [None, datetime.date(1985, 3, 4)]
    """
    expr = pl.col(col) if isinstance(col, str) else col
    implausible = expr.is_in(PLACEHOLDER_BIRTH_DATES) | (expr < EARLIEST_BIRTH_DATE)
    return pl.when(~implausible).then(expr)
