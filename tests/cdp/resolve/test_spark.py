"""Splink on Spark scores exactly as on DuckDB (opt-in: ``pytest -m spark``; needs pyspark and Java)."""

from __future__ import annotations

import json

import polars as pl
import pytest
from polars.testing import assert_frame_equal

from cdp.engine import SparkEngine
from cdp.resolve import train_model
from cdp.resolve.dialects import MODEL_DIALECT
from cdp.resolve.predict import predict_edges, predict_incremental_edges

pytest.importorskip("pyspark")
pytestmark = pytest.mark.spark

PAIR = ["source_l", "record_id_l", "source_r", "record_id_r"]


@pytest.fixture(scope="module")
def spark() -> SparkEngine:
    return SparkEngine(master="local[2]", shuffle_partitions=4)


def _same_edges(duckdb_edges: pl.DataFrame, spark_edges: pl.DataFrame) -> None:
    assert duckdb_edges.height > 50
    assert_frame_equal(
        duckdb_edges.sort(PAIR), spark_edges.sort(PAIR), check_exact=False, rel_tol=1e-9, abs_tol=1e-9
    )


def test_batch_prediction_on_spark_equals_duckdb(population, trained, engine, spark) -> None:
    parties = population.parties.head(2000)
    model = trained.model_json
    _same_edges(
        predict_edges(parties, model_json=model, engine=engine, threshold=0.3),
        predict_edges(parties, model_json=model, engine=spark, threshold=0.3),
    )


def test_incremental_prediction_on_spark_equals_duckdb(population, trained, engine, spark) -> None:
    parties = population.parties.head(2000)
    batch = parties.tail(150)
    model = trained.model_json
    _same_edges(
        predict_incremental_edges(parties, batch, model_json=model, engine=engine, threshold=0.3),
        predict_incremental_edges(parties, batch, model_json=model, engine=spark, threshold=0.3),
    )


def test_a_model_trained_on_spark_is_stored_in_duckdb_sql_and_scores_there(population, engine, spark) -> None:
    parties = population.parties.head(800)
    model = train_model(parties, engine=spark, seed=42, max_pairs_u=1e5)
    settings = json.loads(model.model_json)

    assert settings["sql_dialect"] == MODEL_DIALECT
    edges = predict_edges(parties, model_json=model.model_json, engine=engine, threshold=0.5)
    assert edges.height > 50
