"""Rewriting the DuckDB file keeps every catalog object and drops the bytes of deleted rows."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import duckdb
import pytest

from cdp.warehouse import compaction
from cdp.warehouse.compaction import CompactionError, compact_duckdb_file, compaction_path, wal_path

SECRET = "secret-value-4be1d0"


def _catalog(path: Path) -> dict[str, list[tuple[object, ...]]]:
    connection = duckdb.connect(str(path), read_only=True)
    try:
        queries = {
            "tables": "SELECT schema_name, table_name, comment FROM duckdb_tables()",
            "views": "SELECT view_name, sql FROM duckdb_views() WHERE NOT internal",
            "macros": "SELECT function_name, function_type FROM duckdb_functions() WHERE NOT internal",
            "sequences": "SELECT sequence_name, last_value FROM duckdb_sequences()",
            "indexes": "SELECT index_name, table_name FROM duckdb_indexes()",
            "types": "SELECT type_name FROM duckdb_types() WHERE NOT internal",
            "rows": "SELECT (SELECT count(*) FROM main.people), (SELECT count(*) FROM other.notes)",
            "macro_result": "SELECT plus_one(41), (SELECT count(*) FROM first_people(3))",
        }
        return {kind: sorted(connection.execute(sql).fetchall(), key=repr) for kind, sql in queries.items()}
    finally:
        connection.close()


@pytest.fixture
def database(tmp_path: Path) -> Path:
    path = tmp_path / "cdp.duckdb"
    connection = duckdb.connect(str(path))
    connection.execute("SET max_vacuum_tasks = 0")
    # A block of its own, followed by more data: freeing it leaves a hole, not a shorter file.
    connection.execute(f"CREATE TABLE people AS SELECT -1 AS id, '{SECRET}' AS email")
    connection.execute("CHECKPOINT")
    connection.execute("INSERT INTO people SELECT i, 'person-' || i || '@example.com' FROM range(20000) r(i)")
    connection.execute("CREATE SCHEMA other")
    connection.execute("CREATE TABLE other.notes (id INTEGER PRIMARY KEY, mood_value VARCHAR)")
    connection.execute("INSERT INTO other.notes VALUES (1, 'fine')")
    connection.execute("CREATE VIEW main.people_ids AS SELECT id FROM main.people")
    connection.execute("CREATE MACRO plus_one(x) AS x + 1")
    connection.execute("CREATE MACRO first_people(n) AS TABLE SELECT * FROM people ORDER BY id LIMIT n")
    connection.execute("CREATE SEQUENCE ids START 100")
    connection.execute("SELECT nextval('ids') FROM range(5)").fetchall()
    connection.execute("CREATE INDEX people_id ON people(id)")
    connection.execute("CREATE TYPE mood AS ENUM ('fine', 'poor')")
    connection.execute("COMMENT ON TABLE people IS 'one row per person'")
    connection.execute("CHECKPOINT")
    connection.execute("DELETE FROM people WHERE id = -1")
    connection.execute("CHECKPOINT")
    connection.close()
    return path


def test_compaction_drops_deleted_bytes_and_keeps_every_catalog_object(database: Path) -> None:
    before = _catalog(database)
    assert SECRET.encode() in database.read_bytes()

    result = compact_duckdb_file(database)

    assert SECRET.encode() not in database.read_bytes()
    assert _catalog(database) == before
    assert before["sequences"] == [("ids", 104)]
    assert result.bytes_after == database.stat().st_size
    assert not compaction_path(database).exists()


_DIES_AFTER_COMMIT = """
import os, sys, duckdb
connection = duckdb.connect(sys.argv[1])
connection.execute("SET checkpoint_threshold = '1GB'")
connection.execute("INSERT INTO other.notes VALUES (2, 'poor')")
os._exit(0)
"""


def test_compaction_folds_a_pending_wal_into_the_copy(database: Path) -> None:
    subprocess.run([sys.executable, "-c", _DIES_AFTER_COMMIT, str(database)], check=True, timeout=60)
    assert wal_path(database).exists()

    compact_duckdb_file(database)

    assert not wal_path(database).exists()
    connection = duckdb.connect(str(database), read_only=True)
    try:
        assert connection.execute("SELECT count(*) FROM other.notes").fetchone() == (2,)
    finally:
        connection.close()


def test_a_copy_whose_catalog_differs_is_never_swapped_in(
    database: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    original = database.read_bytes()
    # A catalog question whose answer names the database always differs between the two files.
    monkeypatch.setattr(compaction, "_CATALOG_QUERIES", {"names": "SELECT ? AS database_name"})

    with pytest.raises(CompactionError, match="names differ"):
        compact_duckdb_file(database)

    assert database.read_bytes() == original
    assert not compaction_path(database).exists()
