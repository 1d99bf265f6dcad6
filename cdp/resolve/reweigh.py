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
from cdp.identity.model import EDGE_FLOOR_MARGIN_BITS
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
    exact: bool = True


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
                        bool(level._is_exact_match),
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


def drift_bounds_exact(model_json: str) -> bool:
    """Whether :func:`risen_records` and :func:`population_drift_bits` bound the drift of pairs
    never stored exactly for this model: every term-frequency adjustment sits on an exact-match
    level (both records of an agreeing pair hold the value) with no term-frequency minimum (which
    would clamp the frequencies). Splink's defaults and the shipped model meet both."""
    _, levels = _levels(model_json)
    return all(level.exact and level.tf_minimum == 0 for level in levels if level.tf_column)


#: A record whose own values' rise since it was last scored (other holders left: the values became
#: rarer) may have lifted its pairs by more than this many bits is scored again. Edges are kept down
#: to one bit below the review band (``ClusteringPolicy.edge_floor``); a pair never stored moves
#: only with the weights, so the rest of that bit is left for what every pair shares
#: (:data:`POPULATION_DRIFT_BITS`).
TERM_FREQUENCY_JUMP_BITS = 0.25
#: What the population's changes may lift every pair below the edge floor by, since it was scored,
#: before everything is scored again (:func:`population_drift_bits`): the rest of the margin.
POPULATION_DRIFT_BITS = EDGE_FLOOR_MARGIN_BITS - TERM_FREQUENCY_JUMP_BITS


def _term_frequency_weights(model_json: str) -> dict[str, dict[str, float]]:
    """Per comparison, per prepared column it adjusts for term frequency: the largest weight (a
    pair takes one level of each comparison, so one of its columns)."""
    _, levels = _levels(model_json)
    weights: dict[str, dict[str, float]] = {}
    for level in levels:
        if level.tf_column and level.tf_weight > 0:
            columns = weights.setdefault(level.comparison, {})
            columns[level.tf_column] = max(columns.get(level.tf_column, 0.0), level.tf_weight)
    return weights


#: Below this, a carried rise is rounding left over from a count that went down and back up.
_NO_BITS = 1e-9


def no_drift() -> pl.DataFrame:
    """A :attr:`RecordDrift.carried` frame with no record."""
    return pl.DataFrame(schema={"unique_id": pl.String()})


