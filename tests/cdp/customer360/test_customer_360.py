"""customer_360 assembly: holdings, relationship, engagement, consent, households, one row per customer."""

from __future__ import annotations

import datetime as dt

import polars as pl
import pytest
from polars.testing import assert_frame_equal

from cdp.customer360 import Customer360Result, build_customer_360, load_survivorship
from cdp.customer360.consent import CONSENT_STATE_COLUMNS
from cdp.customer360.households import household_id
from cdp.schemas.canonical import ACCOUNT_COLUMNS, ACCOUNT_HOLDER_COLUMNS, CONSENT_COLUMNS, EVENT_COLUMNS

AS_OF = dt.date(2026, 6, 30)
EMPTY = pl.DataFrame()

PARTY_ROWS = [
    {
        "key": "core_customers:1",
        "customer": "C1",
        "first_name": "ann",
        "last_name": "lee",
        "customer_since": dt.date(2015, 3, 10),
        "date_of_birth": dt.date(1980, 7, 1),
        "address_line1": "1 main st",
        "postcode": "10001",
    },
    {"key": "card_holders:K1", "customer": "C1", "first_name": "ann", "last_name": "lee"},
    {"key": "digital_users:U1", "customer": "C1", "email": "ann@x.com"},
    {
        "key": "core_customers:2",
        "customer": "C2",
        "first_name": "bob",
        "last_name": "lee",
        "customer_since": dt.date(2020, 1, 1),
        "date_of_birth": dt.date(1979, 6, 30),
        "address_line1": "1 Main St.",
        "postcode": "10001-1234",
    },
    {
        "key": "mortgage_borrowers:M3",
        "customer": "C3",
        "last_name": "kim",
        "address_line1": "7 oak ave",
        "postcode": "20002",
    },
]


def frame(rows: list[tuple[object, ...]], columns: dict[str, pl.DataType]) -> pl.DataFrame:
    return pl.DataFrame(rows, schema=columns, orient="row")


#: The account columns these tests fill in; the rest are typed nulls.
ACCOUNT_TEST_COLUMNS = {
    name: ACCOUNT_COLUMNS[name]
    for name in (
        "source",
        "account_id",
        "product_family",
        "balance",
        "credit_limit",
        "days_past_due",
        "opened_date",
        "closed_date",
        "status",
    )
}


def accounts() -> pl.DataFrame:
    return frame(
        [
            ("core_acct", "D1", "deposit", 1000.0, None, 0, dt.date(2012, 5, 1), None, "open"),
            ("core_acct", "D2", "deposit", 500.0, None, 0, dt.date(2016, 1, 1), None, "open"),
            (
                "core_acct",
                "D3",
                "deposit",
                9999.0,
                None,
                0,
                dt.date(2010, 1, 1),
                dt.date(2019, 1, 1),
                "closed",
            ),
            ("cards", "K1", "card", 750.0, 3000.0, 45, dt.date(2018, 1, 1), None, "open"),
            ("cards", "K2", "card", 100.0, 1000.0, 0, dt.date(2018, 1, 1), None, "charged_off"),
            ("cards", "K3", "card", 20.0, 500.0, 0, dt.date(2019, 1, 1), None, "open"),
            ("mortgages", "M1", "mortgage", 250000.0, None, 0, dt.date(2021, 1, 1), None, "open"),
            ("mortgages", "M2", "mortgage", 90000.0, None, 0, dt.date(2027, 1, 1), None, "open"),
        ],
        ACCOUNT_TEST_COLUMNS,
    )


def holders() -> pl.DataFrame:
    return frame(
        [
            ("core_acct", "D1", "core_customers", "1", "primary"),
            ("core_acct", "D2", "core_customers", "1", "primary"),
            ("core_acct", "D2", "core_customers", "2", "joint"),
            ("core_acct", "D3", "core_customers", "1", "primary"),
            ("cards", "K1", "card_holders", "K1", "primary"),
            ("cards", "K1", "core_customers", "1", "primary"),  # same customer through two records: once
            ("cards", "K2", "card_holders", "K1", "primary"),
            ("cards", "K3", "core_customers", "2", "authorized_user"),
            ("mortgages", "M1", "mortgage_borrowers", "M3", "primary"),
            ("mortgages", "M2", "mortgage_borrowers", "M3", "primary"),  # opens after as_of
        ],
        dict(ACCOUNT_HOLDER_COLUMNS),
    )


