"""Turn ``std_parties`` into Splink's input: one ``unique_id``, derived match columns, placeholders nulled.

Placeholder values (a branch phone typed into hundreds of records, ``noemail@bank.com``, a default
birth date, a junk SSN that survived tokenization) look like strong agreement to a model, so they
are detected from the data and nulled before anything is compared: they are never evidence.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field

import polars as pl

from cdp.resolve.nicknames import with_first_name_groups

log = logging.getLogger(__name__)

#: Columns of the frame Splink sees, in order; every one is present even when a source lacks it.
LINKAGE_COLUMNS: Mapping[str, pl.DataType] = {
    "unique_id": pl.String(),
    "source": pl.String(),
    "record_id": pl.String(),
    "first_name": pl.String(),
    "first_name_groups": pl.List(pl.String()),
    "last_name": pl.String(),
    "dob": pl.String(),
    "email": pl.String(),
    "email_local": pl.String(),
    "phone": pl.String(),
    "address_line1": pl.String(),
    "city": pl.String(),
    "state": pl.String(),
    "postcode": pl.String(),
    "national_id_token": pl.String(),
    "national_id_last4_token": pl.String(),
}

#: Party columns screened for placeholders; "address" is address_line1 within its postcode.
PLACEHOLDER_COLUMNS: tuple[str, ...] = (
    "national_id_token",
    "national_id_last4_token",
    "email",
    "phone",
    "date_of_birth",
    "address",
)


@dataclass(frozen=True)
class PlaceholderValues:
    """Values per screened column that are shared by implausibly many records.

    Attributes:
        values: Column -> the placeholder values (text; dates as ISO strings, addresses as
            ``line1|postcode``).
        thresholds: Column -> the record count at or above which a value was called a placeholder.
    """

    values: Mapping[str, frozenset[str]] = field(default_factory=dict)
    thresholds: Mapping[str, int] = field(default_factory=dict)

    def count(self) -> int:
        """How many placeholder values were found over all columns."""
        return sum(len(found) for found in self.values.values())

    def of(self, column: str) -> list[str]:
        """The placeholder values of one column, sorted (empty when none)."""
        return sorted(self.values.get(column, frozenset()))


def _screened_value(column: str) -> pl.Expr:
    if column == "date_of_birth":
        return pl.col("date_of_birth").cast(pl.String)
    if column == "address":
        return pl.concat_str([pl.col("address_line1"), pl.col("postcode")], separator="|")
    return pl.col(column).cast(pl.String)


def _screened_columns(frame: pl.DataFrame, columns: Sequence[str]) -> list[str]:
    """The screened columns ``frame`` can feed (both address parts for ``address``)."""
    return [
        column
        for column in columns
        if all(
            name in frame.columns
            for name in (("address_line1", "postcode") if column == "address" else (column,))
        )
    ]


def _value_counts(frame: pl.DataFrame, column: str) -> pl.DataFrame:
    """Records per screened value of one column (``value``, ``records``)."""
    return (
        frame.select(value=_screened_value(column))
        .drop_nulls()
        .group_by("value")
        .agg(records=pl.len().cast(pl.Int64))
    )


def value_counts(
    parties: pl.DataFrame, *, columns: Sequence[str] = PLACEHOLDER_COLUMNS
) -> dict[str, pl.DataFrame]:
    """Records per screened value of each column ``parties`` can feed: what placeholders are found from.

    Args:
        parties: ``std_parties`` rows.
        columns: Columns to screen (see ``PLACEHOLDER_COLUMNS``).

    Returns:
        Column -> ``(value, records)``, one row per distinct non-null value, in no particular order.
    """
    return {column: _value_counts(parties, column) for column in _screened_columns(parties, columns)}


def screened_non_null(parties: pl.DataFrame, columns: Iterable[str]) -> dict[str, int]:
    """Per screened column: how many records have a value (the sum of its :func:`value_counts`)."""
    present = _screened_columns(parties, list(columns))
    if not present:
        return {}
    return parties.select(
        [_screened_value(column).is_not_null().sum().alias(column) for column in present]
    ).row(0, named=True)


def updated_value_counts(
    counts: Mapping[str, pl.DataFrame], *, arrived: pl.DataFrame | None, departed: pl.DataFrame | None
) -> dict[str, pl.DataFrame]:
    """``counts`` of a population moved by a batch: plus the rows that ``arrived``, minus the rows
    that ``departed`` (values left with no record are dropped).

    Equal to :func:`value_counts` of the new population when ``counts`` were the old one's and
    ``departed`` holds the previous rows of every changed and removed record, ``arrived`` the
    new rows of every new and changed record.
    """
    updated: dict[str, pl.DataFrame] = {}
    for column, before in counts.items():
        moves = [
            _value_counts(frame, column).with_columns(records=sign * pl.col("records"))
            for frame, sign in ((arrived, 1), (departed, -1))
            if frame is not None and not frame.is_empty() and _screened_columns(frame, (column,))
        ]
        if not moves:
            updated[column] = before
            continue
        change = pl.concat(moves).group_by("value").agg(change=pl.col("records").sum())
        # One probe of the (large) counts with the batch's few values, then a small join.
        moved = before["value"].is_in(change["value"].implode())
        touched = (
            before.filter(moved)
            .join(change, on="value", how="full", coalesce=True)
            .select("value", records=pl.col("records").fill_null(0) + pl.col("change"))
            .filter(pl.col("records") > 0)
        )
        updated[column] = pl.concat([before.filter(~moved), touched])
    return updated


@dataclass(frozen=True)
class _Rule:
    """The placeholder threshold: ``multiplier`` times the ``quantile`` of records per value,
    never below ``min_records``."""

    quantile: float
    multiplier: float
    min_records: int

    def threshold(self, tail: float | None) -> int:
        return max(self.min_records, math.ceil(self.multiplier * float(tail or 1)))

    def of(self, counts: pl.DataFrame) -> int:
        return self.threshold(counts["records"].quantile(self.quantile, interpolation="higher"))


def detect_placeholders(
    parties: pl.DataFrame,
    *,
    columns: Sequence[str] = PLACEHOLDER_COLUMNS,
    quantile: float = 0.99,
    multiplier: float = 4.0,
    min_records: int = 10,
) -> PlaceholderValues:
    """Find values shared by implausibly many records, column by column.

    A real identifier is shared by one person's few records (and a household's, for phones and
    addresses); its distribution of records per value has a short tail. The threshold is data
    driven: ``multiplier`` times the ``quantile`` of records-per-value over the column's distinct
    values, never below ``min_records``. Values at or above it are placeholders. The threshold
    scales with the data, so a last-4 SSN token, naturally shared by ~N/10,000 records, is not
    flagged while a default SSN typed into hundreds of records is.

    Args:
        parties: ``std_parties`` rows.
        columns: Columns to screen (see ``PLACEHOLDER_COLUMNS``).
        quantile: Quantile of records-per-value taken as the normal tail.
        multiplier: How far above the normal tail a value must be shared.
        min_records: Floor of the threshold, so small data sets flag nothing by accident.

    Returns:
        The placeholder values and each column's threshold. Values are never logged.

    Example:
        >>> frame = pl.DataFrame({"email": ["x@bank.com"] * 12 + [f"p{i}@m.com" for i in range(500)]})
        >>> detect_placeholders(frame, columns=("email",)).of("email")
        ['x@bank.com']
    """
    return placeholder_flips(
        parties,
        arrived=None,
        departed=None,
        columns=columns,
        quantile=quantile,
        multiplier=multiplier,
        min_records=min_records,
    )[0]


def placeholder_flips(
    parties: pl.DataFrame,
    *,
    arrived: pl.DataFrame | None,
    departed: pl.DataFrame | None,
    counts: Mapping[str, pl.DataFrame] | None = None,
    columns: Sequence[str] = PLACEHOLDER_COLUMNS,
    quantile: float = 0.99,
    multiplier: float = 4.0,
    min_records: int = 10,
) -> tuple[PlaceholderValues, dict[str, frozenset[str]]]:
    """Today's placeholders (:func:`detect_placeholders`), and the values whose status flipped.

    A value shared by 19 records is evidence; when the 20th arrives it may become a placeholder
    (or the threshold itself may move as the population grows). Edges scored on an earlier day
    still count such a value as agreement, which a full refresh would not. The population before
    the batch is today's minus the rows that ``arrived`` plus the rows that ``departed``, so its
    counts come from today's without reading yesterday's records again.

    Args:
        parties: today's ``std_parties``.
        arrived: today's rows of the new and changed records (None: nothing arrived).
        departed: the previous rows of the changed and removed records (None: nothing left).
        counts: today's :func:`value_counts` when the caller keeps them (counted from
            ``parties`` when None, or for a column they lack).
        columns, quantile, multiplier, min_records: as in :func:`detect_placeholders`.

    Returns:
        Today's placeholders, and per column the values that were a placeholder before the batch
        and are not now, or the other way round (columns without a flip are left out).
    """
    values: dict[str, frozenset[str]] = {}
    thresholds: dict[str, int] = {}
    flips: dict[str, frozenset[str]] = {}
    rule = _Rule(quantile, multiplier, min_records)
    known = counts or {}
    for column in _screened_columns(parties, columns):
        column_counts = known[column] if column in known else _value_counts(parties, column)
        if column_counts.is_empty():
            continue
        threshold = rule.of(column_counts)
        found = column_counts.filter(pl.col("records") >= threshold)["value"].to_list()
        thresholds[column] = threshold
        if found:
            values[column] = frozenset(found)
            log.info("placeholders: column=%s values=%d threshold=%d", column, len(found), threshold)
        if (flipped := _flipped(column_counts, threshold, column, arrived, departed, rule)) is not None:
            flips[column] = flipped
    return PlaceholderValues(values=values, thresholds=thresholds), flips


def _flipped(
    counts: pl.DataFrame,
    threshold: int,
    column: str,
    arrived: pl.DataFrame | None,
    departed: pl.DataFrame | None,
    rule: _Rule,
) -> frozenset[str] | None:
    """Values of ``column`` on the other side of the placeholder threshold before the batch.

    Only the batch's values change count; the threshold before comes from today's histogram of
    records-per-value with those values moved, so no million-row table is joined or regrouped.
    """
    changes = [
        _value_counts(frame, column).with_columns(records=sign * pl.col("records"))
        for frame, sign in ((arrived, -1), (departed, 1))
        if frame is not None and not frame.is_empty() and _screened_columns(frame, (column,))
    ]
    if not changes:
        return None
    moved = (
        pl.concat(changes)
        .group_by("value")
        .agg(change=pl.col("records").sum())
        .join(counts, on="value", how="left")
        .select(
            "value",
            now=pl.col("records").fill_null(0),
            then=pl.col("records").fill_null(0) + pl.col("change"),
        )
    )
    histogram = (
        pl.concat(
            [
                counts["records"].value_counts(name="values").cast({"values": pl.Int64}),
                moved.filter(pl.col("now") > 0).select(records="now", values=pl.lit(-1, pl.Int64)),
                moved.filter(pl.col("then") > 0).select(records="then", values=pl.lit(1, pl.Int64)),
            ],
            how="vertical_relaxed",
        )
        .group_by("records")
        .agg(pl.col("values").sum())
        .filter(pl.col("values") > 0)
        .sort("records")
    )
    if histogram.is_empty():
        return None
    threshold_before = rule.threshold(_higher_quantile(histogram, rule.quantile))
    flipped = moved.filter((pl.col("now") >= threshold) != (pl.col("then") >= threshold_before))
    found = set(flipped["value"].to_list())
    if threshold_before != threshold:
        # An unmoved value flips when the threshold moved past its (unchanged) count.
        low, high = sorted((threshold, threshold_before))
        between = counts.filter(pl.col("records").is_between(low, high, closed="left"))
        found |= set(between.join(moved, on="value", how="anti")["value"].to_list())
    return frozenset(found) if found else None


def _higher_quantile(histogram: pl.DataFrame, quantile: float) -> float:
    """``Series.quantile(quantile, interpolation="higher")`` of the values a histogram describes
    (``records`` sorted, ``values`` how many values have that many records)."""
    total = int(histogram["values"].sum())
    position = math.ceil((total - 1) * quantile)
    reached = histogram.with_columns(upto=pl.col("values").cum_sum()).filter(pl.col("upto") > position)
    return float(reached["records"][0]) if reached.height else 1.0


def holding_values(frame: pl.DataFrame, values: Mapping[str, frozenset[str]]) -> pl.Series:
    """Per row of ``frame``: does it hold one of ``values`` in the screened column they belong to?"""
    held = [
        _screened_value(column).is_in(sorted(found))
        for column, found in values.items()
        if found and _screened_columns(frame, (column,))
    ]
    if not held:
        return pl.Series("held", [False] * frame.height, dtype=pl.Boolean)
    return frame.select(held=pl.any_horizontal(held).fill_null(False))["held"]


def _null_placeholders(frame: pl.DataFrame, placeholders: PlaceholderValues) -> pl.DataFrame:
    replacements: list[pl.Expr] = []
    for column in ("national_id_token", "national_id_last4_token", "email", "phone", "date_of_birth"):
        found = placeholders.of(column)
        if found:
            replacements.append(
                pl.when(_screened_value(column).is_in(found))
                .then(None)
                .otherwise(pl.col(column))
                .alias(column)
            )
    addresses = placeholders.of("address")
    if addresses:
        replacements.append(
            pl.when(_screened_value("address").is_in(addresses))
            .then(None)
            .otherwise(pl.col("address_line1"))
            .alias("address_line1")
        )
    return frame.with_columns(replacements) if replacements else frame


def _blank_to_null(column: str) -> pl.Expr:
    text = pl.col(column).cast(pl.String).str.strip_chars()
    return pl.when(text == "").then(None).otherwise(text).alias(column)


def prepare_linkage_input(
    parties: pl.DataFrame, *, placeholders: PlaceholderValues | None = None
) -> pl.DataFrame:
    """Build Splink's input frame from ``std_parties``.

    ``unique_id`` is ``source || ':' || record_id``. Derived columns: the first-name alias group
    (nicknames), the birth date as ``YYYY-MM-DD`` text (so typo and day/month-swap levels can
    compare digits) and the e-mail's local part. When a source maps only ``full_name``, first
    and last names come from its first and last tokens. Placeholder values are nulled first.

    Args:
        parties: ``std_parties`` rows (extra or missing optional columns are fine).
        placeholders: Values to null; detected from ``parties`` when None.

    Returns:
        A frame with exactly ``LINKAGE_COLUMNS``, sorted by ``unique_id``.

    Example:
        >>> parties = pl.DataFrame({"source": ["core"], "record_id": ["7"], "first_name": ["bill"]})
        >>> prepare_linkage_input(parties).select("unique_id", "first_name_groups").row(0)
        ('core:7', ['bill', 'robert', 'will', 'william', 'willis'])
    """
    missing = [
        name
        for name in (
            "first_name",
            "last_name",
            "full_name",
            "date_of_birth",
            "email",
            "phone",
            "address_line1",
            "city",
            "state",
            "postcode",
            "national_id_token",
            "national_id_last4_token",
        )
        if name not in parties.columns
    ]
    frame = parties.with_columns([pl.lit(None, dtype=pl.String).alias(name) for name in missing])
    frame = frame.with_columns(
        [
            _blank_to_null(name)
            for name in (
                "first_name",
                "last_name",
                "full_name",
                "email",
                "phone",
                "address_line1",
                "city",
                "state",
                "postcode",
                "national_id_token",
                "national_id_last4_token",
            )
        ]
        + [pl.col("date_of_birth").cast(pl.Date, strict=False)]
    )
    if placeholders is None:
        placeholders = detect_placeholders(frame)
    frame = _null_placeholders(frame, placeholders)
    full_tokens = pl.col("full_name").str.split(" ")
    frame = frame.with_columns(
        first_name=pl.coalesce(pl.col("first_name"), full_tokens.list.first()),
        last_name=pl.coalesce(
            pl.col("last_name"),
            pl.when(full_tokens.list.len() > 1).then(full_tokens.list.last()).otherwise(None),
        ),
    )
    frame = with_first_name_groups(frame)
    frame = frame.with_columns(
        unique_id=pl.concat_str([pl.col("source"), pl.col("record_id")], separator=":"),
        dob=pl.col("date_of_birth").dt.to_string("%Y-%m-%d"),
        email_local=pl.col("email").str.split("@").list.first(),
    )
    return frame.select([pl.col(name).cast(dtype) for name, dtype in LINKAGE_COLUMNS.items()]).sort(
        "unique_id"
    )
