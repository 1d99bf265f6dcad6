"""Byte-level checks of a CSV extract: encoding, header, and where each record starts.

DuckDB parses the rows; this module answers what its reader does not: is the file valid in the
declared encoding (and where not), what the header says, and on which line of the file each
record starts, so that rejects and ``source_row`` point at the line a person opens in an editor.
"""

from __future__ import annotations

import codecs
import csv
import io
from dataclasses import dataclass

import numpy as np

_CHUNK = 8 << 20
_NEWLINE, _CARRIAGE_RETURN, _QUOTE = 10, 13, 34


def invalid_byte(data: bytes, encoding: str) -> int | None:
    """Offset of the first byte that is not valid ``encoding``, or None (latin-1 is always valid).

    Example:
        >>> invalid_byte("café".encode("latin-1"), "utf-8")
        3
    """
    if encoding != "utf-8":
        return None
    decoder = codecs.getincrementaldecoder("utf-8")()
    view = memoryview(data)
    for offset in range(0, len(data), _CHUNK):
        # The decoder holds back up to 3 bytes of a character cut by the previous chunk boundary.
        pending = len(decoder.getstate()[0])
        try:
            decoder.decode(view[offset : offset + _CHUNK], final=offset + _CHUNK >= len(data))
        except UnicodeDecodeError as err:
            return offset - pending + err.start
    return None


def line_of_offset(data: bytes, offset: int) -> int:
    """1-based line of the byte at ``offset``."""
    return data.count(b"\n", 0, offset) + 1


def header_columns(data: bytes, *, delimiter: str, encoding: str) -> list[str]:
    """Column names of the header record (a leading UTF-8 byte-order mark is dropped)."""
    head = data[: 1 << 20].decode(encoding, errors="ignore")
    row = next(csv.reader(io.StringIO(head.lstrip("\ufeff")), delimiter=delimiter, quotechar='"'), [])
    return [name.strip() or f"column{index}" for index, name in enumerate(row)]


@dataclass(frozen=True)
class RecordLines:
    """Where the data records of a CSV start (header excluded), by two ways of counting lines.

    ``reader_line`` counts only newlines outside quotes (DuckDB's numbering in ``reject_errors``);
    ``file_line`` counts every newline (what an editor shows).
    """

    reader_line: np.ndarray
    file_line: np.ndarray


def record_lines(data: bytes) -> RecordLines:
    """Locate every non-empty record after the header, assuming RFC 4180 quoting (``""`` escapes).

    Example:
        >>> lines = record_lines(b'id,note\\n1,"two\\nlines"\\n\\n2,x\\n')
        >>> lines.reader_line.tolist(), lines.file_line.tolist()
        ([2, 4], [2, 5])
    """
    array = np.frombuffer(data, dtype=np.uint8)
    newlines = np.flatnonzero(array == _NEWLINE)
    quotes = np.flatnonzero(array == _QUOTE)
    # A newline is inside a quoted field when an odd number of quotes precede it.
    unquoted = newlines[np.searchsorted(quotes, newlines) % 2 == 0]
    starts = np.concatenate(([0], unquoted + 1))
    ends = np.concatenate((unquoted, [array.size]))
    lengths = ends - starts
    ends_with_cr = np.zeros(starts.size, dtype=bool)
    has_bytes = lengths > 0
    ends_with_cr[has_bytes] = array[ends[has_bytes] - 1] == _CARRIAGE_RETURN
    records = starts[(lengths - ends_with_cr) > 0]
    data_starts = records[1:]
    return RecordLines(
        reader_line=1 + np.searchsorted(unquoted, data_starts),
        file_line=1 + np.searchsorted(newlines, data_starts),
    )