def events() -> pl.DataFrame:
    columns = {
        name: EVENT_COLUMNS[name]
        for name in ("source", "event_id", "party_source", "party_record_id", "event_time", "event_type")
    }
    return frame(
        [
            ("ev", "e1", "digital_users", "U1", dt.datetime(2026, 6, 30, 23, 59), "login"),  # last day counts
            ("ev", "e2", "digital_users", "U1", dt.datetime(2026, 6, 1, 0, 0), "login"),  # day 30
            ("ev", "e3", "digital_users", "U1", dt.datetime(2026, 5, 31, 23, 0), "login"),  # day 31: 90d only
            ("ev", "e4", "digital_users", "U1", dt.datetime(2026, 4, 1), "login"),  # day 91: neither
            ("ev", "e5", "digital_users", "U1", dt.datetime(2026, 6, 15), "page_view"),
            ("ev", "e6", "digital_users", "U1", dt.datetime(2026, 7, 1, 0, 0), "login"),  # after as_of
        ],
        columns,
    )


def consents() -> pl.DataFrame:
    columns = {
        name: CONSENT_COLUMNS[name]
        for name in (
            "source",
            "party_source",
            "party_record_id",
            "purpose",
            "channel",
            "granted",
            "updated_at",
        )
    }
    return frame(
        [
            ("digital_consents", "digital_users", "U1", "marketing", "email", True, dt.datetime(2025, 1, 1)),
            ("core_consents", "core_customers", "1", "marketing", "email", False, dt.datetime(2025, 6, 1)),
            ("digital_consents", "digital_users", "U1", "marketing", "sms", True, dt.datetime(2025, 2, 1)),
            ("core_consents", "core_customers", "2", "profiling", "app", True, dt.datetime(2024, 1, 1)),
            ("core_consents", "core_customers", "2", "profiling", "app", False, dt.datetime(2024, 1, 1)),
            ("core_consents", "core_customers", "404", "marketing", "email", True, dt.datetime(2024, 1, 1)),
        ],
        columns,
    )


@pytest.fixture
def result(build) -> Customer360Result:
    return build_customer_360(
        parties=build.parties(*PARTY_ROWS),
        clusters=build.clusters(*PARTY_ROWS),
        accounts=accounts(),
        account_holders=holders(),
        events=events(),
        consents=consents(),
        rules=load_survivorship(),
        as_of=AS_OF,
    )


def test_holdings_count_open_owned_accounts_only(result: Customer360Result) -> None:
    got = result.customer_360.select(
        "customer_id",
        "deposit_accounts",
        "deposit_balance",
        "card_accounts",
        "card_balance",
        "card_limit",
        "card_utilization",
        "mortgage_accounts",
        "mortgage_balance",
        "max_days_past_due_card",
        "max_days_in_arrears_mortgage",
        "in_arrears",
        "product_families",
        "n_products",
    )
    want = pl.DataFrame(
        {
            "customer_id": ["C1", "C2", "C3"],
            "deposit_accounts": [2, 1, 0],
            "deposit_balance": [1500.0, 500.0, 0.0],
            "card_accounts": [1, 0, 0],
            "card_balance": [750.0, 0.0, 0.0],
            "card_limit": [3000.0, 0.0, 0.0],
            "card_utilization": [0.25, None, None],
            "mortgage_accounts": [0, 0, 1],
            "mortgage_balance": [0.0, 0.0, 250000.0],
            "max_days_past_due_card": [45, None, None],
            "max_days_in_arrears_mortgage": [None, None, 0],
            "in_arrears": [True, False, False],
            "product_families": [["card", "deposit"], ["deposit"], ["mortgage"]],
            "n_products": [3, 1, 1],
        },
        schema_overrides={"max_days_past_due_card": pl.Int64, "max_days_in_arrears_mortgage": pl.Int64},
    )
    assert_frame_equal(got, want)


