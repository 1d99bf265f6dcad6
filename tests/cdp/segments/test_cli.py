"""``cdp segments list|show|explain`` and ``cdp export`` against a published warehouse."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import polars as pl
import pytest
import typer
from typer.testing import CliRunner

from cdp.cli import segment_cmds
from cdp.errors import ConfigError, NotFoundError
from cdp.segments import load_segments, update_membership_history
from cdp.warehouse import Warehouse

D1, D2 = dt.date(2024, 5, 31), dt.date(2024, 6, 30)


def _app() -> typer.Typer:
    app = typer.Typer()
    segment_cmds.register(app)
    return app


@pytest.fixture
def warehouse(tmp_path: Path) -> Path:
    customers = pl.DataFrame(
        {
            "customer_id": ["C1", "C2", "C3"],
            "first_name": ["Ann", "=cmd", "Cy"],
            "email": ["ann@x.com", "bo@x.com", "cy@x.com"],
            "date_of_birth": [dt.date(1990, 1, 1)] * 3,
            "age": [34, 34, 34],
            "is_deceased": [False, False, False],
            "do_not_contact": [False, False, True],
            "in_arrears": [False, False, False],
        }
    )
    features = pl.DataFrame(
        {"customer_id": ["C1", "C2", "C3"], "as_of": [D2] * 3, "days_since_move": [10, 30, None]}
    )
    first = pl.DataFrame(
        {"segment": ["recently_moved"] * 2, "segment_version": [1, 1], "customer_id": ["C1", "C3"]}
    )
    second = pl.DataFrame(
        {"segment": ["recently_moved"] * 2, "segment_version": [1, 1], "customer_id": ["C1", "C2"]}
    )
    history = update_membership_history(
        update_membership_history(None, first, run_id="r1", as_of=D1), second, run_id="r2", as_of=D2
    )
    consent = pl.DataFrame(
        {
            "customer_id": ["C1", "C2", "C3"],
            "purpose": "marketing",
            "channel": "email",
            "granted": True,
            "updated_at": dt.datetime(2024, 1, 1),
        }
    )
    root = tmp_path / "wh"
    Warehouse(root).publish(
        {
            "customer_360": customers,
            "customer_features": features,
            "segment_membership": history,
            "customer_consent": consent,
        },
        run_id="r2",
    )
    return root


def test_list_shows_sizes(warehouse: Path) -> None:
    result = CliRunner().invoke(_app(), ["segments", "list", "-w", str(warehouse)], env={"COLUMNS": "200"})
    assert result.exit_code == 0, result.output
    line = next(line for line in result.output.splitlines() if "recently_moved" in line)
    assert "│       2 │" in line
    assert "mortgage_intent" in result.output


def test_show_gives_definition_and_trend(warehouse: Path) -> None:
    result = CliRunner().invoke(
        _app(), ["segments", "show", "recently_moved", "-w", str(warehouse)], env={"COLUMNS": "200"}
    )
    assert result.exit_code == 0, result.output
    assert "rule: days_since_move <= 90" in result.output
    assert "members now: 2" in result.output
    assert "2024-05-31 │       2 │      0 │    2" in result.output
    assert "2024-06-30 │       1 │      1 │    2" in result.output


def test_explain_shows_the_deciding_values(warehouse: Path) -> None:
    result = CliRunner().invoke(
        _app(), ["segments", "explain", "recently_moved", "C3", "-w", str(warehouse)], env={"COLUMNS": "200"}
    )
    assert result.exit_code == 0, result.output
    assert "customer C3 is NOT in recently_moved (v1)" in result.output
    assert "* unknown  days_since_move <= 90  [days_since_move=None]" in result.output
    missing = CliRunner().invoke(
        _app(), ["segments", "explain", "recently_moved", "NOPE", "-w", str(warehouse)]
    )
    assert isinstance(missing.exception, NotFoundError)


def test_explain_of_an_erased_customer_says_so_and_shows_no_values(warehouse: Path) -> None:
    # C1 still qualifies on its 360 and features rows (another of their records is on file).
    Warehouse(warehouse).publish({"erased_customers": pl.DataFrame({"customer_id": ["C1"]})}, run_id="r3")

    result = CliRunner().invoke(
        _app(), ["segments", "explain", "recently_moved", "C1", "-w", str(warehouse)], env={"COLUMNS": "200"}
    )

    assert result.exit_code == 0, result.output
    assert "C1 is NOT in recently_moved: the customer is erased" in result.output
    assert "days_since_move" not in result.output


def test_export_writes_file_and_manifest(warehouse: Path, tmp_path: Path) -> None:
    out = tmp_path / "moved.csv"
    result = CliRunner().invoke(
        _app(),
        [
            "export",
            "recently_moved",
            "--channel",
            "email",
            "--purpose",
            "marketing",
            "--out",
            str(out),
            "-w",
            str(warehouse),
        ],
        env={"COLUMNS": "200"},
    )
    assert result.exit_code == 0, result.output
    assert "exported 2 of 2 members of recently_moved v1" in result.output
    manifest = json.loads((tmp_path / "moved.csv.manifest.json").read_text())
    assert (manifest["members"], manifest["exported"], manifest["holdout"]) == (2, 2, 0)
    assert out.read_text(encoding="utf-8-sig").splitlines() == [
        "customer_id,first_name,email",
        "C1,Ann,ann@x.com",
        "C2,'=cmd,bo@x.com",
    ]


def test_export_of_an_undeclared_segment_is_a_clear_error(warehouse: Path, tmp_path: Path) -> None:
    result = CliRunner().invoke(
        _app(),
        [
            "export",
            "ghosts",
            "--channel",
            "email",
            "--purpose",
            "marketing",
            "--out",
            str(tmp_path / "g.csv"),
            "-w",
            str(warehouse),
        ],
    )
    assert isinstance(result.exception, NotFoundError)
    assert "'ghosts' is not declared" in str(result.exception)


def test_export_refuses_segment_definitions_other_than_the_pipelines(warehouse: Path, tmp_path: Path) -> None:
    from cdp.segments.refresh import definitions_version

    starter = definitions_version(load_segments(None))
    edited = tmp_path / "segments.yaml"
    # The pipeline's segment declared again with the same name and version, but not the same rule.
    edited.write_text(
        "segments:\n  - name: recently_moved\n    description: moved\n    owner: marketing-analytics\n"
        "    version: 1\n    rule: days_since_move <= 30\n"
    )
    export = [
        "export",
        "recently_moved",
        "--channel",
        "email",
        "--purpose",
        "marketing",
        "--out",
        str(tmp_path / "moved.csv"),
        "-w",
        str(warehouse),
    ]
    Warehouse(warehouse).publish(
        {"segment_runs": pl.DataFrame({"definitions_version": [starter]})}, run_id="r3"
    )

    refused = CliRunner().invoke(_app(), [*export, "--segments", str(edited)])

    assert isinstance(refused.exception, ConfigError)
    assert "not the ones the published membership was built with" in str(refused.exception)
    assert not (tmp_path / "moved.csv").exists()
    allowed = CliRunner().invoke(_app(), export, env={"COLUMNS": "200"})
    assert allowed.exit_code == 0, allowed.output


def test_export_from_a_warehouse_without_segments_is_a_clear_error(tmp_path: Path) -> None:
    root = tmp_path / "wh"
    Warehouse(root).publish({"customer_360": pl.DataFrame({"customer_id": ["C1"]})}, run_id="r1")

    result = CliRunner().invoke(
        _app(),
        ["export", "recently_moved", "--channel", "email", "--purpose", "marketing"]
        + ["--out", str(tmp_path / "moved.csv"), "-w", str(root)],
    )

    assert isinstance(result.exception, NotFoundError)
    assert "'segment_membership' is not published" in str(result.exception)
