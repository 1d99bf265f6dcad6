from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Mapping

import polars as pl
import pytest
from polars.testing import assert_frame_equal

from cdp.schemas.canonical import (
    ACCOUNT_COLUMNS,
    ACCOUNT_HOLDER_COLUMNS,
    CONSENT_COLUMNS,
    EVENT_COLUMNS,
    TRANSACTION_COLUMNS,
)
from cdp.standardize import (
    standardize_account_holders,
    standardize_accounts,
    standardize_consents,
    standardize_events,
    standardize_transactions,
)

FUNCTIONS: list[tuple[Callable[[pl.DataFrame], pl.DataFrame], Mapping[str, pl.DataType]]] = [
    (standardize_accounts, ACCOUNT_COLUMNS),
    (standardize_account_holders, ACCOUNT_HOLDER_COLUMNS),
    (standardize_transactions, TRANSACTION_COLUMNS),
    (standardize_events, EVENT_COLUMNS),
    (standardize_consents, CONSENT_COLUMNS),
]


@pytest.mark.parametrize(("function", "columns"), FUNCTIONS)
def test_output_has_exactly_the_canonical_schema(
    function: Callable[[pl.DataFrame], pl.DataFrame], columns: Mapping[str, pl.DataType]
) -> None:
    mapped = pl.DataFrame(
        {"source": ["s"], "account_id": ["1"], "party_record_id": ["p"], "unexpected_column": ["x"]}
    )
    out = function(mapped)
    assert out.schema == pl.Schema(columns)
    assert out.height == 1


@pytest.mark.parametrize(("function", "columns"), FUNCTIONS)
def test_empty_input_gives_an_empty_canonical_frame(
    function: Callable[[pl.DataFrame], pl.DataFrame], columns: Mapping[str, pl.DataType]
) -> None:
    out = function(pl.DataFrame(schema={"source": pl.String}))
    assert out.schema == pl.Schema(columns)
    assert out.height == 0


def test_standardize_accounts() -> None:
    mapped = pl.DataFrame(
        {
            "source": ["core_accounts", "card_accounts", "mortgage_loans", "core_accounts"],
            "account_id": [" 0042 ", "4111-0001", "M-1", "77"],
            "source_system": ["core", "card", "mortgage", "core"],
            "product_family": [None, "Credit Card", "MTG", "Safe Deposit Box"],
            "product_type": ["Savings", "Credit Card", "Fixed 30", "box"],
            "currency": ["usd", "$", " USD ", "Euros"],
            "balance": ["$1,200.50", "(35.00)", "250000", ""],
            "credit_limit": [None, "5,000", None, None],
            "principal": [None, None, "300000.00", None],
            "interest_rate": [None, "19.99%", "6.5", None],
            "term_months": [None, None, "360", None],
            "days_past_due": ["0", "30", None, None],
            "opened_date": ["2019-04-01", "04/01/2019", "01-APR-2019", "20190401"],
            "closed_date": [None, None, None, "2020-01-01"],
            "status": ["ACTIVE", "Charged Off", "open", "Closed"],
            "source_file": ["a.csv", "b.csv", "c.csv", "a.csv"],
            "source_row": [2, 2, 2, 3],
        }
    )
    expected = pl.DataFrame(
        {
            "source": ["core_accounts", "card_accounts", "mortgage_loans", "core_accounts"],
            "account_id": ["0042", "4111-0001", "M-1", "77"],
            "source_system": ["core", "card", "mortgage", "core"],
            "product_family": ["deposit", "card", "mortgage", "safe_deposit_box"],
            "product_type": ["savings", "credit_card", "fixed_30", "box"],
            "currency": ["USD", "USD", "USD", None],
            "balance": [1200.5, -35.0, 250000.0, None],
            "credit_limit": [None, 5000.0, None, None],
            "principal": [None, None, 300000.0, None],
            "interest_rate": [None, 19.99, 6.5, None],
            "term_months": [None, None, 360, None],
            "days_past_due": [0, 30, None, None],
            "opened_date": [dt.date(2019, 4, 1)] * 4,
            "closed_date": [None, None, None, dt.date(2020, 1, 1)],
            "status": ["open", "charged_off", "open", "closed"],
            "source_file": ["a.csv", "b.csv", "c.csv", "a.csv"],
            "source_row": [2, 2, 2, 3],
        },
        schema=ACCOUNT_COLUMNS,
    )
    assert_frame_equal(standardize_accounts(mapped), expected)


def test_standardize_accounts_with_typed_values() -> None:
    mapped = pl.DataFrame(
        {"account_id": [42], "balance": [10], "opened_date": [dt.date(2020, 1, 1)], "term_months": [360.0]}
    )
    out = standardize_accounts(mapped).select("account_id", "balance", "opened_date", "term_months")
    expected = pl.DataFrame(
        {"account_id": ["42"], "balance": [10.0], "opened_date": [dt.date(2020, 1, 1)], "term_months": [360]}
    )
    assert_frame_equal(out, expected)


def test_standardize_account_holders_drops_links_without_keys() -> None:
    mapped = pl.DataFrame(
        {
            "account_source": ["core_accounts"] * 4,
            "account_id": ["1", "1", "2", None],
            "party_source": ["core_customers"] * 4,
            "party_record_id": ["7", "8", " ", "9"],
            "role": ["Primary Owner", "JOINT", "joint", "primary"],
        }
    )
    expected = pl.DataFrame(
        {
            "account_source": ["core_accounts"] * 2,
            "account_id": ["1", "1"],
            "party_source": ["core_customers"] * 2,
            "party_record_id": ["7", "8"],
            "role": ["primary", "joint"],
        }
    )
    assert_frame_equal(standardize_account_holders(mapped), expected)


