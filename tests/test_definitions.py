"""Every environment's definitions load without network access or files on disk."""

from __future__ import annotations

import dagster as dg
import pytest

from assets.definitions import ENVIRONMENTS, build_defs
from assets.resources import DuckDBLinkageBackend, RunOptions, SparkLinkageBackend
from cdp.pipeline import PUBLISHED_TABLES

STAGE_GROUPS = {"ingest", "standardize", "resolve", "customer_360", "features", "segments", "publish"}


@pytest.mark.parametrize("env", ENVIRONMENTS)
def test_definitions_load_in_every_environment(env: str, monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("CDP_CONFIG", "CDP_WAREHOUSE", "CDP_STAGING_DIR", "CDP_SPARK_MASTER"):
        monkeypatch.setenv(name, "/nonexistent")
    defs = build_defs(env)
    dg.Definitions.validate_loadable(defs)
    assert defs.resolve_job_def("cdp_pipeline") is not None


def test_asset_graph_reads_like_the_architecture() -> None:
    graph = build_defs("test").resolve_asset_graph()
    groups = {graph.get(key).group_name for key in graph.get_all_asset_keys()}
    assert groups == STAGE_GROUPS
    publish_node = graph.get(dg.AssetKey("warehouse_snapshot"))
    publish_inputs = {key.to_user_string() for key in publish_node.parent_keys}
    assert publish_inputs == set(PUBLISHED_TABLES)


def test_quality_gates_are_blocking() -> None:
    graph = build_defs("test").resolve_asset_graph()
    blocking = {
        check_key.name for check_key in graph.asset_check_keys if graph.get_check_spec(check_key).blocking
    }
    assert {"customer_360_quality", "identity_quality", "std_parties_contract"} <= blocking


def test_background_staging_only_where_the_caller_waits_for_it(tmp_path) -> None:  # type: ignore[no-untyped-def]
    assert not build_defs("local").resources["io_manager"].background_writes
    staged = build_defs("local", warehouse_dir=tmp_path, background_staging=True).resources["io_manager"]
    assert staged.background_writes and staged.base_dir == str(tmp_path / "_staging")
    with pytest.raises(ValueError, match="in-process executor"):
        build_defs("prod", background_staging=True)


def test_unknown_environment_is_rejected() -> None:
    with pytest.raises(ValueError, match="unknown environment"):
        build_defs("staging")


@pytest.mark.parametrize(
    ("engine", "backend"), [("duckdb", DuckDBLinkageBackend), ("spark", SparkLinkageBackend)]
)
def test_the_run_option_picks_the_linkage_engine(engine: str, backend: type) -> None:
    defs = build_defs("local", run_options=RunOptions(linkage_engine=engine))
    chosen = defs.resources["linkage_backend"]
    assert type(chosen) is backend
    assert chosen.engine().name == engine


def test_the_weekly_schedule_runs_a_full_refresh_and_the_daily_one_does_not() -> None:
    defs = build_defs("test")
    weekly = defs.resolve_schedule_def("weekly_full_refresh").evaluate_tick(dg.build_schedule_context())
    daily = defs.resolve_schedule_def("daily_refresh").evaluate_tick(dg.build_schedule_context())
    job = defs.resolve_job_def("cdp_pipeline")

    def full_refresh(run_config: dict) -> bool:  # type: ignore[type-arg]
        return dg.validate_run_config(job, run_config)["resources"]["run_options"]["config"]["full_refresh"]

    assert full_refresh(weekly.run_requests[0].run_config)
    assert not full_refresh(daily.run_requests[0].run_config)

    # The schedule's run config reaches the resource an asset gets, over the bound instance.
    seen: dict[str, bool] = {}

    @dg.asset
    def probe(run_options: RunOptions) -> None:
        seen["full_refresh"] = run_options.full_refresh

    probe_defs = dg.Definitions(
        assets=[probe], jobs=[dg.define_asset_job("probe_job")], resources={"run_options": RunOptions()}
    )
    result = probe_defs.resolve_job_def("probe_job").execute_in_process(
        run_config=weekly.run_requests[0].run_config, instance=dg.DagsterInstance.ephemeral()
    )
    assert result.success and seen == {"full_refresh": True}
