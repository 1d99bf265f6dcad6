"""Re-weigh stored edges for today's population, as a full run would score them.

An edge scored on an earlier day carries that day's term frequencies (how common a first name,
email or postcode was then) and that day's prior (which falls as the population grows). A daily
run reuses the edges between unchanged records, so without this step their weights drift away
from what a full refresh gives, and a pair close to the threshold can end up on the other side.
The comparison levels (``gamma_*``) do not change while neither record changes, so the match
weights can be recomputed exactly from the model and the current term frequencies, without
comparing the records again. The arithmetic is Splink's (``ComparisonLevel._tf_adjustment_sql``):

    mw = log2(m / u) + w * (log2(u_exact) - log2(max(tf_l, tf_r, tf_minimum_u_value)))
    match_weight = log2(prior / (1 - prior)) + sum of mw over comparisons
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass

import polars as pl
from splink.internals.settings_creator import SettingsCreator

from cdp.identity.graph import key_hash
from cdp.resolve.predict import SPLINK_REASON


@dataclass(frozen=True)
class _Level:
    comparison: str
    gamma: int
    log2_bayes_factor: float
    tf_column: str | None = None
    tf_weight: float = 0.0
    tf_minimum: float = 0.0
    log2_u_exact: float = 0.0


def _levels(model_json: str) -> tuple[float, list[_Level]]:
    settings = SettingsCreator.from_path_or_dict(json.loads(model_json)).get_settings("duckdb")
    prior = float(settings._probability_two_random_records_match)
    levels: list[_Level] = []
    for comparison in settings.comparisons:
        for level in comparison.comparison_levels:
            if level.is_null_level:
                continue
            name = comparison.output_column_name
            if level._has_tf_adjustments and level._tf_adjustment_weight:
                u_exact = level._u_probability_corresponding_to_exact_match(comparison.comparison_levels)
                levels.append(
                    _Level(
                        name,
                        level.comparison_vector_value,
                        level._log2_bayes_factor,
                        level._tf_adjustment_input_column_name,
                        float(level._tf_adjustment_weight),
                        float(level._tf_minimum_u_value),
                        math.log2(u_exact),
                    )
                )
            else:
                levels.append(_Level(name, level.comparison_vector_value, level._log2_bayes_factor))
    return math.log2(prior / (1 - prior)), levels


def _with_term_frequencies(edges: pl.LazyFrame, prepared: pl.DataFrame, columns: list[str]) -> pl.LazyFrame:
    """``edges`` with ``_tf_<column>_l`` and ``_r``: each endpoint's term frequency, in edge order.

    One pass over the population gives every record the frequency of each of its values. Records
    are joined by a 64-bit hash of their key, a third faster than joining the two key strings; if
    two keys of the population ever share a hash, the strings are joined instead.
    """
    frequencies = [
        pl.when(pl.col(column).is_not_null())
        .then(pl.len().over(column) / pl.col(column).count())
        .alias(f"_tf_{column}")
        for column in columns
    ]
    # Lazy on purpose: the eager engine divides by the count's reciprocal, one bit away from the
    # quotient Splink's SQL computes (and a full run's weights).
    lookup = prepared.lazy().select(key_hash("source", "record_id").alias("_key"), *frequencies).collect()
    by_hash = lookup["_key"].n_unique() == lookup.height
    if not by_hash:
        lookup = pl.concat([prepared.select("source", "record_id"), lookup.drop("_key")], how="horizontal")
    for side in ("l", "r"):
        names = {f"_tf_{column}": f"_tf_{column}_{side}" for column in columns}
        if by_hash:
            edges = (
                edges.with_columns(_key=key_hash(f"source_{side}", f"record_id_{side}"))
                .join(lookup.lazy().rename(names), on="_key", how="left", maintain_order="left")
                .drop("_key")
            )
        else:
            edges = edges.join(
                lookup.lazy().rename({"source": f"source_{side}", "record_id": f"record_id_{side}", **names}),
                on=[f"source_{side}", f"record_id_{side}"],
                how="left",
                maintain_order="left",
            )
    return edges


def reweigh_edges(edges: pl.DataFrame, prepared: pl.DataFrame, *, model_json: str) -> pl.DataFrame:
    """``edges`` with match weights and probabilities recomputed for the ``prepared`` population.

    Args:
        edges: ``identity_edges`` rows (``gamma_*`` and ``mw_*`` columns of the model).
        prepared: today's Splink input (:func:`cdp.resolve.prepare.prepare_linkage_input`) of every
            record, the edges' endpoints included.
        model_json: the model to weigh with (its prior already scaled to the population).

    Returns:
        The same rows in the same order; deterministic links keep probability 1.
    """
    if edges.is_empty():
        return edges
    prior_weight, levels = _levels(model_json)
    comparisons = sorted({level.comparison for level in levels})
    if any(f"gamma_{name}" not in edges.columns for name in comparisons):
        return edges
    tf_columns = sorted({level.tf_column for level in levels if level.tf_column})
    frame = edges.lazy()
    if tf_columns:
        frame = _with_term_frequencies(frame, prepared, tf_columns)
    weights = []
    for name in comparisons:
        gamma = pl.col(f"gamma_{name}")
        weight = pl.col(f"mw_{name}")
        for level in (level for level in levels if level.comparison == name):
            if level.tf_column is None:
                value = pl.lit(level.log2_bayes_factor)
            else:
                left, right = pl.col(f"_tf_{level.tf_column}_l"), pl.col(f"_tf_{level.tf_column}_r")
                largest = pl.max_horizontal(left, right, pl.lit(level.tf_minimum))
                adjustment = pl.when(left.is_not_null() | right.is_not_null()).then(
                    level.tf_weight * (level.log2_u_exact - largest.log(2))
                )
                value = level.log2_bayes_factor + adjustment.otherwise(0.0)
            weight = pl.when(gamma == level.gamma).then(value).otherwise(weight)
        weights.append(pl.when(gamma == -1).then(None).otherwise(weight).alias(f"mw_{name}"))
    frame = frame.with_columns(weights)
    total = pl.lit(prior_weight) + pl.sum_horizontal(
        [pl.col(f"mw_{name}").fill_null(0.0) for name in comparisons]
    )
    probability = (2.0**total) / (1.0 + 2.0**total)
    is_model = pl.col("match_reason") == SPLINK_REASON
    # A deterministic link the model never scored has no comparison levels and no weight.
    scored = pl.any_horizontal([pl.col(f"gamma_{name}").is_not_null() for name in comparisons])
    return (
        frame.with_columns(
            match_weight=pl.when(scored).then(total).otherwise(pl.col("match_weight")),
            match_probability=pl.when(is_model).then(probability).otherwise(pl.col("match_probability")),
        )
        .select(edges.columns)
        .collect()
    )


#: A value whose term-frequency adjustment rose by more than this many bits in one batch (its count
#: fell: records holding it changed or left) has its holders scored again. Edges are kept down to
#: one bit below the review band (``ClusteringPolicy.edge_floor``); a pair never stored moves only
#: with the weights, so this leaves most of that bit for the slow drift of a growing population.
TERM_FREQUENCY_JUMP_BITS = 0.25


def term_frequency_jumps(
    prepared: pl.DataFrame,
    *,
    arrived: pl.DataFrame,
    departed: pl.DataFrame,
    model_json: str,
    min_bits: float = TERM_FREQUENCY_JUMP_BITS,
) -> dict[str, frozenset[str]]:
    """Values whose term-frequency adjustment rose by more than ``min_bits`` with the batch.

    Only stored edges are re-weighed (:func:`reweigh_edges`). A pair scored below the edge floor
    on an earlier day is not stored, so when a value the two records share becomes rarer (two of
    the three holders of an e-mail address left: +1.6 bits) the pair can rise into the review band
    or over the threshold unseen. Its holders are scored again, as a full run would score them.

    Args:
        prepared: today's prepared linkage input of every record.
        arrived: keys (``source``, ``record_id``) of the new and changed records.
        departed: the previous prepared rows of the changed and removed records.
        model_json: the model, for its term-frequency columns, weights and minimum.
        min_bits: the rise of the adjustment that counts as a jump.

    Returns:
        Per prepared column, the values held by at least two records today whose adjustment rose
        by more than ``min_bits`` (columns without one are left out).
    """
    _, levels = _levels(model_json)
    weights: dict[str, tuple[float, float]] = {}
    for level in levels:
        if level.tf_column and level.tf_weight > 0:
            weight, minimum = weights.get(level.tf_column, (0.0, 1.0))
            weights[level.tf_column] = (max(weight, level.tf_weight), min(minimum, level.tf_minimum))
    if departed.is_empty():
        return {}
    arrived_rows = prepared.join(
        arrived.select("source", "record_id"), on=["source", "record_id"], how="semi"
    )
    jumps: dict[str, frozenset[str]] = {}
    for column, (weight, minimum) in sorted(weights.items()):
        if column not in prepared.columns or column not in departed.columns:
            continue
        left = (
            departed.select(pl.col(column).alias("value")).drop_nulls().group_by("value").agg(left=pl.len())
        )
        if left.is_empty():
            continue
        came = (
            arrived_rows.select(pl.col(column).alias("value"))
            .drop_nulls()
            .group_by("value")
            .agg(came=pl.len())
        )
        fell = (
            left.join(came, on="value", how="left")
            .with_columns(change=pl.col("came").fill_null(0).cast(pl.Int64) - pl.col("left").cast(pl.Int64))
            .filter(pl.col("change") < 0)
        )
        if fell.is_empty():
            continue
        held = (
            prepared.select(pl.col(column).alias("value"))
            .filter(pl.col("value").is_in(fell["value"].implode()))
            .group_by("value")
            .agg(now=pl.len().cast(pl.Int64))
            .filter(pl.col("now") >= 2)
        )
        holders_now = prepared[column].count()
        holders_then = holders_now - came["came"].sum() + left["left"].sum()
        if held.is_empty() or holders_now == 0 or holders_then <= 0:
            continue
        tf_now = pl.max_horizontal(pl.col("now") / holders_now, pl.lit(minimum))
        tf_then = pl.max_horizontal((pl.col("now") - pl.col("change")) / holders_then, pl.lit(minimum))
        risen = held.join(fell, on="value").filter(weight * (tf_then.log(2) - tf_now.log(2)) > min_bits)
        if not risen.is_empty():
            jumps[column] = frozenset(risen["value"].to_list())
    return jumps


def drift_growth_limit(
    model_json: str, *, margin_bits: float, jump_bits: float = TERM_FREQUENCY_JUMP_BITS
) -> float | None:
    """How many times larger the population may grow since every pair was last scored, before a
    pair kept below the edge floor could have drifted into the review band; None: never.

    As the population grows, a value held by the same few records gets rarer: each comparison
    that agrees on it with a term-frequency adjustment gains ``log2(growth)`` times its weight,
    while the prior loses ``log2(growth)``. A pair agreeing on such values in every adjusted
    comparison rises by ``(sum of weights - 1) * log2(growth)``. One day's sharper rise, up to
    ``jump_bits`` (:func:`term_frequency_jumps` rescores beyond that), comes on top.

    Example:
        >>> import json
        >>> model = json.dumps({"link_type": "dedupe_only", "probability_two_random_records_match": 0.01,
        ...     "comparisons": [], "blocking_rules_to_generate_predictions": []})
        >>> drift_growth_limit(model, margin_bits=1.0) is None
        True
    """
    _, levels = _levels(model_json)
    weights: dict[str, float] = {}
    for level in levels:
        if level.tf_column:
            weights[level.comparison] = max(weights.get(level.comparison, 0.0), level.tf_weight)
    slope = sum(weights.values()) - 1.0
    if slope <= 0 or margin_bits <= jump_bits:
        return None if slope <= 0 else 1.0
    return float(2.0 ** ((margin_bits - jump_bits) / slope))
