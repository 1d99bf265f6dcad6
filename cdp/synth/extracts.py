"""Extract tables in their system's layout, split into dated batches and written to disk.

A party or account extract carries two versions of each row (as first sent, and final) and the
batch of each event: first sent, re-sent with changes, deleted (a row whose status column holds
the system's delete marker). Transaction-like tables are append-only: each row goes to the batch
that covers its date.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import polars as pl

#: File conventions of each system: delimiter, encoding and extension of its flat files.
SYSTEM_FILES: dict[str, dict[str, str]] = {
    "core": {"delimiter": ",", "encoding": "utf-8", "ext": "csv"},
    "card": {"delimiter": "|", "encoding": "utf-8", "ext": "txt"},
    "mortgage": {"delimiter": ",", "encoding": "latin-1", "ext": "csv"},
    "digital": {"delimiter": ",", "encoding": "utf-8", "ext": "csv"},
}
PARQUET_COMPRESSION_LEVEL = 3


@dataclass(frozen=True)
class Extract:
    """One table of one system, e.g. ``core/customers``.

    Attributes:
        system: core | card | mortgage | digital (also the sub-folder).
        stem: file name stem; files are ``<system>/<stem>_<YYYYMMDD>.<ext>``.
        frame: every row in its final state, in the system's layout (all text for CSV).
        batch: 1-based batch in which each row is first sent.
        initial: the rows as first sent, where ``change_batch`` re-sends them later.
        change_batch: batch re-sending the final version (0 = never).
        delete_batch: batch sending a delete marker (0 = never).
        status: (column, active value, deleted value) of the delete marker column.
        parquet: written as zstd Parquet instead of a flat file.
    """

    system: str
    stem: str
    frame: pl.DataFrame
    batch: np.ndarray
    initial: pl.DataFrame | None = None
    change_batch: np.ndarray | None = None
    delete_batch: np.ndarray | None = None
    status: tuple[str, str, str] | None = None
    parquet: bool = False

    @property
    def ext(self) -> str:
        return "parquet" if self.parquet else SYSTEM_FILES[self.system]["ext"]

    def file_name(self, day: dt.date) -> str:
        return f"{self.stem}_{day:%Y%m%d}.{self.ext}"

    def rows_for_batch(self, number: int, *, batched: bool) -> pl.DataFrame:
        """Rows of batch ``number`` (or every final row when not ``batched``)."""
        if not batched:
            return self.frame
        parts = []
        first = pl.Series(self.batch == number)
        if self.initial is not None and self.change_batch is not None:
            source = self.initial.select(
                pl.when(pl.Series(self.change_batch > 0)).then(pl.col(c)).otherwise(self.frame[c]).alias(c)
                for c in self.frame.columns
            )
        else:
            source = self.frame
        parts.append(source.filter(first))
        if self.change_batch is not None:
            parts.append(self.frame.filter(pl.Series(self.change_batch == number)))
        if self.delete_batch is not None and self.status is not None:
            column, _, deleted = self.status
            gone = self.frame.filter(pl.Series(self.delete_batch == number))
            parts.append(gone.with_columns(pl.lit(deleted, dtype=self.frame.schema[column]).alias(column)))
        return pl.concat(parts)


def write_frame(frame: pl.DataFrame, path: Path, *, system: str, parquet: bool) -> None:
    """Write one extract file with the system's delimiter and encoding (byte-identical per input)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    if parquet:
        frame.write_parquet(
            path, compression="zstd", compression_level=PARQUET_COMPRESSION_LEVEL, statistics=False
        )
        return
    options = SYSTEM_FILES[system]
    if options["encoding"] == "utf-8":
        frame.write_csv(path, separator=options["delimiter"], line_terminator="\n")
        return
    text = frame.write_csv(separator=options["delimiter"], line_terminator="\n")
    path.write_bytes(text.encode(options["encoding"], errors="replace"))
