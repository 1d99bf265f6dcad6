"""Read one extract file with DuckDB into text columns, each row tagged with its line number.

File-level problems (no match, empty file, wrong encoding, missing columns, unreadable parquet)
raise :class:`~cdp.errors.SourceFileError` naming the file; row-level CSV problems (wrong number
of fields, broken quoting) come back as ``malformed`` rows with their line number, so a bad row
never stops the file and is never dropped silently. Messages never quote file content: it is PII.
"""

from __future__ import annotations

import glob
import logging
import re
from dataclasses import dataclass
from pathlib import Path

import duckdb
import numpy as np
import polars as pl
import pyarrow as pa

from cdp.errors import SourceFileError
from cdp.ingest.csvfile import header_columns, invalid_byte, line_of_offset, record_lines
from cdp.ingest.expressions import quote_identifier
from cdp.ingest.specs import SourceSpec

log = logging.getLogger(__name__)

LINE_COLUMN = "__cdp_line"
_MALFORMED_SCHEMA = {"line": pl.Int64(), "column": pl.String(), "reason": pl.String()}
_REASONS = {
    "MISSING COLUMNS": "malformed csv row: too few fields",
    "TOO MANY COLUMNS": "malformed csv row: too many fields",
    "UNQUOTED VALUE": "malformed csv row: unterminated or misplaced quote",
    "LINE SIZE OVER MAXIMUM": "malformed csv row: line too long",
    "INVALID ENCODING": "malformed csv row: invalid encoding",
}
_COUNTS = re.compile(r"Expected Number of Columns: (\d+) Found: (\d+)")


def _connect() -> duckdb.DuckDBPyConnection:
    con = duckdb.connect()
    con.execute("SET enable_progress_bar = false")
    return con


@dataclass(frozen=True)
class RawFile:
    """One extract file read as text.

    Attributes:
        label: The file as reported in every table: its path relative to the config folder.
        table: The source columns (all VARCHAR) plus ``__cdp_line``, in file order.
        malformed: CSV rows the reader could not split into the header's fields: line, column, reason.
        approximate_lines: True when the record positions could not be confirmed (then lines
            count records, header = 1, instead of physical lines).
    """

    label: str
    table: pa.Table
    malformed: pl.DataFrame
    approximate_lines: bool = False

    @property
    def rows_read(self) -> int:
        """Data rows in the file: parsed rows plus malformed rows."""
        return self.table.num_rows + self.malformed.height


def extract_files(spec: SourceSpec, base_dir: Path) -> list[Path]:
    """The files an entry's glob matches, in path order (later files upsert earlier ones).

    Raises:
        SourceFileError: No file matches.
    """
    pattern = str(base_dir / spec.path)
    paths = sorted(Path(match) for match in glob.glob(pattern, recursive=True) if Path(match).is_file())
    if not paths:
        raise SourceFileError(f"entry '{spec.name}': no file matches {spec.path} (in {base_dir})")
    return paths


def file_label(path: Path, base_dir: Path) -> str:
    """``path`` relative to the config folder when it is inside it, else absolute."""
    try:
        return path.resolve().relative_to(base_dir.resolve()).as_posix()
    except ValueError:
        return path.resolve().as_posix()


def _check_columns(spec: SourceSpec, path: Path, columns: list[str]) -> None:
    lowered = [name.lower() for name in columns]
    duplicates = sorted({name for name in lowered if lowered.count(name) > 1})
    if duplicates:
        raise SourceFileError(f"{path}: duplicate column name(s) in the header: {', '.join(duplicates)}")
    missing = [name for name in spec.required_columns() if name.lower() not in set(lowered)]
    if missing:
        hint = ""
        if spec.format == "csv" and len(columns) == 1:
            hint = f" (only one column was found: is csv.delimiter {spec.csv.delimiter!r} right?)"
        raise SourceFileError(
            f"{path}: missing column(s) {', '.join(missing)} that entry '{spec.name}' reads; "
            f"the file has: {', '.join(columns)}{hint}"
        )


def _malformed(con: duckdb.DuckDBPyConnection) -> pl.DataFrame:
    errors = con.sql(
        "SELECT line::BIGINT AS line, column_name, error_type::VARCHAR AS error_type, error_message "
        "FROM reject_errors ORDER BY line, column_idx"
    ).pl()
    if errors.height == 0:
        return pl.DataFrame(schema=_MALFORMED_SCHEMA)
    first = errors.unique(subset="line", keep="first", maintain_order=True)
    reasons = []
    for error_type, message in zip(first["error_type"], first["error_message"], strict=True):
        reason = _REASONS.get(error_type, f"malformed csv row: {str(error_type).lower()}")
        counts = _COUNTS.search(message or "")
        reasons.append(f"{reason} (expected {counts[1]}, found {counts[2]})" if counts else reason)
    return pl.DataFrame(
        {"line": first["line"], "column": first["column_name"], "reason": reasons}, schema=_MALFORMED_SCHEMA
    )


