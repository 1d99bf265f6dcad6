"""``cdp run --engine spark`` on the sample: the same customers as on DuckDB (opt-in: ``pytest -m spark``)."""

from __future__ import annotations

from pathlib import Path

import polars as pl
import pytest
from polars.testing import assert_frame_equal
from typer.testing import CliRunner

from cdp.cli import app

pytest.importorskip("pyspark")
pytestmark = pytest.mark.spark

SAMPLE = Path(__file__).resolve().parents[2] / "data" / "sample"
#: Columns naming the run that wrote a row: they differ between any two runs.
RUN_COLUMNS = ("entered_run_id", "exited_run_id")


def _published(warehouse: Path, table: str) -> pl.DataFrame:
    frame = pl.read_parquet(warehouse / "parquet" / f"{table}.parquet")
    return frame.drop([column for column in RUN_COLUMNS if column in frame.columns])


def test_the_sample_on_spark_gives_the_duckdb_customers(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("DAGSTER_HOME", str(tmp_path / "dagster_home"))
    config = str(SAMPLE / "sources.yaml")
    runner = CliRunner()
    for engine in ("duckdb", "spark"):
        warehouse = str(tmp_path / engine)
        result = runner.invoke(
            app, ["run", "-c", config, "-w", warehouse, "--as-of", "2026-10-31", "--engine", engine]
        )
        assert result.exit_code == 0, result.output

    for table in ("identity_clusters", "customer_360", "segment_membership"):
        assert_frame_equal(_published(tmp_path / "duckdb", table), _published(tmp_path / "spark", table))
    duckdb_edges = _published(tmp_path / "duckdb", "identity_edges")
    assert_frame_equal(duckdb_edges, _published(tmp_path / "spark", "identity_edges"), abs_tol=1e-9)
    assert duckdb_edges.height > 1000
