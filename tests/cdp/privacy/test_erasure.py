from __future__ import annotations

import datetime as dt
from pathlib import Path

import polars as pl
import pytest
from polars.testing import assert_frame_equal

from cdp.errors import ConfigError
from cdp.privacy.erasure import ErasureRegister, load_erasure_register, suppress_erased


def test_missing_register_is_empty(tmp_path: Path) -> None:
    register = load_erasure_register(tmp_path / "erasure_requests.csv")
    assert len(register) == 0
    assert register.erased_keys.schema == pl.Schema({"source": pl.String, "record_id": pl.String})


def test_register_loads_trimmed_keys_and_dates(tmp_path: Path) -> None:
    path = tmp_path / "erasure_requests.csv"
    path.write_text(
        "source,record_id,requested_at,reference\n"
        "core_customers, 00042 ,2024-03-01,DSR-1\n"
        "card_holders,C-9,,\n"
        "core_customers,00042,2024-03-02,DSR-2\n"
    )
    register = load_erasure_register(path)

    expected = pl.DataFrame(
        {
            "source": ["core_customers", "card_holders", "core_customers"],
            "record_id": ["00042", "C-9", "00042"],
            "requested_at": [dt.date(2024, 3, 1), None, dt.date(2024, 3, 2)],
            "reference": ["DSR-1", None, "DSR-2"],
            "line": [2, 3, 4],
        }
    )
    assert_frame_equal(register.requests, expected)
    assert register.erased_keys.rows() == [("card_holders", "C-9"), ("core_customers", "00042")]


@pytest.mark.parametrize(
    ("content", "fragment"),
    [
        ("record_id,reference\n1,x\n", "missing column(s) source"),
        ("source,record_id\ncore,\n", "line 2: source and record_id are both required"),
        (
            "source,record_id,requested_at\ncore,1,2024-01-01\ncore,2,yesterday\n",
            "line 3: requested_at is not",
        ),
    ],
)
def test_malformed_register_is_a_config_error(tmp_path: Path, content: str, fragment: str) -> None:
    path = tmp_path / "erasure_requests.csv"
    path.write_text(content)
    with pytest.raises(ConfigError) as caught:
        load_erasure_register(path)
    assert str(path) in str(caught.value)
    assert fragment in str(caught.value)


def test_unknown_source_is_a_config_error(tmp_path: Path) -> None:
    path = tmp_path / "erasure_requests.csv"
    path.write_text("source,record_id\ncore_customers,1\ncore_custmers,2\n")
    with pytest.raises(ConfigError, match="line 3: source 'core_custmers' is not a party entry"):
        load_erasure_register(path).check_sources(["core_customers"])


def test_suppress_erased_by_any_key_columns() -> None:
    keys = pl.DataFrame({"source": ["core", "web"], "record_id": ["1", "9"]})
    events = pl.DataFrame(
        {
            "party_source": ["core", "core", "web", None],
            "party_record_id": ["1", "2", "9", "1"],
            "event_id": ["e1", "e2", "e3", "e4"],
        }
    )
    kept = suppress_erased(events, keys, source_column="party_source", record_id_column="party_record_id")
    assert_frame_equal(
        kept,
        pl.DataFrame(
            {"party_source": ["core", None], "party_record_id": ["2", "1"], "event_id": ["e2", "e4"]}
        ),
    )
    assert (
        suppress_erased(
            events, ErasureRegister.empty(), source_column="party_source", record_id_column="party_record_id"
        ).height
        == 4
    )
