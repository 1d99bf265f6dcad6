"""Survivorship: each step decides when the earlier ones tie, and lineage names record and step."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import polars as pl
from polars.testing import assert_frame_equal

from cdp.customer360 import build_golden_records, load_survivorship
from cdp.customer360.golden import LINEAGE_COLUMNS

D1, D2, D3 = dt.date(2020, 1, 1), dt.date(2022, 6, 1), dt.date(2024, 3, 1)


def lineage_of(lineage: pl.DataFrame, attribute: str) -> pl.DataFrame:
    return lineage.filter(pl.col("attribute") == attribute).select(
        "customer_id", "value", "source", "record_id", "rule"
    )


def expected(*rows: tuple[str, str, str, str, str]) -> pl.DataFrame:
    return pl.DataFrame(
        rows,
        schema={
            "customer_id": pl.String,
            "value": pl.String,
            "source": pl.String,
            "record_id": pl.String,
            "rule": pl.String,
        },
        orient="row",
    )


def test_trust_order_beats_a_newer_record(build, tmp_path: Path) -> None:
    rules_file = tmp_path / "rules.yaml"
    rules_file.write_text("attributes:\n  email:\n    trust: [core, digital]\n")
    rows = [
        {"key": "core_customers:1", "customer": "C1", "email": "old@bank.com", "updated_at": D1},
        {"key": "digital_users:9", "customer": "C1", "email": "new@web.com", "updated_at": D3},
    ]
    _, lineage = build_golden_records(
        build.parties(*rows), build.clusters(*rows), rules=load_survivorship(rules_file)
    )
    assert_frame_equal(
        lineage_of(lineage, "email"), expected(("C1", "old@bank.com", "core_customers", "1", "trust_order"))
    )


def test_recency_decides_between_equally_trusted_records(build) -> None:
    rows = [
        {"key": "core_customers:1", "customer": "C1", "phone": "+15550001111", "updated_at": D1},
        {"key": "core_customers:2", "customer": "C1", "phone": "+15550002222", "updated_at": D3},
        {"key": "core_customers:3", "customer": "C1", "phone": "+15550003333", "updated_at": None},
        # Without updated_at anywhere, the newer customer_since wins.
        {"key": "core_customers:4", "customer": "C2", "phone": "+15550004444", "customer_since": D1},
        {"key": "core_customers:5", "customer": "C2", "phone": "+15550005555", "customer_since": D2},
    ]
    _, lineage = build_golden_records(build.parties(*rows), build.clusters(*rows), rules=load_survivorship())
    assert_frame_equal(
        lineage_of(lineage, "phone"),
        expected(
            ("C1", "+15550002222", "core_customers", "2", "recency"),
            ("C2", "+15550005555", "core_customers", "5", "recency"),
        ),
    )


def test_frequency_decides_when_trust_and_recency_tie(build) -> None:
    rows = [
        {"key": "card_holders:1", "customer": "C1", "date_of_birth": dt.date(1980, 1, 2), "updated_at": D2},
        {"key": "card_holders:2", "customer": "C1", "date_of_birth": dt.date(1980, 2, 1), "updated_at": D2},
        {"key": "card_holders:3", "customer": "C1", "date_of_birth": dt.date(1980, 2, 1), "updated_at": D2},
    ]
    golden, lineage = build_golden_records(
        build.parties(*rows), build.clusters(*rows), rules=load_survivorship()
    )
    assert golden["date_of_birth"].to_list() == [dt.date(1980, 2, 1)]
    assert_frame_equal(
        lineage_of(lineage, "date_of_birth"), expected(("C1", "1980-02-01", "card_holders", "2", "frequency"))
    )


def test_completeness_prefers_the_longer_value(build) -> None:
    rows = [
        {"key": "core_customers:1", "customer": "C1", "email": "js@x.com", "updated_at": D2},
        {"key": "core_customers:2", "customer": "C1", "email": "john.smith@x.com", "updated_at": D2},
    ]
    _, lineage = build_golden_records(build.parties(*rows), build.clusters(*rows), rules=load_survivorship())
    assert_frame_equal(
        lineage_of(lineage, "email"),
        expected(("C1", "john.smith@x.com", "core_customers", "2", "completeness")),
    )


def test_tie_break_is_source_then_record_id_whatever_the_input_order(build) -> None:
    rows = [
        {"key": "crm:b7", "customer": "C1", "email": "b@x.com"},
        {"key": "crm:a9", "customer": "C1", "email": "a@x.com"},
        {"key": "web:a1", "customer": "C1", "email": "c@x.com"},
    ]
    parties, clusters = build.parties(*rows), build.clusters(*rows)
    golden, lineage = build_golden_records(parties, clusters, rules=load_survivorship())
    assert_frame_equal(lineage_of(lineage, "email"), expected(("C1", "a@x.com", "crm", "a9", "tie_break")))
    for seed in range(3):
        shuffled_golden, shuffled_lineage = build_golden_records(
            parties.sample(fraction=1.0, shuffle=True, seed=seed),
            clusters.sample(fraction=1.0, shuffle=True, seed=seed),
            rules=load_survivorship(),
        )
        assert_frame_equal(shuffled_golden, golden)
        assert_frame_equal(shuffled_lineage, lineage)


def test_records_agreeing_on_a_value_are_only_value(build) -> None:
    rows = [
        {"key": "core_customers:1", "customer": "C1", "country": "US", "updated_at": D1},
        {"key": "card_holders:2", "customer": "C1", "country": "US", "updated_at": D3},
    ]
    _, lineage = build_golden_records(build.parties(*rows), build.clusters(*rows), rules=load_survivorship())
    assert_frame_equal(
        lineage_of(lineage, "country"), expected(("C1", "US", "core_customers", "1", "only_value"))
    )


def test_placeholder_emails_never_become_golden(build) -> None:
    shared = [
        {"key": f"core_customers:s{i}", "customer": f"S{i}", "email": "shared@bank.com"} for i in range(6)
    ]
    rows = [
        # A pattern placeholder loses even to nothing, and even from the most trusted source.
        {"key": "digital_users:1", "customer": "C1", "email": "noemail@bank.com", "updated_at": D3},
        {"key": "core_customers:2", "customer": "C1", "email": "real@x.com", "updated_at": D1},
        {"key": "digital_users:3", "customer": "C2", "email": "NoEmail@Bank.com"},
        # Shared by 6 customers (> max_customers_per_value 5): a placeholder without any pattern.
        *shared,
        # A spouse sharing one address (2 customers) is a real value.
        {"key": "core_customers:f1", "customer": "F1", "email": "family@x.com"},
        {"key": "core_customers:f2", "customer": "F2", "email": "family@x.com"},
    ]
    golden, lineage = build_golden_records(
        build.parties(*rows), build.clusters(*rows), rules=load_survivorship()
    )
    emails = dict(golden.select("customer_id", "email").iter_rows())
    assert emails["C1"] == "real@x.com"
    assert emails["C2"] is None
    assert all(emails[f"S{i}"] is None for i in range(6))
    assert emails["F1"] == emails["F2"] == "family@x.com"
    assert lineage.filter(pl.col("value").str.contains("(?i)noemail|shared")).is_empty()


def test_address_is_chosen_as_one_block(build) -> None:
    rows = [
        # Most trusted record: no city. The newer, fuller digital address must not fill it in.
        {
            "key": "core_customers:1",
            "customer": "C1",
            "address_line1": "1 main st",
            "postcode": "10001",
            "state": "NY",
            "updated_at": D1,
            "source_file": "core/customers_1.csv",
            "source_row": 7,
        },
        {
            "key": "digital_users:2",
            "customer": "C1",
            "address_line1": "9 elm ave",
            "address_line2": "apt 2",
            "city": "boston",
            "state": "MA",
            "postcode": "02101",
            "updated_at": D3,
        },
        # A placeholder street line is not a candidate at all.
        {
            "key": "core_customers:3",
            "customer": "C2",
            "address_line1": "unknown",
            "city": "x",
            "postcode": "11111",
        },
        {
            "key": "card_holders:4",
            "customer": "C2",
            "address_line1": "5 oak rd",
            "city": "dover",
            "postcode": "19901",
        },
    ]
    golden, lineage = build_golden_records(
        build.parties(*rows), build.clusters(*rows), rules=load_survivorship()
    )
    block = ["address_line1", "address_line2", "city", "state", "postcode"]
    assert_frame_equal(
        golden.select("customer_id", *block),
        pl.DataFrame(
            {
                "customer_id": ["C1", "C2"],
                "address_line1": ["1 main st", "5 oak rd"],
                "address_line2": [None, None],
                "city": [None, "dover"],
                "state": ["NY", None],
                "postcode": ["10001", "19901"],
            },
            schema_overrides={"address_line2": pl.String},
        ),
    )
    address_lineage = lineage.filter(pl.col("attribute").is_in(block) & (pl.col("customer_id") == "C1"))
    assert_frame_equal(
        address_lineage,
        pl.DataFrame(
            [
                (
                    "C1",
                    attribute,
                    value,
                    "core_customers",
                    "1",
                    "core",
                    "core/customers_1.csv",
                    7,
                    D1,
                    "trust_order",
                )
                for attribute, value in (
                    ("address_line1", "1 main st"),
                    ("postcode", "10001"),
                    ("state", "NY"),
                )
            ],
            schema=LINEAGE_COLUMNS,
            orient="row",
        ),
    )


def test_lineage_points_at_the_winning_record(build) -> None:
    rows = [
        {
            "key": "core_customers:17",
            "customer": "C1",
            "first_name": "maria",
            "middle_name": "j",
            "last_name": "garcia",
            "source_file": "core/customers_2.csv",
            "source_row": 42,
            "updated_at": D2,
        },
        {
            "key": "card_holders:88",
            "customer": "C1",
            "first_name": "mary",
            "last_name": "garcia",
            "source_file": "card/holders.csv",
            "source_row": 3,
            "updated_at": D3,
        },
    ]
    golden, lineage = build_golden_records(
        build.parties(*rows), build.clusters(*rows), rules=load_survivorship()
    )
    assert golden.select("first_name", "middle_name", "last_name", "full_name").row(0) == (
        "maria",
        "j",
        "garcia",
        "Maria J Garcia",
    )
    assert_frame_equal(
        lineage.filter(pl.col("attribute").is_in(["first_name", "full_name", "middle_name"])),
        pl.DataFrame(
            [
                (
                    "C1",
                    attribute,
                    value,
                    "core_customers",
                    "17",
                    "core",
                    "core/customers_2.csv",
                    42,
                    D2,
                    "trust_order",
                )
                for attribute, value in (
                    ("first_name", "maria"),
                    ("full_name", "Maria J Garcia"),
                    ("middle_name", "j"),
                )
            ],
            schema=LINEAGE_COLUMNS,
            orient="row",
        ),
    )


def test_a_true_compliance_flag_from_any_record_wins(build) -> None:
    rows = [
        {"key": "core_customers:1", "customer": "C1", "do_not_contact": False, "updated_at": D3},
        {"key": "digital_users:2", "customer": "C1", "do_not_contact": True, "updated_at": D1},
        {"key": "core_customers:3", "customer": "C2", "do_not_contact": False},
    ]
    golden, lineage = build_golden_records(
        build.parties(*rows), build.clusters(*rows), rules=load_survivorship()
    )
    assert golden["do_not_contact"].to_list() == [True, False]
    assert_frame_equal(
        lineage_of(lineage, "do_not_contact"),
        expected(
            ("C1", "true", "digital_users", "2", "prefer_true"),
            ("C2", "false", "core_customers", "3", "only_value"),
        ),
    )


def test_unknown_sources_fall_back_to_recency(build) -> None:
    rows = [
        {
            "key": "crm_contacts:1",
            "customer": "C1",
            "email": "old@x.com",
            "updated_at": D1,
            "source_system": "crm",
        },
        {
            "key": "web_profiles:2",
            "customer": "C1",
            "email": "new@x.com",
            "updated_at": D3,
            "source_system": "web",
        },
    ]
    _, lineage = build_golden_records(build.parties(*rows), build.clusters(*rows), rules=load_survivorship())
    assert_frame_equal(
        lineage_of(lineage, "email"), expected(("C1", "new@x.com", "web_profiles", "2", "recency"))
    )


def test_full_name_falls_back_to_a_mapped_full_name_and_customers_without_values_stay_null(build) -> None:
    rows = [
        {"key": "mortgage_borrowers:1", "customer": "C1", "full_name": "anne o neil"},
        {"key": "mortgage_borrowers:2", "customer": "C2"},
    ]
    golden, lineage = build_golden_records(
        build.parties(*rows), build.clusters(*rows), rules=load_survivorship()
    )
    assert golden.select("customer_id", "full_name", "first_name").rows() == [
        ("C1", "Anne O Neil", None),
        ("C2", None, None),
    ]
    assert lineage.select("customer_id", "attribute").rows() == [("C1", "full_name")]


def test_lineage_has_one_row_per_non_null_golden_attribute(build) -> None:
    rows = [
        {
            "key": "core_customers:1",
            "customer": "C1",
            "first_name": "a",
            "last_name": "b",
            "email": "a@b.com",
            "city": "x",
            "address_line1": "1 a st",
            "is_deceased": False,
        },
        {
            "key": "card_holders:2",
            "customer": "C1",
            "phone": "+15551234567",
            "date_of_birth": dt.date(1990, 1, 1),
        },
    ]
    golden, lineage = build_golden_records(
        build.parties(*rows), build.clusters(*rows), rules=load_survivorship()
    )
    non_null = golden.drop("customer_id").unpivot().filter(pl.col("value").is_not_null())["variable"].sort()
    assert lineage["attribute"].sort().to_list() == non_null.to_list()
    assert lineage.select("customer_id", "attribute").is_duplicated().sum() == 0


def test_records_without_a_cluster_are_left_out(build) -> None:
    rows = [{"key": "core_customers:1", "customer": "C1", "email": "a@b.com"}]
    golden, _ = build_golden_records(
        build.parties(*rows, {"key": "core_customers:2", "email": "x@y.com"}),
        build.clusters(*rows),
        rules=load_survivorship(),
    )
    assert golden.select("customer_id", "email").rows() == [("C1", "a@b.com")]
