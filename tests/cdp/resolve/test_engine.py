from __future__ import annotations

import importlib.util

import pytest

from cdp.engine import DuckDBEngine, LinkageEngine, SparkEngine, engine_from_name
from cdp.errors import ConfigError


def test_duckdb_engine_applies_resource_options() -> None:
    engine = engine_from_name("DuckDB", threads=1, memory_limit="512MB")
    settings = (
        engine.db_api()
        .duckdb_con.execute("select current_setting('threads'), current_setting('memory_limit')")
        .fetchone()
    )
    assert isinstance(engine, LinkageEngine)
    assert settings == (1, "488.2 MiB")


def test_each_db_api_call_is_a_fresh_cache() -> None:
    engine = DuckDBEngine()
    assert engine.db_api().duckdb_con is not engine.db_api().duckdb_con


def test_unknown_engine_and_option_are_config_errors() -> None:
    with pytest.raises(ConfigError, match="unknown linkage engine 'oracle'"):
        engine_from_name("oracle")
    with pytest.raises(ConfigError, match="invalid option"):
        engine_from_name("duckdb", cores=3)


@pytest.mark.skipif(importlib.util.find_spec("pyspark") is not None, reason="pyspark is installed")
def test_spark_engine_without_pyspark_says_how_to_install() -> None:
    with pytest.raises(ConfigError, match=r"cdp\[spark\]"):
        SparkEngine().db_api()