def test_a_charged_off_debt_is_arrears_though_the_account_is_closed(build) -> None:
    """A charge-off or write-off closes the account in the books, not the debt: a credit offer must
    not reach the customer, so ``in_arrears`` stays true with no open account past due."""
    statuses = {"K1": "charged_off", "K2": "written_off", "K3": "closed", "K4": "charged_off"}
    accounts_frame = frame(
        [
            ("cards", account, "card", 900.0, 1000.0, 0, dt.date(2018, 1, 1), None, status)
            for account, status in statuses.items()
        ],
        ACCOUNT_TEST_COLUMNS,
    )
    # C1 holds a charged-off card, C2 a written-off one, C3 only a card closed in good standing;
    # K4 is held by nobody.
    holders_frame = frame(
        [
            ("cards", "K1", "core_customers", "1", "primary"),
            ("cards", "K2", "core_customers", "2", "primary"),
            ("cards", "K3", "mortgage_borrowers", "M3", "primary"),
        ],
        dict(ACCOUNT_HOLDER_COLUMNS),
    )

    built = build_customer_360(
        parties=build.parties(*PARTY_ROWS),
        clusters=build.clusters(*PARTY_ROWS),
        accounts=accounts_frame,
        account_holders=holders_frame,
        events=events(),
        consents=consents(),
        rules=load_survivorship(),
        as_of=AS_OF,
    )

    got = built.customer_360.select("customer_id", "in_arrears", "card_accounts").sort("customer_id")
    assert got.rows() == [("C1", True, 0), ("C2", True, 0), ("C3", False, 0)]


def test_relationship_identifiers_and_age(result: Customer360Result) -> None:
    got = result.customer_360.select(
        "customer_id",
        "identifiers",
        "n_source_records",
        "systems",
        "relationship_start_date",
        "tenure_months",
        "age",
    )
    want = pl.DataFrame(
        {
            "customer_id": ["C1", "C2", "C3"],
            "identifiers": [
                ["card_holders:K1", "core_customers:1", "digital_users:U1"],
                ["core_customers:2"],
                ["mortgage_borrowers:M3"],
            ],
            "n_source_records": [3, 1, 1],
            "systems": [["card", "core", "digital"], ["core"], ["mortgage"]],
            # C1: closed deposit D3 opened 2010-01-01 still dates the relationship.
            "relationship_start_date": [dt.date(2010, 1, 1), dt.date(2016, 1, 1), dt.date(2021, 1, 1)],
            "tenure_months": [197, 125, 65],
            # C2 turns 47 on the as-of date itself.
            "age": [45, 47, None],
        },
        schema_overrides={"age": pl.Int64},
    )
    assert_frame_equal(got, want)


def test_engagement_windows_end_on_as_of(result: Customer360Result) -> None:
    got = result.customer_360.select(
        "customer_id", "digital_registered", "last_login_at", "logins_30d", "logins_90d"
    )
    want = pl.DataFrame(
        {
            "customer_id": ["C1", "C2", "C3"],
            "digital_registered": [True, False, False],
            "last_login_at": [dt.datetime(2026, 6, 30, 23, 59), None, None],
            "logins_30d": [2, 0, 0],
            "logins_90d": [3, 0, 0],
        }
    )
    assert_frame_equal(got, want)


