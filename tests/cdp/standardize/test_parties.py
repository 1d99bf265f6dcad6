from __future__ import annotations

import datetime as dt
import logging

import polars as pl
import pytest
from polars.testing import assert_frame_equal

from cdp.schemas.canonical import PARTY_COLUMNS
from cdp.standardize import standardize_parties


def test_output_has_exactly_the_canonical_schema_when_input_has_few_columns() -> None:
    out = standardize_parties(pl.DataFrame({"source": ["core"], "record_id": ["1"]}))
    assert out.schema == pl.Schema(PARTY_COLUMNS)
    assert out.row(0, named=True)["country"] == "US"
    assert out.drop("source", "record_id", "country").null_count().row(0) == (1,) * (len(PARTY_COLUMNS) - 3)


@pytest.mark.parametrize("height", [0, 3])
def test_missing_columns_become_typed_nulls_of_the_frame_height(height: int) -> None:
    mapped = pl.DataFrame({"record_id": [str(i) for i in range(height)]}, schema={"record_id": pl.String})
    out = standardize_parties(mapped)
    assert out.height == height
    assert out.schema == pl.Schema(PARTY_COLUMNS)


def test_parties_end_to_end() -> None:
    mapped = pl.DataFrame(
        {
            "source": ["core_customers", "card_accounts", "digital_users"],
            "record_id": [" C001 ", "4111", "u-9"],
            "source_system": ["core", "card", "digital"],
            "first_name": [None, None, "Zoë"],
            "middle_name": [None, None, ""],
            "last_name": [None, None, "Ørsted-Nguyễn"],
            "full_name": ["SMITH, JOSÉ A", "J SMITH", None],
            "date_of_birth": ["01/31/1980", "31-JAN-1980", "19800131"],
            "email": ["Jose+bank@Mail.com", "not-an-email", " ZOE@EXAMPLE.ORG "],
            "phone": ["(555) 123-4567", "1-555-123-4567", "garbage"],
            "address_line1": ["123 North Main Street", "123 N. Main St.", "1 Rue de l'Église"],
            "address_line2": ["Apartment 4B", "#4B", None],
            "city": ["Saint Louis", "St. Louis", "Paris"],
            "state": ["Missouri", "mo", None],
            "postcode": ["63101-1234", "63101", "75001"],
            "country": [None, "USA", "France"],
            "national_id_token": ["ab12", None, None],
            "national_id_last4_token": ["cd34", "cd34", None],
            "customer_since": ["2001-05-06", "20100101", None],
            "updated_at": ["2024-01-02T03:04:05", None, "2024-02-03"],
            "is_deceased": ["N", "Y", None],
            "do_not_contact": ["0", "true", "F"],
            "source_file": ["core/c.csv", "card/a.csv", "digital/u.csv"],
            "source_row": ["2", "3", "4"],
        }
    )
    expected = pl.DataFrame(
        {
            "source": ["core_customers", "card_accounts", "digital_users"],
            "record_id": ["C001", "4111", "u-9"],
            "source_system": ["core", "card", "digital"],
            "first_name": ["jose", "j", "zoe"],
            "middle_name": ["a", None, None],
            "last_name": ["smith", "smith", "orsted nguyen"],
            "full_name": ["jose a smith", "j smith", "zoe orsted nguyen"],
            "date_of_birth": [dt.date(1980, 1, 31)] * 3,
            "email": ["jose@mail.com", None, "zoe@example.org"],
            "phone": ["+15551234567", "+15551234567", None],
            "address_line1": ["123 n main st", "123 n main st", "1 rue de leglise"],
            "address_line2": ["apt 4b", "apt 4b", None],
            "city": ["st louis", "st louis", "paris"],
            "state": ["MO", "MO", None],
            "postcode": ["63101", "63101", "75001"],
            "country": ["US", "US", "FR"],
            "national_id_token": ["ab12", None, None],
            "national_id_last4_token": ["cd34", "cd34", None],
            "customer_since": [dt.date(2001, 5, 6), dt.date(2010, 1, 1), None],
            "updated_at": [dt.date(2024, 1, 2), None, dt.date(2024, 2, 3)],
            "is_deceased": [False, True, None],
            "do_not_contact": [False, True, False],
            "source_file": ["core/c.csv", "card/a.csv", "digital/u.csv"],
            "source_row": [2, 3, 4],
        },
        schema=PARTY_COLUMNS,
    )
    assert_frame_equal(standardize_parties(mapped), expected)


