"""Explain one pair: each comparison's level and match weight, the total, and Splink's charts.

Pairs are scored with Splink's ``score_pairs`` against term-frequency tables computed on all
records, so an explanation shows the same weights as the batch prediction that produced the edge.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import polars as pl
from splink import Linker

from cdp.errors import NotFoundError
from cdp.resolve.dialects import dialect_of, linker_settings
from cdp.resolve.predict import tf_columns_of
from cdp.resolve.prepare import prepare_linkage_input
from cdp.resolve.train import register_input

if TYPE_CHECKING:
    from splink.internals.database_api import DatabaseAPISubClass

    from cdp.engine import LinkageEngine

RecordKey = tuple[str, str]


@dataclass(frozen=True)
class ComparisonExplanation:
    """One comparison's contribution: its level (gamma, -1 = nothing to compare) and weight."""

    name: str
    level: int
    label: str
    match_weight: float


@dataclass(frozen=True)
class PairExplanation:
    """Why two records do or do not match.

    Attributes:
        left, right: The records' ``(source, record_id)`` keys.
        comparisons: Per comparison, in model order.
        prior_match_weight: Weight of the prior (probability two random records match).
        match_weight: Total: prior plus every comparison's weight.
        match_probability: The model's probability that the two records are the same person.
    """

    left: RecordKey
    right: RecordKey
    comparisons: list[ComparisonExplanation]
    prior_match_weight: float
    match_weight: float
    match_probability: float


def parse_record_key(text: str) -> RecordKey:
    """``"source:record_id"`` -> ``(source, record_id)``; record ids may themselves contain ':'.

    Example:
        >>> parse_record_key("core_customers:C:17")
        ('core_customers', 'C:17')
    """
    source, sep, record_id = text.partition(":")
    if not sep or not source or not record_id:
        raise NotFoundError(f"record key {text!r} must look like SOURCE:RECORD_ID")
    return source, record_id


class _Scorer:
    """A linker over all records (for term frequencies) that scores chosen records."""

    def __init__(self, parties: pl.DataFrame, model_json: str, engine: LinkageEngine) -> None:
        self.prepared = prepare_linkage_input(parties)
        self.db_api: DatabaseAPISubClass = engine.db_api()
        table = register_input(self.db_api, self.prepared, "cdp_linkage_input")
        self.linker = Linker(table, linker_settings(model_json, dialect_of(self.db_api)), log_level=None)
        for column in tf_columns_of(model_json):
            self.linker.table_management.compute_tf_table(column)
        self._registered = 0

    def record(self, key: RecordKey) -> pl.DataFrame:
        row = self.prepared.filter(pl.col("unique_id") == f"{key[0]}:{key[1]}")
        if row.is_empty():
            raise NotFoundError(f"no party record {key[0]}:{key[1]} in std_parties")
        return row

    def score(self, left: RecordKey, right: RecordKey) -> dict[str, Any]:
        self._registered += 1
        left_table = register_input(self.db_api, self.record(left), f"cdp_pair_left_{self._registered}")
        right_table = register_input(self.db_api, self.record(right), f"cdp_pair_right_{self._registered}")
        scored = self.linker.inference.score_pairs(left_table, right_table)
        records: list[dict[str, Any]] = scored.as_record_list()
        return records[0]

    def close(self) -> None:
        self.db_api.delete_tables_created_by_splink_from_db()


def _explanation(
    linker: Linker, record: dict[str, Any], left: RecordKey, right: RecordKey
) -> PairExplanation:
    settings = linker._settings_obj
    parts: list[ComparisonExplanation] = []
    for comparison in settings.comparisons:
        name = comparison.output_column_name
        level = int(record[f"gamma_{name}"])
        label = next(
            (
                cl.label_for_charts
                for cl in comparison.comparison_levels
                if cl.comparison_vector_value == level
            ),
            "unknown",
        )
        weight = float(record.get(f"mw_{name}") or 0.0) + float(record.get(f"mw_tf_adj_{name}") or 0.0)
        parts.append(ComparisonExplanation(name=name, level=level, label=label, match_weight=weight))
    return PairExplanation(
        left=left,
        right=right,
        comparisons=parts,
        prior_match_weight=_prior_weight(settings._probability_two_random_records_match),
        match_weight=float(record["match_weight"]),
        match_probability=float(record["match_probability"]),
    )


def _prior_weight(probability: float) -> float:
    return math.log2(probability / (1 - probability))


def explain_pair(
    parties: pl.DataFrame, *, model_json: str, left: RecordKey, right: RecordKey, engine: LinkageEngine
) -> PairExplanation:
    """Score one pair and break the score down by comparison.

    Args:
        parties: ``std_parties`` rows (all of them: term frequencies and placeholders come from here).
        model_json: A trained model.
        left: ``(source, record_id)`` of one record.
        right: ``(source, record_id)`` of the other.
        engine: Linkage engine.

    Returns:
        Levels, weights, total weight and probability.

    Raises:
        NotFoundError: When either record is not in ``parties``.
    """
    scorer = _Scorer(parties, model_json, engine)
    try:
        return _explanation(scorer.linker, scorer.score(left, right), left, right)
    finally:
        scorer.close()


def write_model_charts(
    parties: pl.DataFrame,
    *,
    model_json: str,
    out_dir: Path,
    pair: tuple[RecordKey, RecordKey] | None = None,
    engine: LinkageEngine,
    include_values: bool = False,
) -> list[Path]:
    """Write the model's match-weights chart and, for ``pair``, its waterfall, as offline HTML.

    Args:
        parties: ``std_parties`` rows.
        model_json: A trained model.
        out_dir: Folder for the HTML files (created if missing).
        pair: Two record keys whose score to draw as a waterfall.
        engine: Linkage engine.
        include_values: Show the records' values in the waterfall; off by default so chart
            files hold match weights only, no personal data.

    Returns:
        Paths of the written files.
    """
    out_dir.mkdir(parents=True, exist_ok=True)
    scorer = _Scorer(parties, model_json, engine)
    written: list[Path] = []
    try:
        path = out_dir / "match_weights.html"
        path.write_text(
            scorer.linker.visualisations.match_weights_chart().to_html(inline=True), encoding="utf-8"
        )
        written.append(path)
        if pair is not None:
            record = scorer.score(*pair)
            chart = scorer.linker.visualisations.waterfall_chart(
                [record], filter_nulls=False, remove_sensitive_data=not include_values
            )
            path = out_dir / "waterfall.html"
            path.write_text(chart.to_html(inline=True), encoding="utf-8")
            written.append(path)
    finally:
        scorer.close()
    return written


def explanation_rows(explanation: PairExplanation) -> Sequence[tuple[str, str, float]]:
    """(comparison, level label, weight) rows, prior first, for tables and logs."""
    rows: list[tuple[str, str, float]] = [
        ("prior", "probability two random records match", explanation.prior_match_weight)
    ]
    rows += [(part.name, part.label, part.match_weight) for part in explanation.comparisons]
    return rows


__all__ = [
    "ComparisonExplanation",
    "PairExplanation",
    "explain_pair",
    "explanation_rows",
    "parse_record_key",
    "write_model_charts",
]
