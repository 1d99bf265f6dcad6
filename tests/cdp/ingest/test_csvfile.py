from __future__ import annotations

import pytest

from cdp.ingest import csvfile
from cdp.ingest.csvfile import header_columns, invalid_byte, record_lines


@pytest.mark.parametrize(
    ("data", "reader_lines", "file_lines"),
    [
        (b"h\n1\n2\n", [2, 3], [2, 3]),
        (b"h\r\n1\r\n\r\n2", [2, 4], [2, 4]),
        (b'h,n\n1,"a\nb"\n2,c\n', [2, 3], [2, 4]),
        (b'h,n\n1,"say ""hi""\n there"\n\n\n2,c\n', [2, 5], [2, 6]),
        (b"h\n", [], []),
    ],
)
def test_record_lines(data: bytes, reader_lines: list[int], file_lines: list[int]) -> None:
    lines = record_lines(data)
    assert lines.reader_line.tolist() == reader_lines
    assert lines.file_line.tolist() == file_lines


def test_invalid_byte_is_found_across_chunk_boundaries(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(csvfile, "_CHUNK", 4)
    data = "abcé".encode() + b"xy\xffz"  # 'é' (2 bytes) straddles the first chunk boundary
    assert invalid_byte(data, "utf-8") == 7
    assert invalid_byte("abcé".encode() * 3, "utf-8") is None
    assert invalid_byte(b"\xff\xfe", "latin-1") is None


def test_header_columns_handle_quotes_bom_and_blank_names() -> None:
    data = '\ufeff"cif no",first,,"a,b"\n1,2,3,4\n'.encode()
    assert header_columns(data, delimiter=",", encoding="utf-8") == ["cif no", "first", "column2", "a,b"]
