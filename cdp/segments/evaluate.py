"""Evaluate declared segments over the customer 360 joined with the point-in-time features."""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Sequence

import polars as pl

from cdp.segments.columns import CURRENT_MEMBERSHIP_COLUMNS
from cdp.segments.definitions import SegmentDefinition
from cdp.segments.rules import CompiledRule, compile_rule

log = logging.getLogger(__name__)


def segment_frame(*, customers: pl.DataFrame, features: pl.DataFrame, as_of: dt.date) -> pl.DataFrame:
    """One row per customer of the 360 with its features: what every rule is evaluated on.

    ``age`` is recomputed from ``date_of_birth`` as of ``as_of`` (where the date is known), so a
    backfill or a late run sees the age the customer had on that day. A column present in both
    tables is taken from the features, which are point-in-time.
    """
    shared = [name for name in features.columns if name in customers.columns and name != "customer_id"]
    if shared:
        log.info("columns in both customer_360 and customer_features; point-in-time features win: %s", shared)
    frame = customers.drop(shared).join(features, on="customer_id", how="left")
    if "date_of_birth" in frame.columns:
        dob = pl.col("date_of_birth").cast(pl.Date)
        age = (
            pl.lit(as_of.year)
            - dob.dt.year().cast(pl.Int64)
            - (
                (pl.lit(as_of.month) * 100 + as_of.day) < (dob.dt.month().cast(pl.Int64) * 100 + dob.dt.day())
            ).cast(pl.Int64)
        )
        current = pl.col("age").cast(pl.Int64) if "age" in frame.columns else pl.lit(None, dtype=pl.Int64)
        frame = frame.with_columns(age=pl.coalesce(age, current))
    return frame


def compile_segments(
    segments: Sequence[SegmentDefinition], *, schema: pl.Schema
) -> list[tuple[SegmentDefinition, CompiledRule]]:
    """Check every rule against the real columns; the first bad rule raises ``ConfigError``."""
    return [
        (segment, compile_rule(segment.rule, columns=dict(schema), segment=segment.name))
        for segment in segments
    ]


def evaluate_segments(
    segments: Sequence[SegmentDefinition],
    *,
    customers: pl.DataFrame,
    features: pl.DataFrame,
    as_of: dt.date,
) -> pl.DataFrame:
    """Who is in each segment now.

    Args:
        segments: Definitions, e.g. from :func:`load_segments`.
        customers: ``customer_360``.
        features: ``customer_features`` as of ``as_of``.
        as_of: The evaluation date (ages are computed on it).

    Returns:
        ``segment``, ``segment_version``, ``customer_id``: one row per member, sorted.

    Raises:
        ConfigError: A rule names a column the tables do not have, or is not allowed.

    Example:
        >>> seg = SegmentDefinition("adults", "18+", "me", 1, "age >= 18")
        >>> evaluate_segments([seg], customers=pl.DataFrame({"customer_id": ["a", "b"], "age": [17, 30]}),
        ...                   features=pl.DataFrame({"customer_id": ["a", "b"]}), as_of=dt.date(2024, 1, 1))
        shape: (1, 3)
        ┌─────────┬─────────────────┬─────────────┐
        │ segment ┆ segment_version ┆ customer_id │
        │ ---     ┆ ---             ┆ ---         │
        │ str     ┆ i64             ┆ str         │
        ╞═════════╪═════════════════╪═════════════╡
        │ adults  ┆ 1               ┆ b           │
        └─────────┴─────────────────┴─────────────┘
    """
    frame = segment_frame(customers=customers, features=features, as_of=as_of)
    compiled = compile_segments(segments, schema=frame.schema)
    empty = pl.DataFrame(schema=dict(CURRENT_MEMBERSHIP_COLUMNS))
    if not compiled:
        return empty
    # All rules in one select, so Polars evaluates them in parallel over a single pass.
    flags = frame.select(
        "customer_id", *[rule.predicate.alias(str(index)) for index, (_, rule) in enumerate(compiled)]
    )
    names = pl.DataFrame(
        {
            "index": [str(index) for index in range(len(compiled))],
            "segment": [segment.name for segment, _ in compiled],
            "segment_version": [segment.version for segment, _ in compiled],
        },
        schema={"index": pl.String, "segment": pl.String, "segment_version": pl.Int64},
    )
    members = (
        flags.unpivot(index="customer_id", variable_name="index", value_name="member")
        .filter(pl.col("member"))
        .join(names, on="index", how="inner")
        .select(list(CURRENT_MEMBERSHIP_COLUMNS))
        .unique()
        .sort("segment", "customer_id")
    )
    log.info("evaluated %d segments as of %s: %d memberships", len(compiled), as_of, members.height)
    return pl.concat([empty, members], how="vertical_relaxed")
