"""The warehouse: atomic, idempotent publishing to DuckDB + Parquet, masked views, and the data dictionary.

Layout of a warehouse folder::

    cdp.duckdb                 every published table in schema main, views, masked_<table> views,
                               and _cdp_publish_log (one row per publish)
    parquet/                   symlink to the current snapshot: <table>.parquet for every table
    parquet_snapshots/         the current and the previous snapshot (only the current after a purge)
    models/                    linkage model versions (written by cdp.pipeline)
    quality_docs/              Great Expectations Data Docs (written by cdp.quality)

See :mod:`cdp.warehouse.publish` for the publish order and its guarantees, and
:mod:`cdp.warehouse.masking` for what the masked views hide.
"""

from __future__ import annotations

from cdp.warehouse.files import read_staged, stage, staged_path, write_parquet_atomic
from cdp.warehouse.masking import masked_columns, masked_view_name, masked_view_sql, pii_category
from cdp.warehouse.publish import PublishReport, TableDelta
from cdp.warehouse.warehouse import Warehouse, WarehouseBusyError

__all__ = [
    "PublishReport",
    "TableDelta",
    "Warehouse",
    "WarehouseBusyError",
    "masked_columns",
    "masked_view_name",
    "masked_view_sql",
    "pii_category",
    "read_staged",
    "stage",
    "staged_path",
    "write_parquet_atomic",
]
