"""The linkage-engine seam: which database Splink runs its SQL on.

Resolution code asks an engine for a fresh Splink ``DatabaseAPI`` per job, so cached Splink tables
(blocked pairs, term frequencies) never leak from one call into the next. DuckDB is the default on
one machine; Spark is imported only when a ``SparkEngine`` is actually used, so the library imports
without pyspark.
"""

from __future__ import annotations

import tempfile
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Protocol, runtime_checkable

from cdp.errors import ConfigError

if TYPE_CHECKING:
    from splink.internals.database_api import DatabaseAPISubClass


@runtime_checkable
class LinkageEngine(Protocol):
    """Anything that hands out a Splink database API (DuckDB locally, Spark in production)."""

    @property
    def name(self) -> str:
        """Short backend name (``duckdb``, ``spark``)."""
        ...

    def db_api(self) -> DatabaseAPISubClass:
        """A new Splink ``DatabaseAPI`` with an empty table cache."""
        ...


@dataclass(frozen=True)
class DuckDBEngine:
    """Splink on an in-memory DuckDB connection with optional resource limits.

    Args:
        memory_limit: DuckDB ``memory_limit`` such as ``"6GB"``; DuckDB's default when None.
        temp_directory: Where DuckDB spills when over the memory limit.
        threads: Worker threads; DuckDB's default (all cores) when None.

    Example:
        >>> DuckDBEngine(memory_limit="2GB", threads=2).db_api().duckdb_con.sql(
        ...     "select current_setting('threads')").fetchall()
        [(2,)]
    """

    memory_limit: str | None = None
    temp_directory: str | None = None
    threads: int | None = None
    name: str = "duckdb"

    def db_api(self) -> DatabaseAPISubClass:
        import duckdb
        from splink import DuckDBAPI

        config: dict[str, Any] = {}
        if self.memory_limit is not None:
            config["memory_limit"] = self.memory_limit
        if self.temp_directory is not None:
            config["temp_directory"] = self.temp_directory
        if self.threads is not None:
            config["threads"] = self.threads
        try:
            connection = duckdb.connect(":memory:", config=config)
        except duckdb.Error as error:
            raise ConfigError(f"invalid DuckDB linkage engine option: {error}") from None
        return DuckDBAPI(connection=connection)


@dataclass(frozen=True)
class SparkEngine:
    """Splink on Spark; pyspark is imported only when ``db_api`` is called.

    Args:
        master: Spark master URL, ``local[*]`` for every local core.
        app_name: Spark application name.
        shuffle_partitions: ``spark.sql.shuffle.partitions``; small values suit one machine.
        checkpoint_dir: Spark checkpoint directory Splink uses to break long lineages.
    """

    master: str = "local[*]"
    app_name: str = "cdp-linkage"
    shuffle_partitions: int = 16
    checkpoint_dir: str | None = None
    name: str = "spark"

    def db_api(self) -> DatabaseAPISubClass:
        try:
            from pyspark.sql import SparkSession
        except ImportError:
            raise ConfigError(
                "the spark linkage engine needs pyspark: install cdp with the 'spark' extra "
                "(pip install 'cdp[spark]') or use the duckdb engine"
            ) from None
        from splink import SparkAPI
        from splink.internals.spark.jar_location import similarity_jar_location

        session = (
            SparkSession.builder.master(self.master)
            .appName(self.app_name)
            .config("spark.sql.shuffle.partitions", str(self.shuffle_partitions))
            # Splink's string-similarity UDFs (jaro_winkler, damerau_levenshtein) live in its jar.
            .config("spark.jars", similarity_jar_location())
            .getOrCreate()
        )
        # Splink checkpoints intermediate tables to break long lineages; it needs a directory.
        checkpoint_dir = self.checkpoint_dir or tempfile.mkdtemp(prefix="cdp-spark-checkpoints-")
        session.sparkContext.setCheckpointDir(checkpoint_dir)
        return SparkAPI(spark_session=session)


_ENGINES: dict[str, type[DuckDBEngine] | type[SparkEngine]] = {"duckdb": DuckDBEngine, "spark": SparkEngine}


def engine_from_name(name: str, **options: Any) -> LinkageEngine:
    """Build an engine from its name and keyword options.

    Args:
        name: ``"duckdb"`` or ``"spark"`` (case-insensitive).
        **options: Fields of the engine's dataclass, such as ``memory_limit`` or ``master``.

    Returns:
        The engine.

    Raises:
        ConfigError: For an unknown engine name or option.

    Example:
        >>> engine_from_name("duckdb", threads=2)
        DuckDBEngine(memory_limit=None, temp_directory=None, threads=2, name='duckdb')
    """
    engine_class = _ENGINES.get(name.strip().lower())
    if engine_class is None:
        raise ConfigError(f"unknown linkage engine {name!r}; choose one of {sorted(_ENGINES)}")
    try:
        return engine_class(**options)
    except TypeError as error:
        raise ConfigError(f"invalid option for the {name} linkage engine: {error}") from None
