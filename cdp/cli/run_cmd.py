"""``cdp run`` and ``cdp train``: materialize the Dagster asset graph in this process.

The orchestration layer (``assets``) is imported only inside these commands, so the ``cdp``
library itself never depends on Dagster.
"""

from __future__ import annotations

import datetime as dt
import importlib
import time
from enum import StrEnum
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

from cdp.errors import CdpError

DEFAULT_CONFIG = Path("data/sample/sources.yaml")
DEFAULT_WAREHOUSE = Path("warehouse")
#: The ingest step yields all of these together, so training must select every one of them.
TRAINING_INPUTS = (
    *(
        f"raw_{table}"
        for table in ("parties", "accounts", "account_holders", "transactions", "events", "consents")
    ),
    "rejects",
    "ingest_reconciliation",
    "ingest_files",
)

ConfigOption = Annotated[
    Path, typer.Option("--config", "-c", help="Source config YAML (parties, accounts, transactions, ...).")
]
WarehouseOption = Annotated[
    Path, typer.Option("--warehouse", "-w", help="Warehouse folder: cdp.duckdb plus Parquet of every table.")
]


class LinkageEngineName(StrEnum):
    duckdb = "duckdb"
    spark = "spark"


EngineOption = Annotated[
    LinkageEngineName,
    typer.Option(
        "--engine",
        help="Where Splink runs: duckdb (embedded) or spark (a local Spark session; needs cdp[spark], Java).",
    ),
]


def _execute(*, config: Path, warehouse: Path, selection: list[str] | None = None, **options: object) -> None:
    runner = importlib.import_module("assets.runner")
    resources = importlib.import_module("assets.resources")
    console = Console(stderr=True, highlight=False)
    started: dict[str, float] = {}
    run_started = time.perf_counter()

    def on_progress(step: str, event: str) -> None:
        if event == "start":
            started[step] = time.perf_counter()
            console.print(f"[dim]…[/] {step}")
            return
        seconds = time.perf_counter() - started.get(step, time.perf_counter())
        style = {"success": "green", "failure": "bold red", "skipped": "yellow"}[event]
        console.print(f"[{style}]{event:>7}[/] {step} [dim]{seconds:.1f}s[/]")

    run = runner.run_pipeline(
        config_path=config,
        warehouse_dir=warehouse,
        options=resources.RunOptions(**options),
        selection=selection,
        on_progress=on_progress,
    )
    elapsed = time.perf_counter() - run_started
    if not run.success:
        raise CdpError(f"run {run.run_id} failed after {elapsed:.1f}s: {run.error}")
    console.print(
        f"[bold green]done[/] run {run.run_id} in {elapsed:.1f}s; warehouse at {warehouse}/cdp.duckdb"
    )


def register(app: typer.Typer) -> None:
    @app.command("run")
    def run(
        config: ConfigOption = DEFAULT_CONFIG,
        warehouse: WarehouseOption = DEFAULT_WAREHOUSE,
        retrain: Annotated[bool, typer.Option(help="Retrain the linkage model before scoring.")] = False,
        full_refresh: Annotated[
            bool, typer.Option(help="Rebuild everything from scratch; existing customers keep their IDs.")
        ] = False,
        as_of: Annotated[
            str | None, typer.Option(help="Point-in-time date (YYYY-MM-DD) for features; default today.")
        ] = None,
        engine: EngineOption = LinkageEngineName.duckdb,
    ) -> None:
        """Run the whole pipeline: ingest, resolve, customer 360, features, segments, publish."""
        _execute(
            config=config,
            warehouse=warehouse,
            retrain=retrain,
            full_refresh=full_refresh,
            as_of=_checked_date(as_of),
            linkage_engine=engine.value,
        )

    @app.command("train")
    def train(
        config: ConfigOption = DEFAULT_CONFIG,
        warehouse: WarehouseOption = DEFAULT_WAREHOUSE,
        engine: EngineOption = LinkageEngineName.duckdb,
    ) -> None:
        """Retrain the Splink linkage model on the current extracts and store a new model version."""
        _execute(
            config=config,
            warehouse=warehouse,
            selection=[*TRAINING_INPUTS, "std_parties", "linkage_model"],
            retrain=True,
            linkage_engine=engine.value,
        )


def _checked_date(value: str | None) -> str | None:
    if value is None:
        return None
    try:
        return dt.date.fromisoformat(value).isoformat()
    except ValueError:
        raise CdpError(f"--as-of must be a date like 2026-10-31, not {value!r}") from None
