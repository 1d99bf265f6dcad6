"""Mapped party records -> ``std_parties`` (matching form of every attribute)."""

from __future__ import annotations

import logging
from collections.abc import Callable

import polars as pl

from cdp.schemas.canonical import PARTY_COLUMNS, conform
from cdp.standardize import _columns as c
from cdp.standardize.addresses import normalized_address, normalized_city, normalized_postcode
from cdp.standardize.dates import plausible_birth_date
from cdp.standardize.emails import normalized_email
from cdp.standardize.names import joined_name, normalized_name, split_full_name
from cdp.standardize.phones import e164_phone
from cdp.standardize.regions import normalized_country, normalized_state

log = logging.getLogger(__name__)

_SPLIT = "__split_full_name"
_SPLIT_DTYPE = pl.Struct({"first_name": pl.String(), "middle_name": pl.String(), "last_name": pl.String()})


def _names() -> list[pl.Expr]:
    """First, middle and last name: the given columns win; a full name fills what is missing.

    The middle name is only taken from the full name when the full name's first and last names
    agree with the given ones, so an unrelated full name cannot smuggle in a middle name.
    """
    split = pl.col(_SPLIT)
    given_first, given_middle, given_last = (pl.col(f"__{part}") for part in ("first", "middle", "last"))
    split_first = split.struct.field("first_name")
    split_middle = split.struct.field("middle_name")
    split_last = split.struct.field("last_name")
    consistent = (given_first.is_null() | (given_first == split_first)) & (
        given_last.is_null() | (given_last == split_last)
    )
    first = pl.coalesce(given_first, split_first)
    middle = pl.coalesce(given_middle, pl.when(consistent).then(split_middle))
    last = pl.coalesce(given_last, split_last)
    full = pl.coalesce(joined_name(split_first, split_middle, split_last), joined_name(first, middle, last))
    return [
        first.alias("first_name"),
        middle.alias("middle_name"),
        last.alias("last_name"),
        full.alias("full_name"),
    ]


def _text_field(
    frame: pl.DataFrame, name: str, builder: Callable[[pl.Expr], pl.Expr], *, alias: str | None = None
) -> pl.Expr:
    """``builder`` over a text column, or a typed null when the source does not map it."""
    target = alias or name
    if name not in frame.columns:
        return pl.lit(None, dtype=pl.String).alias(target)
    return builder(c.text(frame, name)).alias(target)


def standardize_parties(mapped: pl.DataFrame) -> pl.DataFrame:
    """Turn mapped party records into ``std_parties`` rows.

    Names are lower-case ASCII without punctuation, honorifics or suffixes (a full name is split
    into first/middle/last where those are missing, and ``full_name`` is always "first middle
    last", derived from the parts when the source has no full name); email lower-case without
    ``+tag``; phone E.164; address lines and city with USPS abbreviations; state a 2-letter code;
    postcode a 5-digit ZIP (upper-case local code outside ZIP countries); country ISO alpha-2,
    ``US`` when missing; dates parsed (placeholder dates of birth such as 1900-01-01 become null);
    flags boolean. Invalid values become null; rows are never
    dropped. National ID tokens pass through unchanged.

    Args:
        mapped: Source columns already renamed to canonical field names (any subset), as text or
            as values typed by the source config's SQL, plus ``source``, ``record_id``,
            ``source_system``, ``source_file`` and ``source_row``.

    Returns:
        Frame with exactly :data:`cdp.schemas.canonical.PARTY_COLUMNS`, in order.

    Example:
        >>> mapped = pl.DataFrame({"source": ["core"], "record_id": ["7"], "full_name": ["SMITH, JOSÉ A"],
        ...                        "email": ["Jose+bank@Mail.com"], "phone": ["(555) 123-4567"]})
        >>> std = standardize_parties(mapped)
        >>> std.select("first_name", "middle_name", "last_name", "email", "phone", "country").row(0)
        ('jose', 'a', 'smith', 'jose@mail.com', '+15551234567', 'US')
    """
    frame = mapped
    country = (
        normalized_country(c.text(frame, "country")).alias("country")
        if "country" in frame.columns
        else pl.lit("US", dtype=pl.String).alias("country")
    )
    postcode = (
        normalized_postcode(c.text(frame, "postcode"), country=pl.col("country")).alias("postcode")
        if "postcode" in frame.columns
        else pl.lit(None, dtype=pl.String).alias("postcode")
    )
    # with_columns (not select) so literal nulls for missing columns take the frame's height.
    parsed = (
        frame.lazy()
        .with_columns(
            c.identifier(frame, "source"),
            c.identifier(frame, "record_id"),
            c.identifier(frame, "source_system"),
            _text_field(frame, "first_name", normalized_name, alias="__first"),
            _text_field(frame, "middle_name", normalized_name, alias="__middle"),
            _text_field(frame, "last_name", normalized_name, alias="__last"),
            (
                split_full_name(c.text(frame, "full_name")).alias(_SPLIT)
                if "full_name" in frame.columns
                else pl.lit(None, dtype=_SPLIT_DTYPE).alias(_SPLIT)
            ),
            plausible_birth_date(c.date(frame, "date_of_birth")).alias("date_of_birth"),
            _text_field(frame, "email", normalized_email),
            _text_field(frame, "phone", e164_phone),
            _text_field(frame, "address_line1", normalized_address),
            _text_field(frame, "address_line2", normalized_address),
            _text_field(frame, "city", normalized_city),
            _text_field(frame, "state", normalized_state),
            country,
            c.identifier(frame, "national_id_token"),
            c.identifier(frame, "national_id_last4_token"),
            c.date(frame, "customer_since"),
            c.date(frame, "updated_at"),
            c.flag(frame, "is_deceased"),
            c.flag(frame, "do_not_contact"),
            c.text(frame, "source_file"),
            c.integer(frame, "source_row"),
        )
        .with_columns(*_names(), postcode)
        .collect()
    )
    log.info("standardized %d party records", parsed.height, extra={"rows": parsed.height})
    return conform(parsed, PARTY_COLUMNS)
