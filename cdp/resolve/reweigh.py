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

import functools
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


@functools.lru_cache(maxsize=4)
def _levels(model_json: str) -> tuple[float, tuple[_Level, ...]]:
    # Cached: building Splink's settings takes ~0.13 s, and a daily run reads the same model
    # three times (re-weighing, the records to score again, the drift since the full scoring).
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
    return math.log2(prior / (1 - prior)), tuple(levels)


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


#: A record whose pairs may have gained more than this many bits of match weight since it was last
#: scored (the values it holds became rarer, or the population shrank) is scored again. Edges are
#: kept down to one bit below the review band (``ClusteringPolicy.edge_floor``); a pair never stored
#: moves only with the weights, so this leaves most of that bit for the slow drift of a growing
#: population.
TERM_FREQUENCY_JUMP_BITS = 0.25


def _term_frequency_weights(model_json: str) -> dict[str, dict[str, tuple[float, float]]]:
    """Per comparison, per prepared column it adjusts for term frequency: the largest weight and
    the smallest minimum (a pair takes one level of each comparison, so one of its columns)."""
    _, levels = _levels(model_json)
    weights: dict[str, dict[str, tuple[float, float]]] = {}
    for level in levels:
        if level.tf_column and level.tf_weight > 0:
            columns = weights.setdefault(level.comparison, {})
            weight, minimum = columns.get(level.tf_column, (0.0, 1.0))
            columns[level.tf_column] = (max(weight, level.tf_weight), min(minimum, level.tf_minimum))
    return weights


#: Columns of :attr:`RecordDrift.carried`.
DRIFT_COLUMNS = {"unique_id": pl.String(), "bits": pl.Float64()}


def no_drift() -> pl.DataFrame:
    """A :attr:`RecordDrift.carried` frame with no record."""
    return pl.DataFrame(schema=DRIFT_COLUMNS)


@dataclass(frozen=True)
class RecordDrift:
    """What a batch did to the pairs of the records it did not bring.

    Attributes:
        risen: ``source``, ``record_id`` of the records to score again: their pairs may have
            gained more than the allowed bits since the record was last scored.
        carried: ``unique_id``, ``bits``: for every other record whose own values became rarer
            since it was last scored, how much its pairs may have gained by that so far (only
            rows above 0). The next run adds its batch's rise to it.
    """

    risen: pl.DataFrame
    carried: pl.DataFrame


def risen_records(
    prepared: pl.DataFrame,
    *,
    arrived: pl.DataFrame,
    departed: pl.DataFrame,
    model_json: str,
    carried: pl.DataFrame | None = None,
    min_bits: float = TERM_FREQUENCY_JUMP_BITS,
) -> RecordDrift:
    """Records whose pairs may have gained more than ``min_bits`` of match weight since they were
    last scored, and what the others have gained so far.

    Only stored edges are re-weighed (:func:`reweigh_edges`). A pair scored below the edge floor
    on an earlier day is not stored, so when a value the two records share becomes rarer (two of
    the three holders of an e-mail address left: +1.6 bits), or a column is filled in on many
    records (every value of it gets rarer), or the population shrinks (the prior rises), the pair
    can rise into the review band or over the threshold unseen. A pair agrees on at most the
    values one of its records holds, so per record the bound is, per comparison, the largest rise
    of a value it holds, summed over the comparisons. That rise has two parts:

    - the value's own count falling (holders of it left): this adds up over the days since the
      record was scored, in ``carried``, so a value that loses a holder a day is caught as surely
      as one that loses them all at once;
    - the column's filled-in total growing, and the prior rising, which every holder shares: today's
      is added here, and their slow drift with the population's size is bounded by
      :func:`population_drift_bits`.

    A record over ``min_bits`` is scored again, as a full run would score its pairs.

    Args:
        prepared: today's prepared linkage input of every record.
        arrived: keys (``source``, ``record_id``) of the new and changed records.
        departed: the previous prepared rows of the changed and removed records.
        model_json: the model, for its term-frequency columns, weights and minimum.
        carried: the last run's :attr:`RecordDrift.carried` (None: nothing carried).
        min_bits: the rise that calls for scoring a record again.

    Returns:
        The records to score again (new and changed ones included, if any) and the drift carried
        by every other record, new and changed ones included (the caller drops those it scores).
    """
    keys = ["source", "record_id"]
    carried = no_drift() if carried is None else carried
    if departed.is_empty() and arrived.is_empty():
        return RecordDrift(prepared.select(keys).clear(), carried)
    arrived_rows = prepared.join(arrived.select(keys), on=keys, how="semi")
    records_now = prepared.height
    records_then = records_now - arrived_rows.height + departed.height
    # The prior scales as 1 / (records - 1), for every pair alike: it falls as the population grows.
    prior_rise = math.log2(max(records_then - 1, 1) / max(records_now - 1, 1))
    own: list[pl.Expr] = []
    shared: list[pl.Expr] = []
    weights = _term_frequency_weights(model_json)
    for comparison in sorted(weights):
        rises = [
            rise
            for column, (weight, minimum) in sorted(weights[comparison].items())
            if (rise := _value_rise(prepared, arrived_rows, departed, column, weight, minimum)) is not None
        ]
        if rises:
            own.append(pl.max_horizontal([by_count for by_count, _ in rises]))
            shared.append(pl.max_horizontal([by_total for _, by_total in rises]))
    frame = prepared.lazy().select(
        *keys,
        "unique_id",
        _own=pl.sum_horizontal(own) if own else pl.lit(0.0),
        # A falling prior is not counted against the rise: population_drift_bits already sets it
        # against the term frequencies' growth.
        _shared=(pl.sum_horizontal(shared) if shared else pl.lit(0.0)) + max(prior_rise, 0.0),
    )
    if carried.height:
        frame = frame.join(carried.lazy(), on="unique_id", how="left", maintain_order="left")
    else:
        frame = frame.with_columns(bits=pl.lit(None, pl.Float64))
    accumulated = pl.col("bits").fill_null(0.0) + pl.col("_own")
    scored = frame.select(
        *keys, "unique_id", bits=accumulated, risen=accumulated + pl.col("_shared") > min_bits
    ).collect()
    return RecordDrift(
        risen=scored.filter("risen").select(keys),
        carried=scored.filter(~pl.col("risen") & (pl.col("bits") > 0)).select(list(DRIFT_COLUMNS)),
    )