@dataclass(frozen=True)
class RecordDrift:
    """What a batch did to the pairs of the records it did not bring.

    Attributes:
        risen: ``source``, ``record_id`` of the records to score again: their pairs may have
            gained more than the allowed bits since the record was last scored.
        carried: ``unique_id`` and, per comparison of the model, ``bits_<comparison>``: for every
            other record whose own values became rarer since it was last scored, the most its
            pairs may have gained by that, per comparison, so far (only rows above 0). The next
            run carries it on with its batch.
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
    last scored, by their own values becoming rarer, and what the others have gained so far.

    Only stored edges are re-weighed (:func:`reweigh_edges`). A pair scored below the edge floor
    on an earlier day is not stored, so when a value the two records share becomes rarer (two of
    the three holders of an e-mail address left: +1.6 bits), the pair can rise into the review
    band or over the threshold unseen. With the model's term-frequency adjustment, agreeing on a
    value weighs ``w * (log2(u_exact) - log2(count / holders))``: it moves with the value's
    ``count`` and with its column's non-null ``holders``. This function bounds the first part;
    the second, shared by every pair agreeing on the column, and the prior are bounded for the
    whole population (:func:`population_drift_bits`).

    Per record and comparison, a batch moves the value it holds by ``w * log2(count before /
    count after)`` bits (the largest over the comparison's columns). Carried from run to run as
    ``max(0, carried + today's)``, that is the most the value rose from its lowest point since the
    record was scored: at least what it rose since any later day, when one of its pairs may have
    been scored. So a value that loses a holder a day is caught as surely as one that loses them
    all at once, while one that loses and regains holders is not counted twice. The term-frequency
    levels are exact matches (both records of an agreeing pair hold the value), so a pair gains
    at most the sum over comparisons of one of its records' bits: a record over ``min_bits`` is
    scored again, as a full run would score its pairs.

    Args:
        prepared: today's prepared linkage input of every record.
        arrived: keys (``source``, ``record_id``) of the new and changed records.
        departed: the previous prepared rows of the changed and removed records.
        model_json: the model, for its term-frequency columns and weights.
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
    weights = _term_frequency_weights(model_json)
    today: dict[str, pl.Expr] = {}
    for comparison in sorted(weights):
        by_column = [
            rise
            for column, weight in sorted(weights[comparison].items())
            if (rise := _value_rise(prepared, arrived_rows, departed, column, weight)) is not None
        ]
        if by_column:
            today[comparison] = pl.max_horizontal(by_column)
    frame = prepared.lazy().select(
        *keys, "unique_id", **{f"_today_{name}": rise for name, rise in today.items()}
    )
    joined = set(carried.columns) if carried.height else set()
    if joined:
        frame = frame.join(carried.lazy(), on="unique_id", how="left", maintain_order="left")
    bits = {
        f"bits_{name}": pl.max_horizontal(
            pl.lit(0.0),
            (pl.col(f"bits_{name}").fill_null(0.0) if f"bits_{name}" in joined else pl.lit(0.0))
            + pl.col(f"_today_{name}"),
        )
        for name in today
    }
    total = pl.sum_horizontal(list(bits.values())) if bits else pl.lit(0.0)
    scored = frame.select(*keys, "unique_id", _total=total, **bits).collect()
    return RecordDrift(
        risen=scored.filter(pl.col("_total") > min_bits).select(keys),
        carried=scored.filter((pl.col("_total") > _NO_BITS) & (pl.col("_total") <= min_bits)).select(
            "unique_id", *bits
        ),
    )


def _value_rise(
    prepared: pl.DataFrame, arrived_rows: pl.DataFrame, departed: pl.DataFrame, column: str, weight: float
) -> pl.Expr | None:
    """Per record, how much its value of ``column`` gained as agreement evidence by its own count
    moving with the batch: negative when the count grew, 0 when it did not move, the record has
    no value, or no pair can agree on it (it had no holder before, or has one now); None when
    the column is not in the input."""
    if column not in prepared.columns or column not in departed.columns:
        return None
    left = departed.select(pl.col(column).alias("value")).drop_nulls().group_by("value").agg(left=pl.len())
    came = (
        arrived_rows.select(pl.col(column).alias("value")).drop_nulls().group_by("value").agg(came=pl.len())
    )
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
    rise = pl.when((pl.col("now") >= 2) & (pl.col("now") > pl.col("change"))).then(
        weight * ((pl.col("now") - pl.col("change")) / pl.col("now")).log(2)
    )
    by_value = counted.select("value", rise=rise.fill_null(0.0))
    by_count = pl.col(column).replace_strict(
        by_value["value"], by_value["rise"], default=0.0, return_dtype=pl.Float64
    )
    return pl.when(pl.col(column).is_not_null()).then(by_count).otherwise(0.0)


def population_profile(prepared: pl.DataFrame, model_json: str) -> pl.DataFrame:
    """One row describing a scored population for :func:`population_drift_bits`: its ``records``,
    the model's prior (``prior_bits``, log2 odds, as scaled to this population) and, per column the
    model adjusts for term frequency, how many records hold a value in it (``holders_<column>``)."""
    prior_bits, _ = _levels(model_json)
    columns = sorted(
        {column for by_column in _term_frequency_weights(model_json).values() for column in by_column}
    )
    return pl.DataFrame(
        {
            "records": [prepared.height],
            "prior_bits": [prior_bits],
            **{
                f"holders_{column}": [prepared[column].count() if column in prepared.columns else 0]
                for column in columns
            },
        },
        schema={
            "records": pl.Int64(),
            "prior_bits": pl.Float64(),
            **{f"holders_{column}": pl.Int64() for column in columns},
        },
    )


def population_drift_bits(scored: pl.DataFrame, today: pl.DataFrame, model_json: str) -> float:
    """How far any pair kept below the edge floor may have risen since it was scored, by what every
    pair shares: the prior, and the non-null totals of the term-frequency columns.

    A pair last scored on run ``t`` weighs today, for a value it agrees on with a term-frequency
    adjustment, ``w * log2(holders now / holders at t)`` more (a column filled in on more records
    makes each value rarer; its own count moving is :func:`risen_records`' part), and the prior's
    change more. Per comparison a pair agrees on one column at most, or none. The bound is the
    largest, over the runs since the last full scoring, of the prior's change plus, per comparison,
    the largest column rise (or 0). Exact for the model's arithmetic when no term-frequency minimum
    clamps the frequencies (Splink's default; the shipped model sets none).

    Args:
        scored: :func:`population_profile` of the last full scoring and of every run since.
        today: :func:`population_profile` of today's population.
        model_json: the model, for its term-frequency weights.

    Returns:
        The bound in bits (0 when nothing rose; infinite when a column's count is missing).

    Example:
        >>> import json
        >>> model = json.dumps({"link_type": "dedupe_only", "probability_two_random_records_match": 0.01,
        ...     "comparisons": [], "blocking_rules_to_generate_predictions": []})
        >>> then = population_profile(pl.DataFrame({"first_name": ["a"]}), model)
        >>> population_drift_bits(then.with_columns(prior_bits=pl.col("prior_bits") - 1), then, model)
        1.0
    """
    weights = _term_frequency_weights(model_json)
    now = today.row(0, named=True)
    worst = 0.0
    for then in scored.iter_rows(named=True):
        bits = float(now["prior_bits"]) - float(then["prior_bits"])
        for columns in weights.values():
            rises = [0.0]
            for column, weight in columns.items():
                name = f"holders_{column}"
                if then.get(name) is None or now.get(name) is None:
                    return math.inf
                # Nobody held a value in the column then (no pair agreed on it) or now (none does).
                if then[name] > 0 and now[name] > 0:
                    rises.append(weight * math.log2(now[name] / then[name]))
            bits += max(rises)
        worst = max(worst, bits)
    return worst
