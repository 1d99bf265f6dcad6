from __future__ import annotations

from pathlib import Path

import polars as pl
import pytest
from polars.testing import assert_frame_equal

from cdp.warehouse import Warehouse, pii_category
from cdp.warehouse.masking import masked_columns


@pytest.mark.parametrize(
    ("column", "category"),
    [
        ("first_name", "name"),
        ("last_name_l", "name"),
        ("employer_name", "name"),
        ("counterparty", "name"),
        ("segment_name", None),
        ("email", "email"),
        ("email_r", "email"),
        ("phone", "phone"),
        ("date_of_birth", "birth_date"),
        ("address_line2", "address"),
        ("national_id_token", "secret"),
        ("national_id_last4_token", "secret"),
        ("device_token", "secret"),
        ("postcode", None),
        ("customer_id", None),
    ],
)
def test_pii_category_by_column_name(column: str, category: str | None) -> None:
    assert pii_category(column) == category


def test_masked_view_masks_pii_and_never_exposes_tokens(tmp_path: Path, people: pl.DataFrame) -> None:
    warehouse = Warehouse(tmp_path / "wh")
    warehouse.publish({"people": people}, run_id="r1")

    masked = warehouse.query("SELECT * FROM masked_people ORDER BY record_id")

    expected = pl.DataFrame(
        {
            "source": ["core", "card", "digital"],
            "record_id": ["1", "2", "3"],
            "first_name": ["m***", "J***", None],
            "last_name": ["g***", "o***", "l***"],
            "email": ["m***@example.com", None, "***"],
            "phone": ["***67", None, "***21"],
            "birth_year": [1980, None, 2001],
            "postcode": ["02139", None, "10001"],
            "mw_first_name": [2.5, None, -1.0],
            "balance": [10.5, None, 0.0],
        }
    )
    assert_frame_equal(masked, expected)
    assert not any("national_id" in c or "token" in c or c.startswith("address") for c in masked.columns)


def test_every_published_table_gets_a_masked_view_automatically(tmp_path: Path, people: pl.DataFrame) -> None:
    warehouse = Warehouse(tmp_path / "wh")
    warehouse.publish({"people": people}, run_id="r1")
    warehouse.publish(
        {"new_table": pl.DataFrame({"id": [1], "secret_token": ["t"], "nick_name": ["bob"]})}, run_id="r2"
    )

    assert warehouse.views() == ["masked_new_table", "masked_people"]
    assert_frame_equal(
        warehouse.query("SELECT * FROM masked_new_table"), pl.DataFrame({"id": [1], "nick_name": ["b***"]})
    )


def test_attribute_value_tables_mask_value_by_attribute(tmp_path: Path) -> None:
    lineage = pl.DataFrame(
        {
            "customer_id": ["C1"] * 6,
            "attribute": [
                "first_name",
                "email",
                "national_id_token",
                "date_of_birth",
                "address_line1",
                "city",
            ],
            "value": ["maria", "m@x.org", "f" * 64, "1980-05-17", "12 main st", "boston"],
        }
    )
    warehouse = Warehouse(tmp_path / "wh")
    warehouse.publish({"customer_attribute_lineage": lineage}, run_id="r1")

    masked = warehouse.query("SELECT value FROM masked_customer_attribute_lineage")

    assert masked["value"].to_list() == ["m***", "m***@x.org", None, "1980", None, "boston"]


def test_unmaskable_pii_types_are_left_out() -> None:
    decisions = {
        column.column: column.output
        for column in masked_columns(
            [
                ("emails", "VARCHAR[]"),
                ("full_name", "VARCHAR[]"),
                ("email_r", "STRUCT(a VARCHAR)"),
                ("date_of_birth", "DATE[]"),
                ("gamma_first_name", "TINYINT"),
            ]
        )
    }
    assert decisions == {
        "emails": "emails",
        "full_name": None,
        "email_r": None,
        "date_of_birth": None,
        "gamma_first_name": "gamma_first_name",
    }
