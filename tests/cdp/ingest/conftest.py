"""Helpers that write a small source config and its extracts under tmp_path."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
import yaml

TEST_KEY = "ingest-test-key-0123456789abcdef"


@pytest.fixture(autouse=True)
def _token_key(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CDP_TOKEN_KEY", TEST_KEY)


WriteSource = Callable[..., Path]


@pytest.fixture
def write_source(tmp_path: Path) -> WriteSource:
    """Write ``files`` (relative path -> text or bytes) and a sources.yaml holding ``config``."""

    def write(config: dict[str, object], files: dict[str, str | bytes]) -> Path:
        for relative, content in files.items():
            path = tmp_path / relative
            path.parent.mkdir(parents=True, exist_ok=True)
            if isinstance(content, bytes):
                path.write_bytes(content)
            else:
                path.write_text(content, encoding="utf-8")
        config_path = tmp_path / "sources.yaml"
        config_path.write_text(yaml.safe_dump({"version": 1, **config}, sort_keys=False), encoding="utf-8")
        return config_path

    return write


def _party_entry(**overrides: object) -> dict[str, object]:
    entry: dict[str, object] = {
        "name": "core_customers",
        "system": "core",
        "path": "core/customers_*.csv",
        "format": "csv",
        "record_id": "cif_no",
        "fields": {
            "first_name": "first_nm",
            "last_name": "last_nm",
            "date_of_birth": "strptime(birth_dt, '%m/%d/%Y')",
            "address_line1": "concat_ws(' ', house_no, street)",
            "national_id": "ssn",
        },
    }
    entry.update(overrides)
    return entry


@pytest.fixture
def party_entry() -> Callable[..., dict[str, object]]:
    """A core-banking party entry builder; keyword arguments replace its keys."""
    return _party_entry


@pytest.fixture
def header() -> str:
    """The header of the core-banking customer extract that :func:`party_entry` reads."""
    return "cif_no,first_nm,last_nm,birth_dt,house_no,street,ssn\n"
