"""Score record pairs with a trained model and shape them into ``identity_edges``.

Edges are one row per unordered pair with ``(source_l, record_id_l) < (source_r, record_id_r)``,
sorted, so the same inputs always give the same table. Each comparison contributes an
``mw_<name>`` column (its match weight including any term-frequency adjustment; null where the
comparison had nothing to compare) and a ``gamma_<name>`` level.
"""

from __future__ import annotations

import json
import logging
from typing import TYPE_CHECKING

import polars as pl
from splink import Linker

from cdp.resolve.dialects import dialect_of, linker_settings
from cdp.resolve.prepare import detect_placeholders, prepare_linkage_input
from cdp.resolve.train import register_input

if TYPE_CHECKING:
    from splink.internals.splink_dataframe import SplinkDataFrame

    from cdp.engine import LinkageEngine
    from cdp.resolve.prepare import PlaceholderValues

log = logging.getLogger(__name__)

KEY_COLUMNS: tuple[str, ...] = ("source_l", "record_id_l", "source_r", "record_id_r")
SPLINK_REASON = "splink"
DETERMINISTIC_REASON = "national_id_and_dob"


def comparison_names_of(model_json: str) -> list[str]:
    """Comparison names in a model file, in model order."""
    return [comparison["output_column_name"] for comparison in json.loads(model_json)["comparisons"]]


def tf_columns_of(model_json: str) -> list[str]:
    """Input columns a model applies term-frequency adjustments on."""
    columns: list[str] = []
    for comparison in json.loads(model_json)["comparisons"]:
        for level in comparison["comparison_levels"]:
            column = level.get("tf_adjustment_column")
            if column and column not in columns:
                columns.append(column)
    return columns


def edges_schema(comparisons: list[str]) -> dict[str, pl.DataType]:
    """The ``identity_edges`` columns for a model with these comparisons."""
    schema: dict[str, pl.DataType] = {name: pl.String() for name in KEY_COLUMNS}
    schema |= {"match_probability": pl.Float64(), "match_weight": pl.Float64(), "match_reason": pl.String()}
    schema |= {f"mw_{name}": pl.Float64() for name in comparisons}
    schema |= {f"gamma_{name}": pl.Int8() for name in comparisons}
    return schema


def _split_key(column: str, side: str) -> list[pl.Expr]:
    parts = pl.col(column).str.splitn(":", 2)
    return [
        parts.struct.field("field_0").alias(f"source_{side}"),
        parts.struct.field("field_1").alias(f"record_id_{side}"),
    ]


def _left_after_right() -> pl.Expr:
    return (pl.col("source_l") > pl.col("source_r")) | (
        (pl.col("source_l") == pl.col("source_r")) & (pl.col("record_id_l") > pl.col("record_id_r"))
    )


def _to_polars(frame: SplinkDataFrame, columns: list[str]) -> pl.DataFrame:
    if hasattr(frame, "as_duckdbpyrelation"):
        relation = frame.as_duckdbpyrelation()
        present = [column for column in columns if column in relation.columns]
        return relation.select(*present).pl()
    pandas_frame = frame.as_pandas_dataframe()
    return pl.from_pandas(pandas_frame[[column for column in columns if column in pandas_frame.columns]])


def format_edges(raw: pl.DataFrame, comparisons: list[str]) -> pl.DataFrame:
    """Splink prediction columns -> ``identity_edges`` (ordered keys, null weights where no data)."""
    schema = edges_schema(comparisons)
    if raw.is_empty():
        return pl.DataFrame(schema=schema)
    frame = raw.with_columns(_split_key("unique_id_l", "l") + _split_key("unique_id_r", "r"))
    weights = []
    for name in comparisons:
        weight = pl.col(f"mw_{name}") if f"mw_{name}" in frame.columns else pl.lit(0.0)
        if f"mw_tf_adj_{name}" in frame.columns:
            weight = weight + pl.col(f"mw_tf_adj_{name}").fill_null(0.0)
        gamma = pl.col(f"gamma_{name}")
        weights.append(pl.when(gamma == -1).then(None).otherwise(weight).cast(pl.Float64).alias(f"mw_{name}"))
    frame = frame.with_columns(weights, match_reason=pl.lit(SPLINK_REASON))
    swap = _left_after_right()
    frame = frame.with_columns(
        [
            pl.when(swap).then(pl.col(f"{k}_r")).otherwise(pl.col(f"{k}_l")).alias(f"{k}_l")
            for k in ("source", "record_id")
        ]
        + [
            pl.when(swap).then(pl.col(f"{k}_l")).otherwise(pl.col(f"{k}_r")).alias(f"{k}_r")
            for k in ("source", "record_id")
        ]
    )
    frame = frame.select([pl.col(name).cast(dtype) for name, dtype in schema.items()])
    return frame.unique(subset=list(KEY_COLUMNS), keep="first", maintain_order=True).sort(list(KEY_COLUMNS))


