from __future__ import annotations

import json
from pathlib import Path

import duckdb
import polars as pl
import typer
from typer.testing import CliRunner

from cdp.cli import resolve_cmds


def _app() -> typer.Typer:
    app = typer.Typer()
    resolve_cmds.register(app)
    return app


def _warehouse(root: Path, tables: dict[str, pl.DataFrame]) -> Path:
    root.mkdir(parents=True, exist_ok=True)
    with duckdb.connect(str(root / "cdp.duckdb")) as connection:
        for name, frame in tables.items():
            connection.register("frame", frame)
            connection.execute(f'create table "{name}" as select * from frame')
            connection.unregister("frame")
    return root


def test_evaluate_json_prints_exactly_the_headline_metrics(tmp_path: Path, population) -> None:  # type: ignore[no-untyped-def]
    parties = population.parties
    clusters = population.truth.select("source", "record_id", customer_id=pl.col("entity_id"))
    warehouse = _warehouse(tmp_path / "wh", {"std_parties": parties, "identity_clusters": clusters})
    truth = tmp_path / "truth.csv"
    population.truth.write_csv(truth)
    result = CliRunner().invoke(
        _app(), ["evaluate", "--warehouse", str(warehouse), "--truth", str(truth), "--json"]
    )
    assert result.exit_code == 0, result.output
    metrics = json.loads(result.output)
    assert set(metrics) == {
        "pairwise_precision",
        "pairwise_recall",
        "pairwise_f1",
        "bcubed_precision",
        "bcubed_recall",
        "bcubed_f1",
        "baseline_pairwise_f1",
        "baseline_bcubed_f1",
    }
    assert metrics["pairwise_f1"] == 1.0 and metrics["baseline_pairwise_f1"] < 1.0


def test_explain_prints_levels_and_writes_charts(tmp_path: Path, population, trained) -> None:  # type: ignore[no-untyped-def]
    warehouse = _warehouse(tmp_path / "wh", {"std_parties": population.parties})
    (warehouse / "models").mkdir()
    (warehouse / "models" / "linkage_model.json").write_text(trained.model_json)
    charts = tmp_path / "charts"
    result = CliRunner().invoke(
        _app(),
        [
            "explain",
            "core_customers:N1",
            "digital_users:N2",
            "--warehouse",
            str(warehouse),
            "--html",
            str(charts),
        ],
    )
    assert result.exit_code == 0, result.output
    assert "nickname" in result.output and "total" in result.output
    assert sorted(path.name for path in charts.iterdir()) == ["match_weights.html", "waterfall.html"]


def test_unknown_record_is_a_clear_error(tmp_path: Path, population, trained) -> None:  # type: ignore[no-untyped-def]
    warehouse = _warehouse(tmp_path / "wh", {"std_parties": population.parties})
    (warehouse / "models").mkdir()
    (warehouse / "models" / "linkage_model.json").write_text(trained.model_json)
    result = CliRunner().invoke(
        _app(), ["explain", "core_customers:NOPE", "digital_users:N2", "-w", str(warehouse)]
    )
    assert result.exit_code != 0
    assert "no party record core_customers:NOPE" in str(result.exception)
