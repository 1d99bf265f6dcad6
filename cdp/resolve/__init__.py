"""Probabilistic identity resolution with Splink: prepare, train, predict edges, explain, evaluate.

The pieces, in pipeline order:

- ``prepare_linkage_input`` / ``detect_placeholders``: Splink's input frame, placeholders nulled.
- ``build_settings``: comparisons and blocking rules for the columns a configuration supplies.
- ``train_model``: prior, u by seeded sampling, m by EM; returns the model JSON and a report.
- ``predict_edges`` / ``predict_incremental_edges`` / ``deterministic_edges``: ``identity_edges``.
- ``explain_pair`` / ``write_model_charts``: why two records match, as numbers and charts.
- ``evaluate_clusters`` / ``baseline_clusters`` / ``cluster_edges``: accuracy against truth.

Clustering into stable customer IDs is ``cdp.identity``'s job; ``cluster_edges`` here is the plain
connected-components reference used for evaluation and benchmarks.
"""

from __future__ import annotations

from cdp.resolve.cluster import cluster_edges
from cdp.resolve.evaluate import EvaluationReport, baseline_clusters, evaluate_clusters
from cdp.resolve.explain import (
    ComparisonExplanation,
    PairExplanation,
    explain_pair,
    explanation_rows,
    parse_record_key,
    write_model_charts,
)
from cdp.resolve.predict import (
    deterministic_edges,
    edges_schema,
    predict_edges,
    predict_incremental_edges,
)
from cdp.resolve.prepare import PlaceholderValues, detect_placeholders, prepare_linkage_input
from cdp.resolve.settings import build_settings
from cdp.resolve.train import TrainedModel, TrainingError, train_model

__all__ = [
    "ComparisonExplanation",
    "EvaluationReport",
    "PairExplanation",
    "PlaceholderValues",
    "TrainedModel",
    "TrainingError",
    "baseline_clusters",
    "build_settings",
    "cluster_edges",
    "deterministic_edges",
    "detect_placeholders",
    "edges_schema",
    "evaluate_clusters",
    "explain_pair",
    "explanation_rows",
    "parse_record_key",
    "predict_edges",
    "predict_incremental_edges",
    "prepare_linkage_input",
    "train_model",
    "write_model_charts",
]
