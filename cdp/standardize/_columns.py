"""Read one mapped column whatever its type: text from the extract, or a value that the source
config's SQL expression already typed (a date, a number). Missing columns read as typed nulls.
"""

from __future__ import annotations

import polars as pl

from cdp.standardize._text import collapse_spaces, null_if_blank
from cdp.standardize.codes import parse_bool, parsed_amount, parsed_integer, parsed_rate
from cdp.standardize.dates import parsed_date, parsed_datetime


def _dtype(frame: pl.DataFrame, name: str) -> pl.DataType | None:
    return frame.schema.get(name)


def text(frame: pl.DataFrame, name: str) -> pl.Expr:
    """The column as text; whole floats lose their ".0" (a ZIP or phone read as a number)."""
    dtype = _dtype(frame, name)
    column = pl.col(name)
    if dtype is None:
        return pl.lit(None, dtype=pl.String).alias(name)
    if dtype == pl.String:
        return column
    if dtype.is_float():
        whole = column.is_finite() & (column == column.floor())
        rendered = pl.when(whole).then(column.cast(pl.Int64, strict=False).cast(pl.String))
        return rendered.otherwise(column.cast(pl.String)).alias(name)
    return column.cast(pl.String)


def identifier(frame: pl.DataFrame, name: str) -> pl.Expr:
    """A key rendered as trimmed text; blank is null."""
    return null_if_blank(text(frame, name).str.strip_chars()).alias(name)


def plain_text(frame: pl.DataFrame, name: str) -> pl.Expr:
    """Free text (a counterparty name): whitespace collapsed, case kept, blank is null."""
    return null_if_blank(collapse_spaces(text(frame, name))).alias(name)


def date(frame: pl.DataFrame, name: str) -> pl.Expr:
    dtype = _dtype(frame, name)
    if dtype is None:
        return pl.lit(None, dtype=pl.Date).alias(name)
    if dtype == pl.Date:
        return pl.col(name)
    if isinstance(dtype, pl.Datetime):
        return pl.col(name).dt.date()
    return parsed_date(text(frame, name)).alias(name)


def timestamp(frame: pl.DataFrame, name: str) -> pl.Expr:
    """A naive UTC ``Datetime("us")``; time-zone-aware input is converted to UTC first."""
    dtype = _dtype(frame, name)
    if dtype is None:
        return pl.lit(None, dtype=pl.Datetime("us")).alias(name)
    if isinstance(dtype, pl.Datetime):
        column = pl.col(name)
        if dtype.time_zone is not None:
            column = column.dt.convert_time_zone("UTC").dt.replace_time_zone(None)
        return column.cast(pl.Datetime("us"))
    if dtype == pl.Date:
        return pl.col(name).cast(pl.Datetime("us"))
    return parsed_datetime(text(frame, name)).alias(name)


def number(frame: pl.DataFrame, name: str) -> pl.Expr:
    dtype = _dtype(frame, name)
    if dtype is None:
        return pl.lit(None, dtype=pl.Float64).alias(name)
    if dtype.is_numeric():
        return pl.col(name).cast(pl.Float64)
    return parsed_amount(text(frame, name)).alias(name)


def rate(frame: pl.DataFrame, name: str) -> pl.Expr:
    dtype = _dtype(frame, name)
    if dtype is not None and dtype.is_numeric():
        return pl.col(name).cast(pl.Float64)
    return parsed_rate(text(frame, name)).alias(name)


def integer(frame: pl.DataFrame, name: str) -> pl.Expr:
    dtype = _dtype(frame, name)
    if dtype is None:
        return pl.lit(None, dtype=pl.Int64).alias(name)
    if dtype.is_numeric():
        return pl.col(name).cast(pl.Int64, strict=False)
    return parsed_integer(text(frame, name)).alias(name)


def flag(frame: pl.DataFrame, name: str) -> pl.Expr:
    dtype = _dtype(frame, name)
    if dtype is None:
        return pl.lit(None, dtype=pl.Boolean).alias(name)
    if dtype == pl.Boolean:
        return pl.col(name)
    if dtype.is_numeric():
        return (pl.col(name) != 0).alias(name)
    return parse_bool(text(frame, name)).alias(name)
