"""Households: customers whose golden address (street line and postcode) is the same."""

from __future__ import annotations

import hashlib

import polars as pl

#: Columns of households, in order.
HOUSEHOLD_COLUMNS: dict[str, pl.DataType] = {
    "household_id": pl.String(),
    "customer_id": pl.String(),
    "household_size": pl.Int64(),
}


def address_key() -> pl.Expr:
    """Normalized ``address_line1|postcode`` of the golden record; null when either part is missing."""
    line1 = pl.col("address_line1").str.to_lowercase().str.replace_all(r"[^a-z0-9 ]", " ")
    line1 = line1.str.replace_all(r"\s+", " ").str.strip_chars()
    postcode = pl.col("postcode").str.strip_chars().str.slice(0, 5)
    return pl.when((line1 != "") & (postcode != "")).then(pl.concat_str([line1, postcode], separator="|"))


def household_id(keys: pl.Series) -> pl.Series:
    """Opaque, deterministic id of each address key: ``HH`` and 16 hex digits of its SHA-256."""
    # Polars' own hash is not stable across versions, so ids would change on upgrade.
    return pl.Series(
        keys.name,
        [
            "HH" + hashlib.sha256(f"household\x1f{key}".encode()).hexdigest()[:16].upper()
            for key in keys.to_list()
        ],
        dtype=pl.String(),
    )


def build_households(golden: pl.DataFrame, *, max_members: int) -> pl.DataFrame:
    """Group customers living at the same address into households.

    Only the street line and postcode are compared (not line 2), so members who give their flat
    number differently still meet; an address shared by more than ``max_members`` customers
    (care homes, mail-forwarding services, bad defaults) forms no household. Placeholder addresses
    never reach here: survivorship does not let them into the golden record.

    Args:
        golden: Golden records with ``customer_id``, ``address_line1`` and ``postcode``.
        max_members: Largest plausible household.

    Returns:
        ``households``: one row per customer in a household, sorted by household and customer.

    Example:
        >>> golden = pl.DataFrame({"customer_id": ["C1", "C2"], "address_line1": ["1 main st", "1 Main St"],
        ...     "postcode": ["10001", "10001"]})
        >>> build_households(golden, max_members=8)["household_size"].to_list()
        [2, 2]
    """
    members = (
        golden.lazy()
        .select("customer_id", _key=address_key())
        .drop_nulls("_key")
        .with_columns(household_size=pl.len().over("_key").cast(pl.Int64()))
        .filter(pl.col("household_size") <= max_members)
        .collect()
    )
    ids = members.select(pl.col("_key").unique().sort())
    ids = ids.with_columns(household_id=household_id(ids["_key"]))
    return (
        members.join(ids, on="_key", how="inner")
        .select(list(HOUSEHOLD_COLUMNS))
        .sort("household_id", "customer_id")
    )