def test_consent_latest_decision_wins_across_sources(result: Customer360Result) -> None:
    want = pl.DataFrame(
        [
            (
                "C1",
                "marketing",
                "email",
                False,
                dt.datetime(2025, 6, 1),
                "core_customers",
                "1",
                "core_consents",
                None,
                None,
            ),
            (
                "C1",
                "marketing",
                "sms",
                True,
                dt.datetime(2025, 2, 1),
                "digital_users",
                "U1",
                "digital_consents",
                None,
                None,
            ),
            # Two decisions at the same instant: the refusal stands.
            (
                "C2",
                "profiling",
                "app",
                False,
                dt.datetime(2024, 1, 1),
                "core_customers",
                "2",
                "core_consents",
                None,
                None,
            ),
        ],
        schema=CONSENT_STATE_COLUMNS,
        orient="row",
    )
    assert_frame_equal(result.consent, want)
    summary = result.customer_360.select("customer_id", "n_consents_granted", "consents_granted")
    assert summary.rows() == [("C1", 1, ["marketing:sms"]), ("C2", 0, []), ("C3", 0, [])]


def test_households_group_customers_at_the_same_normalized_address(result: Customer360Result) -> None:
    shared, single = household_id(pl.Series(["1 main st|10001", "7 oak ave|20002"])).to_list()
    want = pl.DataFrame(
        {
            "household_id": [shared, shared, single],
            "customer_id": ["C1", "C2", "C3"],
            "household_size": [2, 2, 1],
        }
    ).sort("household_id", "customer_id")
    assert_frame_equal(result.households, want)
    assert result.customer_360["household_id"].to_list() == [shared, shared, single]
    assert shared.startswith("HH") and len(shared) == 18


def test_oversized_and_missing_addresses_form_no_household(build) -> None:
    rows = [
        {
            "key": f"core_customers:{i}",
            "customer": f"C{i}",
            "address_line1": "1 po box plaza",
            "postcode": "30303",
        }
        for i in range(9)
    ]
    rows.append({"key": "core_customers:x", "customer": "CX", "postcode": "30303"})
    result = build_customer_360(
        parties=build.parties(*rows),
        clusters=build.clusters(*rows),
        accounts=EMPTY,
        account_holders=EMPTY,
        events=EMPTY,
        consents=EMPTY,
        rules=load_survivorship(),
        as_of=AS_OF,
    )
    assert result.households.is_empty()
    assert result.customer_360["household_id"].null_count() == 10


def test_one_row_per_customer_and_deterministic(build, result: Customer360Result) -> None:
    table = result.customer_360
    assert table["customer_id"].is_unique().all()
    assert table["customer_id"].to_list() == ["C1", "C2", "C3"]
    assert result.source_records.height == len(PARTY_ROWS)
    again = build_customer_360(
        parties=build.parties(*reversed(PARTY_ROWS)),
        clusters=build.clusters(*reversed(PARTY_ROWS)),
        accounts=accounts().reverse(),
        account_holders=holders().reverse(),
        events=events().reverse(),
        consents=consents().reverse(),
        rules=load_survivorship(),
        as_of=AS_OF,
    )
    for name in ("customer_360", "lineage", "source_records", "consent", "households"):
        assert_frame_equal(getattr(again, name), getattr(result, name))


def test_customers_without_any_activity_get_zero_holdings(build) -> None:
    rows = [{"key": "core_customers:1", "customer": "C1"}]
    result = build_customer_360(
        parties=build.parties(*rows),
        clusters=build.clusters(*rows),
        accounts=EMPTY,
        account_holders=EMPTY,
        events=EMPTY,
        consents=EMPTY,
        rules=load_survivorship(),
        as_of=AS_OF,
    )
    row = result.customer_360.row(0, named=True)
    assert (row["n_products"], row["deposit_balance"], row["in_arrears"], row["product_families"]) == (
        0,
        0.0,
        False,
        [],
    )
    assert (row["digital_registered"], row["logins_90d"], row["n_consents_granted"]) == (False, 0, 0)
    assert result.lineage.is_empty() and result.consent.is_empty()


def test_table_docs_describe_every_published_column(result: Customer360Result) -> None:
    from cdp.customer360.tables import TABLE_DOCS

    frames = {
        "customer_360": result.customer_360,
        "customer_attribute_lineage": result.lineage,
        "customer_source_records": result.source_records,
        "customer_consent": result.consent,
        "households": result.households,
    }
    assert {doc.name: list(doc.columns) for doc in TABLE_DOCS} == {
        name: frame.columns for name, frame in frames.items()
    }