def _prediction_columns(comparisons: list[str]) -> list[str]:
    columns = ["unique_id_l", "unique_id_r", "match_weight", "match_probability"]
    for name in comparisons:
        columns += [f"gamma_{name}", f"mw_{name}", f"mw_tf_adj_{name}"]
    return columns


def predict_edges(
    parties: pl.DataFrame,
    *,
    model_json: str,
    engine: LinkageEngine,
    threshold: float,
    placeholders: PlaceholderValues | None = None,
    chunks: int | None = None,
    prepared: pl.DataFrame | None = None,
) -> pl.DataFrame:
    """Score every blocked pair of ``parties`` and keep those at or above ``threshold``.

    Args:
        parties: ``std_parties`` rows.
        model_json: A trained model (``TrainedModel.model_json``).
        engine: Linkage engine.
        threshold: Minimum match probability kept (e.g. the review band's floor).
        placeholders: Values to null; detected from ``parties`` when None.
        chunks: Split the left side of prediction into this many chunks to bound memory;
            default one chunk per 500,000 records.
        prepared: ``parties`` already prepared (:func:`prepare_linkage_input`), when the caller
            has them; ``placeholders`` is then not used.

    Returns:
        ``identity_edges`` rows with ``match_reason = 'splink'``.
    """
    comparisons = comparison_names_of(model_json)
    if prepared is None:
        prepared = prepare_linkage_input(parties, placeholders=placeholders)
    if prepared.height < 2:
        return pl.DataFrame(schema=edges_schema(comparisons))
    db_api = engine.db_api()
    try:
        table = register_input(db_api, prepared, "cdp_linkage_input")
        linker = Linker(table, linker_settings(model_json, dialect_of(db_api)), log_level=None)
        n_chunks = chunks if chunks is not None else max(1, -(-prepared.height // 500_000))
        predictions = linker.inference.predict(
            threshold_match_probability=threshold,
            num_chunks_left=n_chunks,
            num_chunks_right=1,
            warning_mode="never",
        )
        raw = _to_polars(predictions, _prediction_columns(comparisons))
    finally:
        db_api.delete_tables_created_by_splink_from_db()
    edges = format_edges(raw, comparisons)
    log.info("predicted edges: records=%d edges=%d threshold=%.3f", prepared.height, edges.height, threshold)
    return edges


def blocking_columns(model_json: str) -> list[list[str]] | None:
    """Per prediction blocking rule, the columns it requires equal on both sides (``l.c = r.c``).

    Other conditions of a rule (``SUBSTRING(...)``, fuzzy functions) only narrow its pairs
    further, so two records can be blocked together only if they agree on every listed column.
    None when some rule has no such column (or is not a plain conjunction): then no record
    can be ruled out in advance.
    """
    import sqlglot
    from sqlglot import exp

    rules: list[list[str]] = []
    for rule in json.loads(model_json).get("blocking_rules_to_generate_predictions", []):
        sql = rule["blocking_rule"] if isinstance(rule, dict) else str(rule)
        tree = sqlglot.parse_one(sql, read="duckdb").unnest()
        conditions = list(tree.flatten()) if isinstance(tree, exp.And) else [tree]
        columns: list[str] = []
        for condition in (item.unnest() for item in conditions):
            if not (isinstance(condition, exp.EQ) and isinstance(condition.left, exp.Column)):
                continue
            right = condition.right
            if (
                isinstance(right, exp.Column)
                and {condition.left.table, right.table} == {"l", "r"}
                and condition.left.name == right.name
            ):
                columns.append(condition.left.name)
        if not columns:
            return None
        rules.append(columns)
    return rules


def _blocking_candidates(
    base: pl.DataFrame, new: pl.DataFrame, rules: list[list[str]] | None
) -> pl.DataFrame:
    """The base records that agree with some new record on every equality column of some rule.

    Only these can be blocked with a new record, so scoring against them gives exactly the pairs
    of scoring against the whole base, for a fraction of the join work.
    """
    if rules is None:
        return base
    matches = [
        base.join(new.select(columns).drop_nulls().unique(), on=columns, how="semi").select("unique_id")
        for columns in rules
    ]
    if not matches:
        return base.clear()
    candidates = pl.concat(matches).unique()
    return base.join(candidates, on="unique_id", how="semi", maintain_order="left")


def term_frequencies(prepared: pl.DataFrame, columns: list[str]) -> dict[str, pl.DataFrame]:
    """Splink's term-frequency lookup of each column: ``(value, tf_<column>)``, the value's share
    of the column's non-null values (``term_frequencies_for_single_column_sql``, in Polars)."""
    lookups: dict[str, pl.DataFrame] = {}
    for column in columns:
        counts = prepared.group_by(column).agg(records=pl.len()).drop_nulls(column)
        # NumPy divides element by element, as DuckDB does; Polars multiplies by the reciprocal
        # of a scalar divisor, which can differ in the last bit.
        frequencies = counts["records"].to_numpy().astype("float64") / float(counts["records"].sum())
        lookups[column] = counts.select(column).with_columns(pl.Series(f"tf_{column}", frequencies))
    return lookups


def predict_incremental_edges(
    base_parties: pl.DataFrame,
    new_parties: pl.DataFrame,
    *,
    model_json: str,
    engine: LinkageEngine,
    threshold: float,
    placeholders: PlaceholderValues | None = None,
    prepared: pl.DataFrame | None = None,
) -> pl.DataFrame:
    """Edges that involve at least one new record: new-to-base plus new-to-new.

    Term frequencies and placeholders come from base and new together, so a name's weight is
    the same as in a full run. A new record whose key already exists in ``base_parties``
    replaces the base version.

    Args:
        base_parties: Records already resolved.
        new_parties: Records that arrived since.
        model_json: A trained model.
        engine: Linkage engine.
        threshold: Minimum match probability kept.
        placeholders: Values to null; detected from base and new together when None.
        prepared: base and new records already prepared (with ``placeholders``), when the caller
            has them.

    Returns:
        ``identity_edges`` rows (never a base-to-base pair).
    """
    comparisons = comparison_names_of(model_json)
    if new_parties.is_empty():
        return pl.DataFrame(schema=edges_schema(comparisons))
    keys = ["source", "record_id"]
    if prepared is None:
        base_parties = base_parties.join(new_parties.select(keys), on=keys, how="anti")
        everything = pl.concat([base_parties, new_parties], how="diagonal_relaxed")
        if placeholders is None:
            placeholders = detect_placeholders(everything)
        prepared = prepare_linkage_input(everything, placeholders=placeholders)
    new_ids = new_parties.select(unique_id=pl.concat_str(keys, separator=":"))
    is_new = prepared["unique_id"].is_in(new_ids["unique_id"].implode())
    new_records, base_records = prepared.filter(is_new), prepared.filter(~is_new)
    db_api = engine.db_api()
    try:
        new_table = register_input(db_api, new_records, "cdp_linkage_new")
        # The term frequencies are the whole population's, counted here rather than by
        # registering every record with Splink only for it to count them.
        linker = Linker(new_table, linker_settings(model_json, dialect_of(db_api)), log_level=None)
        for column, frequencies in term_frequencies(prepared, tf_columns_of(model_json)).items():
            linker.table_management.register_term_frequency_lookup(
                register_input(db_api, frequencies, f"cdp_tf_{column}"), column
            )
        parts: list[pl.DataFrame] = []
        columns = _prediction_columns(comparisons)
        base = _blocking_candidates(base_records, new_records, blocking_columns(model_json))
        if base.height:
            base_table = register_input(db_api, base, "cdp_linkage_base")
            between = linker.inference.predict_between(
                base_table, new_table, threshold_match_probability=threshold, warning_mode="never"
            )
            parts.append(_to_polars(between, columns))
        within = linker.inference.predict_within(
            new_table, threshold_match_probability=threshold, warning_mode="never"
        )
        parts.append(_to_polars(within, columns))
    finally:
        db_api.delete_tables_created_by_splink_from_db()
    return format_edges(pl.concat(parts, how="diagonal_relaxed"), comparisons)


def deterministic_edges(
    parties: pl.DataFrame,
    *,
    placeholders: PlaceholderValues | None = None,
    prepared: pl.DataFrame | None = None,
) -> pl.DataFrame:
    """Pairs with the same national-ID token and the same birth date: certain matches.

    Placeholder tokens and dates never link (they are nulled first).

    Args:
        parties: ``std_parties`` rows.
        placeholders: Values to ignore; detected from ``parties`` when None.
        prepared: ``parties`` already prepared, when the caller has them.

    Returns:
        Edge rows (key columns, ``match_probability`` 1.0, ``match_weight`` null,
        ``match_reason`` ``'national_id_and_dob'``), one per unordered pair, sorted.

    Example:
        >>> import datetime as dt
        >>> parties = pl.DataFrame({"source": ["b", "a"], "record_id": ["1", "2"],
        ...     "national_id_token": ["t", "t"], "date_of_birth": [dt.date(1990, 1, 2)] * 2})
        >>> deterministic_edges(parties).select(KEY_COLUMNS).row(0)
        ('a', '2', 'b', '1')
    """
    if prepared is None:
        prepared = prepare_linkage_input(parties, placeholders=placeholders)
    nodes = prepared.select("source", "record_id", "national_id_token", "dob").drop_nulls(
        ["national_id_token", "dob"]
    )
    pairs = nodes.join(nodes, on=["national_id_token", "dob"], suffix="_r").rename(
        {"source": "source_l", "record_id": "record_id_l"}
    )
    pairs = pairs.filter(
        (pl.col("source_l") < pl.col("source_r"))
        | ((pl.col("source_l") == pl.col("source_r")) & (pl.col("record_id_l") < pl.col("record_id_r")))
    )
    return pairs.select(
        *KEY_COLUMNS,
        match_probability=pl.lit(1.0, dtype=pl.Float64),
        match_weight=pl.lit(None, dtype=pl.Float64),
        match_reason=pl.lit(DETERMINISTIC_REASON),
    ).sort(list(KEY_COLUMNS))