def _place_lines(
    data: bytes, parsed_rows: int, malformed: pl.DataFrame
) -> tuple[np.ndarray, pl.DataFrame, bool]:
    """File lines of the parsed rows, and malformed rows renumbered to file lines."""
    lines = record_lines(data)
    rejected = malformed["line"].to_numpy()
    is_rejected = np.isin(lines.reader_line, rejected)
    if lines.reader_line.size == parsed_rows + rejected.size and int(is_rejected.sum()) == rejected.size:
        positions = np.searchsorted(lines.reader_line, rejected)
        renumbered = malformed.with_columns(line=pl.Series(lines.file_line[positions], dtype=pl.Int64))
        return lines.file_line[~is_rejected], renumbered, False
    # Quoting that RFC 4180 scanning cannot follow (a stray '"' in an unquoted field): count records.
    candidates = np.setdiff1d(np.arange(2, parsed_rows + rejected.size + 2, dtype=np.int64), rejected)
    return candidates[:parsed_rows], malformed, True


def _read_csv(spec: SourceSpec, path: Path, label: str) -> RawFile:
    try:
        data = path.read_bytes()
    except OSError as err:
        raise SourceFileError(f"{path}: cannot be read ({err.strerror or type(err).__name__})") from None
    bad = invalid_byte(data, spec.csv.encoding)
    if bad is not None:
        line = line_of_offset(data, bad)
        raise SourceFileError(
            f"{path}: file is not valid {spec.csv.encoding} at byte {bad} (line {line}); "
            f"declare csv.encoding (utf-8 or latin-1) for entry '{spec.name}'"
        )
    columns = header_columns(data, delimiter=spec.csv.delimiter, encoding=spec.csv.encoding)
    _check_columns(spec, path, columns)
    with _connect() as con:
        try:
            table = con.sql(
                "SELECT * FROM read_csv($path, auto_detect = false, header = true, columns = $columns, "
                "delim = $delim, quote = '\"', escape = '\"', encoding = $encoding, store_rejects = true)",
                params={
                    "path": str(path),
                    "columns": dict.fromkeys(columns, "VARCHAR"),
                    "delim": spec.csv.delimiter,
                    "encoding": spec.csv.encoding,
                },
            ).to_arrow_table()
            malformed = _malformed(con)
        except duckdb.Error as err:
            # DuckDB's CSV messages quote the offending line, which is PII: name the class only.
            raise SourceFileError(f"{path}: cannot be read as CSV ({type(err).__name__})") from None
    good_lines, malformed, approximate = _place_lines(data, table.num_rows, malformed)
    if approximate:
        log.warning("%s: quoting could not be followed; line numbers count records (header = 1)", label)
    table = table.append_column(LINE_COLUMN, pa.array(good_lines, type=pa.int64()))
    return RawFile(label=label, table=table, malformed=malformed, approximate_lines=approximate)


def _read_parquet(spec: SourceSpec, path: Path, label: str) -> RawFile:
    with _connect() as con:
        try:
            columns = [
                row[0]
                for row in con.sql(
                    "DESCRIBE SELECT * FROM read_parquet($path)", params={"path": str(path)}
                ).fetchall()
            ]
        except duckdb.Error as err:
            raise SourceFileError(f"{path}: not a readable parquet file ({type(err).__name__})") from None
        _check_columns(spec, path, columns)
        # Text like a CSV (docs/contracts.md): one set of expressions works for both formats.
        selected = ", ".join(
            f"CAST({quote_identifier(name)} AS VARCHAR) AS {quote_identifier(name)}" for name in columns
        )
        table = con.sql(
            f"SELECT {selected}, file_row_number::BIGINT + 1 AS {LINE_COLUMN} "
            "FROM read_parquet($path, file_row_number = true)",
            params={"path": str(path)},
        ).to_arrow_table()
    return RawFile(label=label, table=table, malformed=pl.DataFrame(schema=_MALFORMED_SCHEMA))


def read_extract(spec: SourceSpec, path: Path, *, label: str) -> RawFile:
    """Read one file of an entry as text columns with line numbers.

    Args:
        spec: The config entry (format, csv options, columns its expressions read).
        path: The file.
        label: How the file is named in outputs (see :func:`file_label`).

    Raises:
        SourceFileError: The file is empty (0 bytes), not valid in the declared encoding, lacks a
            column the entry reads, or cannot be parsed at all. A header-only CSV is fine: 0 rows.
    """
    if path.stat().st_size == 0:
        raise SourceFileError(f"{path}: file is empty (0 bytes); an extract needs at least a header line")
    if spec.format == "parquet":
        return _read_parquet(spec, path, label)
    return _read_csv(spec, path, label)
