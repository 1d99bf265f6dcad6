"""Crash-safe file writes: Parquet with fixed settings, temp file + fsync + rename, and run staging.

Every Parquet file cdp writes goes through :func:`write_parquet_atomic`, so a reader sees either the
old file or the whole new one, and the same frame always gives the same bytes (fixed compression,
level and row-group size; Polars writes no timestamps into the file).
"""

from __future__ import annotations

import filecmp
import os
import re
from pathlib import Path
from typing import Final

import polars as pl

from cdp.errors import CdpError, NotFoundError

#: Fixed Parquet settings: identical frames give identical bytes, whatever the machine's defaults.
PARQUET_COMPRESSION: Final = "zstd"
#: Level 1, not zstd's default 3: a third less time to write (std_parties at 1M records: 0.75 s
#: against 1.13 s) for files 0-8% larger; every staged and published table is written each run.
PARQUET_COMPRESSION_LEVEL = 1
PARQUET_ROW_GROUP_SIZE = 131_072

_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")


def check_table_name(name: str) -> str:
    """Return ``name`` if it is a plain SQL identifier usable as a table and file name.

    Raises:
        CdpError: The name has characters other than letters, digits and underscores.
    """
    if not _NAME.fullmatch(name):
        raise CdpError(
            f"table name {name!r} must be letters, digits and underscores, not starting with a digit"
        )
    return name


def fsync_path(path: Path) -> None:
    """Flush a file, or a directory's entries (a rename or new file inside it), to disk."""
    descriptor = os.open(path, os.O_RDONLY)
    try:
        os.fsync(descriptor)
    finally:
        os.close(descriptor)


def write_parquet_atomic(frame: pl.DataFrame | pl.LazyFrame, path: Path) -> None:
    """Write ``frame`` to ``path`` so that readers never see a partial file.

    The frame goes to a temporary file beside ``path``, is fsynced, then renamed over ``path``
    (``os.replace`` is atomic on POSIX), and the directory is fsynced so the rename survives a crash.

    Args:
        frame: The frame to write; a LazyFrame (e.g. a scan of a staged file) is streamed, never
            held in memory whole.
        path: Destination; its folder must exist.

    Example:
        >>> write_parquet_atomic(pl.DataFrame({"a": [1]}), tmp_path / "a.parquet")
        >>> pl.read_parquet(tmp_path / "a.parquet").height
        1
    """
    path = Path(path)
    temporary = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        options = {
            "compression": PARQUET_COMPRESSION,
            "compression_level": PARQUET_COMPRESSION_LEVEL,
            "statistics": True,
            "row_group_size": PARQUET_ROW_GROUP_SIZE,
        }
        if isinstance(frame, pl.LazyFrame):
            frame.sink_parquet(temporary, **options)
        else:
            frame.write_parquet(temporary, **options)
        with open(temporary, "rb") as handle:
            os.fsync(handle.fileno())
        os.replace(temporary, path)
    finally:
        temporary.unlink(missing_ok=True)
    fsync_path(path.parent)


def same_bytes(left: Path, right: Path) -> bool:
    """True when two files hold the same bytes: one file under two names, or equal size and content."""
    try:
        if os.path.samefile(left, right):
            return True
        if left.stat().st_size != right.stat().st_size:
            return False
    except FileNotFoundError:
        return False
    return filecmp.cmp(left, right, shallow=False)


def staged_path(staging_dir: Path, name: str) -> Path:
    """Where :func:`stage` keeps table ``name`` under a run's staging folder."""
    return Path(staging_dir) / f"{check_table_name(name)}.parquet"


def stage(frame: pl.DataFrame, *, staging_dir: Path, name: str) -> Path:
    """Stage one table of a run as Parquet (atomically) until the run publishes.

    Args:
        frame: The table's rows.
        staging_dir: The run's staging folder; created when missing.
        name: Table name (plain identifier).

    Returns:
        The staged file.
    """
    path = staged_path(staging_dir, name)
    path.parent.mkdir(parents=True, exist_ok=True)
    write_parquet_atomic(frame, path)
    return path


def read_staged(*, staging_dir: Path, name: str) -> pl.DataFrame:
    """Read a table that :func:`stage` wrote.

    Raises:
        NotFoundError: Nothing was staged under that name.
    """
    path = staged_path(staging_dir, name)
    if not path.exists():
        raise NotFoundError(f"no staged table {name!r} in {staging_dir}")
    return pl.read_parquet(path)
