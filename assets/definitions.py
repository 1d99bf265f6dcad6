"""Dagster definitions for cdp. The environment is chosen once, here, by ``build_defs``."""

import os
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import dagster as dg

from assets import automation, checks, customer_360, features, ingest, publish, resolve, segments, standardize
from assets.resources import (
    DuckDBLinkageBackend,
    RunOptions,
    SourcesResource,
    SparkLinkageBackend,
    StagedParquetIOManager,
    WarehouseResource,
)

ENVIRONMENTS = ("local", "test", "prod")
DEFAULT_CONFIG = "data/sample/sources.yaml"
DEFAULT_WAREHOUSE = "warehouse"
#: Staged outputs an in-process run keeps in memory for the steps that read them next: at a
#: million records a day's 360 frames and identity tables fit; a first load's largest do not.
MEMORY_HANDOFF_MB = 3072


def _local_resources(config_path: str, warehouse_dir: str, options: RunOptions) -> dict[str, Any]:
    return {
        "sources": SourcesResource(config_path=config_path),
        "warehouse": WarehouseResource(root=warehouse_dir),
        "run_options": options,
        "linkage_backend": (
            SparkLinkageBackend(master="local[*]")
            if options.linkage_engine == "spark"
            else DuckDBLinkageBackend(temp_directory=str(Path(warehouse_dir, ".tmp")))
        ),
        "io_manager": StagedParquetIOManager(base_dir=str(Path(warehouse_dir, "_staging"))),
    }


def _prod_resources(config_path: str, warehouse_dir: str, options: RunOptions) -> dict[str, Any]:
    # Paths are deployment settings, read when a run launches rather than when the code loads.
    return {
        "sources": SourcesResource(config_path=dg.EnvVar("CDP_CONFIG")),
        "warehouse": WarehouseResource(root=dg.EnvVar("CDP_WAREHOUSE")),
        "run_options": options,
        "linkage_backend": SparkLinkageBackend(master=dg.EnvVar("CDP_SPARK_MASTER")),
        "io_manager": StagedParquetIOManager(base_dir=dg.EnvVar("CDP_STAGING_DIR")),
    }


RESOURCES_BY_ENV: Mapping[str, Callable[[str, str, RunOptions], dict[str, Any]]] = {
    "local": _local_resources,
    "test": _local_resources,
    "prod": _prod_resources,
}


def build_defs(
    env: str = "local",
    *,
    config_path: str | os.PathLike[str] = DEFAULT_CONFIG,
    warehouse_dir: str | os.PathLike[str] = DEFAULT_WAREHOUSE,
    run_options: RunOptions | None = None,
    loggers: Mapping[str, dg.LoggerDefinition] | None = None,
    background_staging: bool = False,
) -> dg.Definitions:
    """Assemble cdp's assets, checks, automation and the resources of one environment.

    ``background_staging``: stage frames on a background thread (``StagedParquetIOManager``);
    only for a caller that runs the job in this process and then waits for the writes
    (:func:`assets.runner.run_pipeline`), never for the ``prod`` executor's step processes.
    """
    if env not in RESOURCES_BY_ENV:
        raise ValueError(f"unknown environment {env!r}; expected one of {', '.join(ENVIRONMENTS)}")
    if background_staging and env == "prod":
        raise ValueError("background staging needs the in-process executor; the prod environment has none")
    resources = RESOURCES_BY_ENV[env](str(config_path), str(warehouse_dir), run_options or RunOptions())
    if background_staging:
        resources["io_manager"] = StagedParquetIOManager(
            base_dir=str(Path(warehouse_dir, "_staging")),
            background_writes=True,
            memory_handoff_mb=MEMORY_HANDOFF_MB,
        )
    stage_modules = (ingest, standardize, resolve, customer_360, features, segments, publish)
    return dg.Definitions(
        assets=[asset for module in stage_modules for asset in dg.load_assets_from_modules([module])],
        asset_checks=checks.ALL_CHECKS,
        jobs=[automation.cdp_pipeline],
        schedules=[automation.daily_refresh, automation.weekly_full_refresh],
        sensors=[automation.new_extracts],
        resources=resources,
        executor=dg.multiprocess_executor if env == "prod" else dg.in_process_executor,
        loggers=loggers,
    )


defs = build_defs(os.getenv("CDP_ENV", "local"))
