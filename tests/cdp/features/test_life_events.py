"""Life-event signals: each detected on the right day, with evidence, and reflected in the features."""

from __future__ import annotations

import datetime as dt
import json

import polars as pl

D = dt.date
AS_OF = D(2024, 6, 30)


def _evidence(result, customer_id: str, event: str) -> list[dict]:  # type: ignore[no-untyped-def]
    frame = result.life_events.filter((pl.col("customer_id") == customer_id) & (pl.col("event") == event))
    return [json.loads(text) for text in frame["evidence"]]


def test_new_salary_payer_is_a_new_job(bank) -> None:
    bank.customer("C1").account("C1", "A1")
    old = bank.monthly(D(2023, 7, 1), 7)  # Jul 2023 .. Jan 2024
    new = bank.monthly(D(2024, 2, 1), 5)  # Feb .. Jun 2024
    for day in old:
        bank.txn("A1", day, 2500, "salary", "Old Co")
    for day in new:
        bank.txn("A1", day, 3100, "salary", "New Co")
    result = bank.build()
    assert bank.events_of(result, "C1") == [("new_salary_payer", new[0])]
    assert _evidence(result, "C1", "new_salary_payer") == [
        {
            "payer": "new co",
            "first_payment": new[0].isoformat(),
            "n": 5,
            "cadence": "monthly",
            "median_amount": 3100.0,
            "salary_category_share": 1.0,
            "previous_payer": "old co",
        }
    ]
    got = bank.row(result, "C1")
    assert (got["salary_payer"], got["days_since_new_salary_payer"]) == ("new co", (AS_OF - new[0]).days)
    assert got["days_since_salary_stopped"] is None


def test_first_salary_at_the_start_of_the_data_is_not_a_new_job(bank) -> None:
    bank.customer("C1").account("C1", "A1")
    for day in bank.monthly(D(2024, 3, 1), 4):  # the account's history starts here
        bank.txn("A1", day, 2500, "salary", "Acme")
    assert bank.events_of(bank.build(), "C1") == []


def test_salary_stopped_after_the_grace_period(bank) -> None:
    bank.customer("C1").account("C1", "A1")
    for day in bank.monthly(D(2023, 7, 1), 10, day_of_month=26):  # last pay day Fri 26 Apr 2024
        bank.txn("A1", day, 2500, "salary", "Acme")
    bank.txn("A1", D(2024, 6, 2), -40, "purchase", "Shop")
    result = bank.build()
    # expected 26 May, 16 days' grace (half a month): overdue from 12 June
    assert bank.events_of(result, "C1") == [("salary_stopped", D(2024, 6, 12))]
    assert _evidence(result, "C1", "salary_stopped")[0]["expected_on"] == "2024-05-26"
    got = bank.row(result, "C1")
    assert (got["salary_detected"], got["days_since_salary_stopped"]) == (False, 18)


def test_address_change_across_records_and_versions(bank) -> None:
    bank.customer("C1", address_line1="1 main st", postcode="10001", updated_at=D(2020, 1, 1))
    bank.record(
        "C1", "CARD-1", source="card", address_line1="9 oak ave", postcode="10002", updated_at=D(2024, 5, 10)
    )
    # a stale system still shows the old address, updated later: not a move back
    bank.record(
        "C1", "WEB-1", source="digital", address_line1="1 main st", postcode="10001", updated_at=D(2024, 6, 1)
    )
    bank.customer("C2", address_line1="5 elm st", postcode="20001", updated_at=D(2024, 6, 20))
    bank.record(
        "C2", "C2-old", source="card", address_line1="5 elm st", postcode="20001", updated_at=D(2019, 1, 1)
    )
    result = bank.build()
    assert bank.events_of(result, "C1") == [("address_change", D(2024, 5, 10))]
    assert _evidence(result, "C1", "address_change") == [
        {
            "source": "card",
            "record_id": "CARD-1",
            "updated_at": "2024-05-10",
            "previous_source": "core",
            "previous_record_id": "R-C1",
            "previous_updated_at": "2020-01-01",
        }
    ]
    assert bank.row(result, "C1")["days_since_move"] == 51
    assert bank.events_of(result, "C2") == []  # same address in every record


def test_large_one_off_deposit_against_typical_inflow(bank) -> None:
    bank.customer("C1").account("C1", "A1")
    for day in bank.monthly(D(2023, 7, 1), 12):
        bank.txn("A1", day, 3000, "salary", "Acme")
    bank.txn("A1", D(2024, 3, 4), 5000, "deposit", "Car sale")  # under 3x the typical monthly inflow
    bank.txn("A1", D(2024, 6, 10), 20000, "deposit", "Title co")
    result = bank.build()
    assert bank.events_of(result, "C1") == [("large_deposit", D(2024, 6, 10))]
    evidence = _evidence(result, "C1", "large_deposit")[0]
    assert (evidence["amount"], evidence["typical_monthly_inflow"]) == (
        20000.0,
        round((36000 + 5000) / 12, 2),
    )
    assert bank.row(result, "C1")["days_since_large_deposit"] == 20


def test_mortgage_intent_needs_repeated_rate_views_in_two_weeks(bank) -> None:
    bank.customer("C1").customer("C2")
    for day in (1, 5, 20, 21, 25):
        bank.event("C1", dt.datetime(2024, 6, day, 9), "page_view", "/mortgages/rates")
    bank.event("C1", dt.datetime(2024, 6, 22, 9), "page_view", "/mortgages/calculator")
    for day in (1, 10, 20):  # three views, but never three in 14 days
        bank.event("C2", dt.datetime(2024, 6, day, 9), "page_view", "/Mortgages/Rates")
    result = bank.build()
    assert bank.events_of(result, "C1") == [("mortgage_intent", D(2024, 6, 25))]
    assert _evidence(result, "C1", "mortgage_intent")[0]["views_in_window"] == 3
    assert bank.events_of(result, "C2") == []
    assert bank.row(result, "C1")["days_since_mortgage_intent"] == 5


def test_approaching_retirement(bank) -> None:
    bank.customer("NEAR", dob=D(1960, 3, 1)).customer("RETIRED", dob=D(1950, 3, 1)).customer(
        "YOUNG", dob=D(1990, 1, 1)
    )
    bank.customer("UNKNOWN")
    result = bank.build()
    assert bank.events_of(result, "NEAR") == [("approaching_retirement", D(2022, 3, 1))]
    flags = result.features.select("customer_id", "approaching_retirement").rows()
    assert flags == [("NEAR", True), ("RETIRED", False), ("UNKNOWN", False), ("YOUNG", False)]
