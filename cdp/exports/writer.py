"""Writing export files: spreadsheet-safe CSV or Parquet, atomically, with a checksum.

CSV decisions:

- UTF-8 **with** a byte-order mark. Excel reads a BOM-less CSV as the legacy code page and garbles
  accented names (José -> JosÃ©); with the BOM it opens cleanly, and Python (``utf-8-sig``), pandas,
  Polars and DuckDB all skip it. The manifest records the encoding.
- Formula injection (OWASP "CSV Injection"): a text cell starting with ``=``, ``+``, ``-``, ``@``,
  tab or carriage return would be run as a formula by a spreadsheet, so it is prefixed with a single
  quote, which spreadsheets show as text. The one exception is a phone column whose value is a
  strict E.164 number (``+`` and 7-15 digits): it cannot carry a formula, and SMS gateways need the
  ``+`` intact.
- Fields are quoted when needed (separator, quote or newline inside), per RFC 4180.

Files are written to a temporary name in the target folder, flushed to disk, then renamed over
the target, so a reader never sees a half-written export.
"""

from __future__ import annotations

import hashlib
import os
import uuid
from pathlib import Path

import polars as pl

from cdp.errors import ConfigError

FORMULA_START = r"^[=+\-@\t\r]"
E164 = r"^\+[1-9][0-9]{6,14}$"
PHONE_COLUMNS: tuple[str, ...] = ("phone",)
FORMATS = {".csv": "csv", ".parquet": "parquet"}
CSV_ENCODING = "utf-8-sig"


def export_format(path: Path) -> str:
    """``csv`` or ``parquet`` from the file name; anything else is a ``ConfigError``."""
    suffix = path.suffix.lower()
    if suffix not in FORMATS:
        raise ConfigError(f"export file {path} must end in .csv or .parquet")
    return FORMATS[suffix]


def neutralize_formulas(frame: pl.DataFrame) -> pl.DataFrame:
    """Prefix text cells that a spreadsheet would evaluate as formulas with a single quote.

    Example:
        >>> cells = {"name": ["=1+1", "Ann", "-2"], "phone": ["+15551234567", "+x", None]}
        >>> neutralize_formulas(pl.DataFrame(cells))
        shape: (3, 2)
        ┌───────┬──────────────┐
        │ name  ┆ phone        │
        │ ---   ┆ ---          │
        │ str   ┆ str          │
        ╞═══════╪══════════════╡
        │ '=1+1 ┆ +15551234567 │
        │ Ann   ┆ '+x          │
        │ '-2   ┆ null         │
        └───────┴──────────────┘
    """
    exprs = []
    for name, dtype in frame.schema.items():
        if dtype != pl.String:
            continue
        column = pl.col(name)
        risky = column.str.contains(FORMULA_START)
        if name in PHONE_COLUMNS:
            risky = risky & ~column.str.contains(E164)
        exprs.append(pl.when(risky).then(pl.lit("'") + column).otherwise(column).alias(name))
    return frame.with_columns(exprs) if exprs else frame


def write_export_file(frame: pl.DataFrame, path: Path) -> str:
    """Write ``frame`` to ``path`` (CSV neutralized, or Parquet) atomically; return its SHA-256 hex digest."""
    kind = export_format(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.parent / f".{path.name}.{uuid.uuid4().hex}.tmp"
    try:
        with open(temporary, "wb") as handle:
            if kind == "csv":
                neutralize_formulas(frame).write_csv(handle, include_bom=True)
            else:
                frame.write_parquet(handle)
            handle.flush()
            os.fsync(handle.fileno())
        digest = sha256_file(temporary)
        os.replace(temporary, path)
    finally:
        temporary.unlink(missing_ok=True)
    return digest


def write_text_atomic(text: str, path: Path) -> None:
    """Write a small text file atomically (temporary file, fsync, rename)."""
    temporary = path.parent / f".{path.name}.{uuid.uuid4().hex}.tmp"
    try:
        with open(temporary, "w", encoding="utf-8") as handle:
            handle.write(text)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(temporary, path)
    finally:
        temporary.unlink(missing_ok=True)


def sha256_file(path: Path) -> str:
    """SHA-256 hex digest of a file's bytes."""
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()