def test_standardize_transactions() -> None:
    mapped = pl.DataFrame(
        {
            "source": ["core_transactions"] * 3,
            "transaction_id": ["t1", "t2", "t3"],
            "account_source": ["core_accounts"] * 3,
            "account_id": ["0042", "0042", "0042"],
            "posted_date": ["2024-01-31", "01/31/2024", None],
            "amount": ["2,500.00", "-1200", "(4.50)"],
            "category": ["PAYROLL", "Rent", "Service Charge"],
            "counterparty": ["  ACME   Corp ", "Oak Apartments LLC", None],
            "merchant_category": [None, None, " Grocery  Stores "],
        }
    )
    expected = pl.DataFrame(
        {
            "source": ["core_transactions"] * 3,
            "transaction_id": ["t1", "t2", "t3"],
            "account_source": ["core_accounts"] * 3,
            "account_id": ["0042", "0042", "0042"],
            "posted_date": [dt.date(2024, 1, 31), dt.date(2024, 1, 31), None],
            "amount": [2500.0, -1200.0, -4.5],
            "category": ["salary", "rent", "fee"],
            "counterparty": ["ACME Corp", "Oak Apartments LLC", None],
            "merchant_category": [None, None, "grocery stores"],
            "source_file": [None, None, None],
            "source_row": [None, None, None],
        },
        schema=TRANSACTION_COLUMNS,
    )
    assert_frame_equal(standardize_transactions(mapped), expected)


def test_standardize_events() -> None:
    mapped = pl.DataFrame(
        {
            "source": ["digital_events"] * 4,
            "event_id": ["e1", "e2", "e3", "e4"],
            "party_source": ["digital_users"] * 4,
            "party_record_id": ["u1", "u1", "u2", "u2"],
            "event_time": ["2024-03-01T10:15:00Z", "2024-03-01 12:15:00+02:00", "03/01/2024 10:15 AM", "bad"],
            "event_type": ["LOGIN", "Page View", "App Start", "Chat Opened"],
            "page": [None, "https://bank.example/Mortgages/Rates/?utm=x", "/apply#step2", "/"],
            "channel": ["iOS", "Web", "android", "kiosk"],
            "device_id": [" d1 ", "d2", None, ""],
        }
    )
    expected = pl.DataFrame(
        {
            "source": ["digital_events"] * 4,
            "event_id": ["e1", "e2", "e3", "e4"],
            "party_source": ["digital_users"] * 4,
            "party_record_id": ["u1", "u1", "u2", "u2"],
            "event_time": [dt.datetime(2024, 3, 1, 10, 15)] * 3 + [None],
            "event_type": ["login", "page_view", "application_started", "chat_opened"],
            "page": [None, "/mortgages/rates", "/apply", "/"],
            "channel": ["app", "web", "app", "kiosk"],
            "device_id": ["d1", "d2", None, None],
            "source_file": [None] * 4,
            "source_row": [None] * 4,
        },
        schema=EVENT_COLUMNS,
    )
    assert_frame_equal(standardize_events(mapped), expected)


def test_standardize_events_with_typed_time_zone_aware_timestamps() -> None:
    moment = dt.datetime(2024, 3, 1, 12, 15, tzinfo=dt.timezone(dt.timedelta(hours=2)))
    mapped = pl.DataFrame({"event_id": ["e1"], "event_time": [moment]})
    out = standardize_events(mapped).select("event_time")
    assert_frame_equal(out, pl.DataFrame({"event_time": [dt.datetime(2024, 3, 1, 10, 15)]}))


def test_standardize_consents() -> None:
    mapped = pl.DataFrame(
        {
            "source": ["digital_consents"] * 4,
            "party_source": ["digital_users"] * 4,
            "party_record_id": ["u1", "u1", "u2", "u3"],
            "purpose": ["Marketing", "MKTG", "Credit Offers", "Data Brokering"],
            "channel": ["E-Mail", "Text", "Postal", "phone"],
            "granted": ["Y", "no", "TRUE", "?"],
            "updated_at": ["2024-01-02 03:04:05", "2024-01-03T00:00:00Z", "01/04/2024 09:00", None],
        }
    )
    expected = pl.DataFrame(
        {
            "source": ["digital_consents"] * 4,
            "party_source": ["digital_users"] * 4,
            "party_record_id": ["u1", "u1", "u2", "u3"],
            "purpose": ["marketing", "marketing", "credit_offers", "data_brokering"],
            "channel": ["email", "sms", "mail", "phone"],
            "granted": [True, False, True, None],
            "updated_at": [
                dt.datetime(2024, 1, 2, 3, 4, 5), dt.datetime(2024, 1, 3), dt.datetime(2024, 1, 4, 9), None,
            ],
            "source_file": [None] * 4,
            "source_row": [None] * 4,
        },
        schema=CONSENT_COLUMNS,
    )
    assert_frame_equal(standardize_consents(mapped), expected)


def test_consent_granted_already_boolean_from_sql() -> None:
    mapped = pl.DataFrame({"party_record_id": ["u1", "u2"], "granted": [True, False]})
    assert standardize_consents(mapped)["granted"].to_list() == [True, False]