def _value_rise(
    prepared: pl.DataFrame,
    arrived_rows: pl.DataFrame,
    departed: pl.DataFrame,
    column: str,
    weight: float,
    minimum: float,
) -> tuple[pl.Expr, pl.Expr] | None:
    """Per record, how much its value of ``column`` gained as agreement evidence with the batch,
    in two parts: by the value's own count (the records holding it), and by the column's
    filled-in total (every holder alike). Each is 0 when it lost, or the record has no value;
    None when the column is not in the input.

    Their sum bounds the whole rise: with ``H`` the column's non-null records and ``m`` the
    term-frequency minimum, ``max(then / H_then, m) <= max(then / H_now, m) * H_now / H_then``
    when the column grew, and ``<= max(then / H_now, m)`` when it shrank.
    """
    if column not in prepared.columns or column not in departed.columns:
        return None
    left = departed.select(pl.col(column).alias("value")).drop_nulls().group_by("value").agg(left=pl.len())
    came = (
        arrived_rows.select(pl.col(column).alias("value")).drop_nulls().group_by("value").agg(came=pl.len())
    )
    holders_now = prepared[column].count()
    holders_then = holders_now - came["came"].sum() + left["left"].sum()
    if holders_now == 0 or holders_then <= 0:
        return None
    held = pl.col(column).is_not_null()
    by_total = pl.when(held).then(max(0.0, weight * math.log2(holders_now / holders_then))).otherwise(0.0)
    moved = left.join(came, on="value", how="full", coalesce=True).select(
        "value",
        change=pl.col("came").fill_null(0).cast(pl.Int64) - pl.col("left").fill_null(0).cast(pl.Int64),
    )
    counted = (
        prepared.select(pl.col(column).alias("value"))
        .filter(pl.col("value").is_in(moved["value"].implode()))
        .group_by("value")
        .agg(now=pl.len().cast(pl.Int64))
        .join(moved, on="value")
    )
    tf_now = pl.max_horizontal(pl.col("now") / holders_now, pl.lit(minimum))
    tf_then = pl.max_horizontal((pl.col("now") - pl.col("change")) / holders_now, pl.lit(minimum))
    # A value held by one record today agrees with nobody: no pair gains by it.
    rise = pl.when((pl.col("now") >= 2) & (pl.col("now") > pl.col("change"))).then(
        weight * (tf_then.log(2) - tf_now.log(2))
    )
    by_value = counted.select("value", rise=rise.fill_null(0.0))
    by_count = pl.col(column).replace_strict(
        by_value["value"], by_value["rise"], default=0.0, return_dtype=pl.Float64
    )
    return pl.when(held).then(by_count.clip(lower_bound=0.0)).otherwise(0.0), by_total


def population_drift_bits(
    populations: list[int], records: int, model_json: str, *, prior_scales: bool
) -> float:
    """How far a pair kept below the edge floor may have risen since it was scored, from the
    population's size alone, given the sizes of every run since the last full scoring.

    As the population grows, a value held by the same few records gets rarer: each comparison
    agreeing on it with a term-frequency adjustment gains ``log2(growth)`` times its weight, while
    the prior (when it scales with the population) loses ``log2(growth)``. As it shrinks, a pair
    agreeing on no such value gains what the prior gains. A pair was scored on one of those runs,
    so the bound is the larger of the two, from the smallest and the largest size.

    Args:
        populations: party records of the last full scoring and of every run since (not empty).
        records: party records today.
        model_json: the model, for its term-frequency weights.
        prior_scales: whether the prior is rescaled to the population (``ModelVersion.trained_records``).

    Example:
        >>> import json
        >>> model = json.dumps({"link_type": "dedupe_only", "probability_two_random_records_match": 0.01,
        ...     "comparisons": [], "blocking_rules_to_generate_predictions": []})
        >>> population_drift_bits([1000], 2000, model, prior_scales=True), population_drift_bits(
        ...     [1000, 2000], 1000, model, prior_scales=True)
        (0.0, 1.0)
    """
    smallest, largest = min(populations), max(populations)
    if smallest <= 0 or records <= 0:
        return math.inf
    weights = _term_frequency_weights(model_json)
    prior = 1.0 if prior_scales else 0.0
    slope = sum(max(weight for weight, _ in columns.values()) for columns in weights.values()) - prior
    grown = max(0.0, slope) * max(0.0, math.log2(records / smallest))
    shrunk = prior * max(0.0, math.log2(largest / records))
    return max(grown, shrunk)