def test_given_names_win_and_full_name_fills_the_gaps() -> None:
    mapped = pl.DataFrame(
        {
            "first_name": ["Jon", None, "Mary", "Ann"],
            "middle_name": [None, None, None, None],
            "last_name": [None, "Smith", "Jones", "Lee"],
            "full_name": ["John Adam Smith", "Smith, John Adam", "Mary Ellen Jones", "Bob Q Public"],
        }
    )
    out = standardize_parties(mapped).select("first_name", "middle_name", "last_name", "full_name")
    expected = pl.DataFrame(
        {
            "first_name": ["jon", "john", "mary", "ann"],
            # Middle names only come from a full name that agrees with the given first and last names.
            "middle_name": [None, "adam", "ellen", None],
            "last_name": ["smith", "smith", "jones", "lee"],
            "full_name": ["john adam smith", "john adam smith", "mary ellen jones", "bob q public"],
        }
    )
    assert_frame_equal(out, expected)


def test_full_name_is_built_from_parts_when_the_source_has_none() -> None:
    mapped = pl.DataFrame(
        {"first_name": ["Dr. José", "N/A"], "middle_name": ["A.", None], "last_name": ["García Jr", "Doe"]}
    )
    out = standardize_parties(mapped).select("first_name", "middle_name", "last_name", "full_name")
    expected = pl.DataFrame(
        {
            "first_name": ["jose", None],
            "middle_name": ["a", None],
            "last_name": ["garcia", "doe"],
            "full_name": ["jose a garcia", "doe"],
        }
    )
    assert_frame_equal(out, expected)


def test_values_already_typed_by_the_source_sql() -> None:
    mapped = pl.DataFrame(
        {
            "record_id": [1001, 1002],
            "date_of_birth": [dt.date(1970, 5, 17), None],
            "customer_since": [dt.datetime(2001, 1, 2, 3, 4), dt.datetime(2002, 2, 3)],
            "postcode": [2134.0, 90210.0],
            "phone": [5551234567, None],
            "is_deceased": [True, None],
            "do_not_contact": [1, 0],
            "source_row": [2, 3],
        }
    )
    out = standardize_parties(mapped).select(
        "record_id", "date_of_birth", "customer_since", "postcode", "phone", "is_deceased", "do_not_contact"
    )
    expected = pl.DataFrame(
        {
            "record_id": ["1001", "1002"],
            "date_of_birth": [dt.date(1970, 5, 17), None],
            "customer_since": [dt.date(2001, 1, 2), dt.date(2002, 2, 3)],
            "postcode": ["02134", "90210"],
            "phone": ["+15551234567", None],
            "is_deceased": [True, None],
            "do_not_contact": [True, False],
        }
    )
    assert_frame_equal(out, expected)


def test_raw_national_ids_never_pass_through() -> None:
    mapped = pl.DataFrame({"record_id": ["1"], "national_id": ["123-45-6789"], "national_id_token": ["f00d"]})
    out = standardize_parties(mapped)
    assert "national_id" not in out.columns
    assert out["national_id_token"].to_list() == ["f00d"]


def test_logs_counts_not_values(caplog: pytest.LogCaptureFixture) -> None:
    mapped = pl.DataFrame({"record_id": ["1"], "first_name": ["Zebedee"], "email": ["zebedee@example.com"]})
    with caplog.at_level(logging.DEBUG, logger="cdp.standardize"):
        standardize_parties(mapped)
    assert caplog.records, "standardize_parties should log its row count"
    logged = " ".join(f"{record.getMessage()} {record.__dict__}" for record in caplog.records).lower()
    assert "zebedee" not in logged


def test_placeholder_dates_of_birth_become_null_and_real_ones_survive() -> None:
    mapped = pl.DataFrame(
        {
            "source": ["core"] * 4,
            "record_id": ["1", "2", "3", "4"],
            "date_of_birth": ["01/01/1900", "1899-12-31", "1850-05-05", "1901-01-02"],
        }
    )
    births = standardize_parties(mapped)["date_of_birth"].to_list()
    assert births == [None, None, None, dt.date(1901, 1, 2)]
