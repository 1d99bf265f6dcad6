"""``cdp run --engine spark`` on the sample: the same customers as on DuckDB (opt-in: ``pytest -m spark``)."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import polars as pl
import pytest
from polars.testing import assert_frame_equal
from typer.testing import CliRunner

from cdp.cli import app

pytest.importorskip("pyspark")
pytestmark = pytest.mark.spark

ROOT = Path(__file__).resolve().parents[2]
SAMPLE = ROOT / "data" / "sample"
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


def test_the_prod_definitions_run_each_step_in_its_own_process_on_spark(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """``CDP_ENV=prod``: Dagster's multiprocess executor, steps handing over through the staging
    folder, Splink on Spark; the customers equal an embedded DuckDB run's."""
    home = tmp_path / "dagster_home"
    home.mkdir()
    shutil.copyfile(ROOT / "dagster.yaml", home / "dagster.yaml")
    warehouse = tmp_path / "prod"
    env = {
        **os.environ,
        "CDP_ENV": "prod",
        # Production refuses the public development key; any key gives the same customers.
        "CDP_TOKEN_KEY": "spark-test-only-key",
        "CDP_CONFIG": str(SAMPLE / "sources.yaml"),
        "CDP_WAREHOUSE": str(warehouse),
        "CDP_STAGING_DIR": str(warehouse / "_staging"),
        "CDP_SPARK_MASTER": "local[2]",
        "DAGSTER_HOME": str(home),
    }
    command = [
        sys.executable,
        "-m",
        "dagster",
        "job",
        "execute",
        "-m",
        "assets.definitions",
        "-j",
        "cdp_pipeline",
    ]
    completed = subprocess.run(command, cwd=ROOT, env=env, capture_output=True, text=True, check=False)
    assert completed.returncode == 0, completed.stderr[-3000:]
    assert "RUN_SUCCESS" in completed.stderr

    embedded = tmp_path / "embedded"
    monkeypatch.setenv("DAGSTER_HOME", str(tmp_path / "embedded_home"))
    result = CliRunner().invoke(app, ["run", "-c", str(SAMPLE / "sources.yaml"), "-w", str(embedded)])
    assert result.exit_code == 0, result.output
    assert_frame_equal(_published(warehouse, "identity_clusters"), _published(embedded, "identity_clusters"))
