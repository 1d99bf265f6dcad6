"""Risk (reconstructed balances, cards, arrears) and relationship (products, tenure, engagement)."""

from __future__ import annotations

import datetime as dt

import polars as pl
from polars.testing import assert_frame_equal

D = dt.date


def test_negative_balance_days_from_balances_rebuilt_backwards(bank) -> None:
    # Snapshot balance 50 includes a payment after as_of, so the as_of balance is 100. Going back:
    # 100 from 20 Jun (11 days), -400 from 10 Jun (10 days), -100 from 1 May (40 days), 100 before (29).
    bank.customer("C1").account("C1", "A1", balance=50.0)
    (
        bank.txn("A1", D(2024, 6, 20), 500, "salary", "Employer")
        .txn("A1", D(2024, 6, 10), -300, "purchase", "Shop")
        .txn("A1", D(2024, 5, 1), -200, "bill", "Power co")
        .txn("A1", D(2024, 7, 5), -50, "purchase", "Later shop")
    )
    bank.customer("C2").account("C2", "A2", balance=-20.0)  # overdrawn all along, no activity
    bank.customer("C3")  # no account: unknown, not zero
    features = bank.build().features.select(
        "customer_id", "liquid_balance", "negative_balance_days_90d", "min_balance_90d"
    )
    expected = pl.DataFrame(
        {
            "customer_id": ["C1", "C2", "C3"],
            "liquid_balance": [100.0, -20.0, 0.0],
            "negative_balance_days_90d": [50, 90, None],
            "min_balance_90d": [-400.0, -20.0, None],
        },
        schema_overrides={"negative_balance_days_90d": pl.Int64},
    )
    assert_frame_equal(features, expected)


def test_holdings_card_utilization_and_arrears(bank) -> None:
    bank.customer("C1")
    (
        bank.account("C1", "CHK", balance=1200.0)
        .account("C1", "SAV", product_type="savings", balance=8800.0)
        .account(
            "C1",
            "CARD1",
            family="card",
            product_type="credit_card",
            balance=1500.0,
            credit_limit=5000.0,
            days_past_due=0,
        )
        # another processor reports what is owed as a negative balance
        .account(
            "C1",
            "CARD2",
            family="card",
            product_type="credit_card",
            balance=-500.0,
            credit_limit=1000.0,
            days_past_due=10,
        )
        .account("C1", "MTG", family="mortgage", product_type="fixed_30", balance=250000.0, days_past_due=45)
    )
    (
        bank.txn("CARD1", D(2024, 6, 1), -300, "purchase", "Shop")
        .txn("CARD1", D(2024, 5, 1), 200, "card_payment", "Card services")
        .txn("CARD1", D(2024, 1, 1), -999, "purchase", "Too old")
    )
    got = bank.row(bank.build(), "C1")
    assert {
        key: got[key]
        for key in (
            "deposit_balance",
            "liquid_balance",
            "savings_balance",
            "card_balance",
            "card_limit",
            "card_utilization",
            "card_spend_3m",
            "card_payments_3m",
            "mortgage_balance",
            "loan_balance",
            "card_days_past_due",
            "mortgage_days_past_due",
            "max_days_past_due",
            "n_accounts_past_due",
            "delinquent",
        )
    } == {
        "deposit_balance": 10000.0,
        "liquid_balance": 1200.0,
        "savings_balance": 8800.0,
        "card_balance": 2000.0,
        "card_limit": 6000.0,
        "card_utilization": 2000.0 / 6000.0,
        "card_spend_3m": 300.0,
        "card_payments_3m": 200.0,
        "mortgage_balance": 250000.0,
        "loan_balance": 0.0,
        "card_days_past_due": 10,
        "mortgage_days_past_due": 45,
        "max_days_past_due": 45,
        "n_accounts_past_due": 2,
        "delinquent": True,
    }


def test_products_tenure_and_engagement(bank) -> None:
    bank.customer("C1", customer_since=D(2019, 6, 1)).customer("C2")
    (
        bank.account("C1", "CHK", opened=D(2019, 3, 15))
        .account("C1", "CARD", family="card", product_type="credit_card", opened=D(2021, 1, 1))
        .account("C1", "OLD", product_type="savings", opened=D(2015, 1, 1), closed_date=D(2024, 1, 1))
        .account("C1", "FUTURE", family="loan", product_type="personal", opened=D(2024, 8, 1))
        .account("C2", "C2CARD", family="card", product_type="credit_card", opened=D(2022, 5, 1))
        .holder("C1", "C2CARD", role="authorized_user")
    )  # C1 only uses C2's card
    (
        bank.event("C1", dt.datetime(2024, 5, 31, 12), "login")  # 30 days back: outside the window
        .event("C1", dt.datetime(2024, 6, 1, 8), "login")
        .event("C1", dt.datetime(2024, 6, 30, 23, 59), "login")
        .event("C1", dt.datetime(2024, 6, 12), "page_view", "/cards")
        .event("C1", dt.datetime(2024, 7, 2), "login")
    )  # after as_of
    bank.txn("C2CARD", D(2024, 6, 10), -20, "purchase", "Cafe")
    features = bank.build().features.select(
        "customer_id",
        "products_open",
        "product_families",
        "has_deposit",
        "has_card",
        "has_loan",
        "relationship_months",
        "logins_30d",
        "page_views_30d",
        "days_since_last_login",
        "days_since_last_activity",
    )
    expected = pl.DataFrame(
        {
            "customer_id": ["C1", "C2"],
            "products_open": [2, 1],
            "product_families": ["card,deposit", "card"],
            "has_deposit": [True, False],
            "has_card": [True, True],
            "has_loan": [False, False],
            "relationship_months": [113, 25],  # since 2015-01-01 (closed savings), 2022-05-01
            "logins_30d": [2, 0],
            "page_views_30d": [1, 0],
            "days_since_last_login": [0, None],
            "days_since_last_activity": [0, 20],
        },
        schema_overrides={
            name: pl.Int64
            for name in (
                "products_open",
                "relationship_months",
                "logins_30d",
                "page_views_30d",
                "days_since_last_login",
                "days_since_last_activity",
            )
        },
    )
    assert_frame_equal(features, expected)
