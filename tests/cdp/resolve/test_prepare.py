from __future__ import annotations

import datetime as dt

import polars as pl
from polars.testing import assert_frame_equal

from cdp.resolve import PlaceholderValues, detect_placeholders, prepare_linkage_input
from cdp.resolve.prepare import LINKAGE_COLUMNS


def test_prepare_builds_ids_and_derived_columns() -> None:
    parties = pl.DataFrame(
        {
            "source": ["digital_users", "card_holders"],
            "record_id": ["D:1", "H7"],
            "first_name": ["bill", None],
            "last_name": ["smith", None],
            "full_name": [None, "j van dyke"],
            "date_of_birth": [None, dt.date(1980, 3, 9)],
            "email": ["bill.smith@aol.com", "  "],
        }
    )
    expected = pl.DataFrame(
        {
            "unique_id": ["card_holders:H7", "digital_users:D:1"],
            "source": ["card_holders", "digital_users"],
            "record_id": ["H7", "D:1"],
            "first_name": ["j", "bill"],
            "first_name_groups": [["j"], ["bill", "robert", "will", "william", "willis"]],
            "last_name": ["dyke", "smith"],
            "dob": ["1980-03-09", None],
            "email": [None, "bill.smith@aol.com"],
            "email_local": [None, "bill.smith"],
        },
        schema_overrides={"first_name_groups": pl.List(pl.String)},
    )
    prepared = prepare_linkage_input(parties, placeholders=PlaceholderValues())
    assert prepared.columns == list(LINKAGE_COLUMNS)
    assert_frame_equal(prepared.select(expected.columns), expected)
    assert prepared["phone"].null_count() == 2


def test_detect_placeholders_flags_only_implausibly_shared_values() -> None:
    households = [f"+1555000{i:04d}" for i in range(200) for _ in range(3)]  # 3 records per real phone
    branch = ["+15559990000"] * 25
    parties = pl.DataFrame({"phone": households + branch, "email": [None] * 625})
    found = detect_placeholders(parties, columns=("phone", "email"))
    assert found.of("phone") == ["+15559990000"]
    assert found.of("email") == []
    assert found.thresholds["phone"] == 12  # 4 x the 99th percentile (3), above the floor of 10


def test_placeholders_are_nulled_before_matching() -> None:
    token = "f" * 64
    parties = pl.DataFrame(
        {
            "source": ["core"] * 3,
            "record_id": ["1", "2", "3"],
            "national_id_token": [token, token, "a" * 64],
            "date_of_birth": [dt.date(1900, 1, 1), dt.date(1970, 5, 6), dt.date(1900, 1, 1)],
        }
    )
    placeholders = PlaceholderValues(
        values={"national_id_token": frozenset({token}), "date_of_birth": frozenset({"1900-01-01"})}
    )
    prepared = prepare_linkage_input(parties, placeholders=placeholders)
    assert prepared["national_id_token"].to_list() == [None, None, "a" * 64]
    assert prepared["dob"].to_list() == [None, "1970-05-06", None]
