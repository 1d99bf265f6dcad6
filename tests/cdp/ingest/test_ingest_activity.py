"""Accounts (with holders), transactions, events and consents through map_sources / ingest_sources."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import polars as pl
import pytest
from polars.testing import assert_frame_equal

from cdp.config import load_config
from cdp.errors import ConfigError
from cdp.ingest import map_sources
from cdp.privacy.erasure import ErasureRegister
from cdp.schemas.canonical import ACCOUNT_HOLDER_COLUMNS

PARTIES = {
    "name": "core_customers",
    "system": "core",
    "path": "core/customers.csv",
    "record_id": "cif_no",
    "fields": {"first_name": "first_nm"},
}
DIGITAL = {
    "name": "digital_users",
    "system": "digital",
    "path": "digital/users.csv",
    "record_id": "user_id",
    "fields": {"email": "email"},
}
ACCOUNTS = {
    "name": "core_accounts",
    "system": "core",
    "path": "core/accounts.csv",
    "record_id": "acct_no",
    "fields": {
        "product_family": "fam",
        "product_type": "acct_type",
        "balance": "cur_bal",
        "opened_date": "strptime(open_dt, '%Y-%m-%d')",
        "closed_date": "close_dt",
    },
    "holders": [
        {"party": "core_customers", "key": "cif_no", "role": "'primary'"},
        {"party": "core_customers", "key": "joint_cif_no", "role": "joint_role"},
    ],
}
TRANSACTIONS = {
    "name": "core_transactions",
    "system": "core",
    "path": "core/txn.csv",
    "record_id": "txn_id",
    "account": "core_accounts",
    "fields": {"account_id": "acct_no", "posted_date": "post_dt", "amount": "amt", "category": "cat"},
}
EVENTS = {
    "name": "digital_events",
    "system": "digital",
    "path": "digital/events.csv",
    "record_id": "event_id",
    "party": "digital_users",
    "fields": {"party_record_id": "user_id", "event_time": "ts", "event_type": "evt", "channel": "chan"},
}
CONSENTS = {
    "name": "digital_consents",
    "system": "digital",
    "path": "digital/consents.csv",
    "party": "digital_users",
    "fields": {
        "party_record_id": "user_id",
        "purpose": "purpose",
        "channel": "channel",
        "granted": "opt_in = 'Y'",
        "updated_at": "ts",
    },
}
FILES = {
    "core/customers.csv": "cif_no,first_nm\nC1,Ann\nC2,Bob\n",
    "digital/users.csv": "user_id,email\nU1,a@x.com\nU2,b@x.com\n",
    "core/accounts.csv": (
        "acct_no,fam,acct_type,cur_bal,open_dt,close_dt,cif_no,joint_cif_no,joint_role\n"
        'A1,Deposits,CHK,"$1,234.50",2020-01-01,,C1,C2,Joint Owner\n'
        "A2,deposit,SAV,12,2020-02-01,2019-01-01,C2,,\n"
        "A3,spaceship,SAV,12,2020-02-01,,C2,,\n"
        "A4,card,CC,-5,2021-03-01,,C1,C2,mascot\n"
    ),
    "core/txn.csv": "txn_id,acct_no,post_dt,amt,cat\nT1,A1,2024-01-05,-12.5,rent\nT2,A1,2024-01-06,nan,rent\n"
    "T3,A1,,4,rent\n",
    "digital/events.csv": "event_id,user_id,ts,evt,chan\nE1,U1,2024-01-05T10:00:00Z,login,app\n"
    "E2,U2,2024-01-05 11:00:00,page_view,web\nE3,,2024-01-05,login,web\n",
    "digital/consents.csv": "user_id,purpose,channel,opt_in,ts\nU1,marketing,email,Y,2024-01-01\n"
    "U1,marketing,email,N,2024-02-01\nU2,astrology,email,Y,2024-01-01\n"
    "U2,marketing,sms,Y,2024-01-01\nU2,marketing,sms,N,2024-01-01\n"
    "U2,marketing,sms,N,2024-01-01\n",
}


@pytest.fixture
def config_path(write_source) -> Path:
    return write_source(
        {
            "parties": [PARTIES, DIGITAL],
            "accounts": [ACCOUNTS],
            "transactions": [TRANSACTIONS],
            "events": [EVENTS],
            "consents": [CONSENTS],
        },
        FILES,
    )


def test_accounts_holders_and_code_contracts(config_path: Path) -> None:
    mapped = map_sources(load_config(config_path), erasure=ErasureRegister.empty())

    assert mapped.accounts.select("account_id", "product_family", "balance", "opened_date").rows() == [
        ("A1", "Deposits", "$1,234.50", dt.datetime(2020, 1, 1)),
    ]
    expected_holders = pl.DataFrame(
        {
            "account_source": ["core_accounts"] * 2,
            "account_id": ["A1", "A1"],
            "party_source": ["core_customers"] * 2,
            "party_record_id": ["C1", "C2"],
            "role": ["primary", "Joint Owner"],
        },
        schema=dict(ACCOUNT_HOLDER_COLUMNS),
    )
    assert_frame_equal(mapped.account_holders, expected_holders)
    account_rejects = mapped.rejects.filter(pl.col("source") == "core_accounts").select(
        "line", "column", "reason"
    )
    assert account_rejects.rows() == [
        (3, "closed_date", "before opened_date"),
        (4, "product_family", "unknown product family"),
        (5, "holders[1].role", "unknown holder role"),
    ]


def test_transactions_events_and_consents(config_path: Path) -> None:
    mapped = map_sources(load_config(config_path), erasure=ErasureRegister.empty())

    assert mapped.transactions.select("transaction_id", "account_source", "amount").rows() == [
        ("T1", "core_accounts", "-12.5"),
    ]
    assert mapped.rejects.filter(pl.col("source") == "core_transactions").select(
        "line", "column", "reason"
    ).rows() == [
        (3, "amount", "not a valid number"),
        (4, "posted_date", "missing posted_date"),
    ]
    assert mapped.events.select("event_id", "party_source", "party_record_id").rows() == [
        ("E1", "digital_users", "U1"),
        ("E2", "digital_users", "U2"),
    ]
    assert mapped.rejects.filter(pl.col("source") == "digital_events")["reason"].to_list() == [
        "missing party_record_id"
    ]
    assert mapped.consents.select("party_record_id", "purpose", "channel", "granted").rows() == [
        ("U1", "marketing", "email", True),
        ("U1", "marketing", "email", False),
        ("U2", "marketing", "sms", True),
        ("U2", "marketing", "sms", False),
    ]
    assert mapped.rejects.filter(pl.col("source") == "digital_consents").select("line", "reason").rows() == [
        (4, "unknown consent purpose"),
        (7, "duplicate consent decision"),
    ]
    reconciliation = mapped.reconciliation
    assert (
        reconciliation["rows_read"] == reconciliation["rows_accepted"] + reconciliation["rows_rejected"]
    ).all()


def test_only_selected_kinds_are_ingested(config_path: Path) -> None:
    mapped = map_sources(load_config(config_path), erasure=ErasureRegister.empty(), kinds=("events",))
    assert mapped.events.height == 2
    assert mapped.parties.height == mapped.accounts.height == mapped.account_holders.height == 0
    assert mapped.reconciliation["source"].to_list() == ["digital_events"]


def test_deleted_when_must_be_boolean(write_source) -> None:
    entry = {**PARTIES, "deleted_when": "first_nm"}
    config = write_source({"parties": [entry]}, {"core/customers.csv": FILES["core/customers.csv"]})
    with pytest.raises(
        ConfigError, match=r"sources.yaml: entry 'core_customers': deleted_when `first_nm` gives"
    ):
        map_sources(load_config(config), erasure=ErasureRegister.empty())


def test_expression_that_does_not_bind_is_a_config_error(write_source) -> None:
    entry = {**PARTIES, "fields": {"first_name": "no_such_function(first_nm)"}}
    config = write_source({"parties": [entry]}, {"core/customers.csv": FILES["core/customers.csv"]})
    with pytest.raises(
        ConfigError, match="entry 'core_customers': first_name `no_such_function.first_nm.` does not"
    ):
        map_sources(load_config(config), erasure=ErasureRegister.empty())


def test_standardized_tables_conform_to_their_contracts(config_path: Path) -> None:
    pytest.importorskip("cdp.standardize")
    from cdp.ingest import ingest_sources
    from cdp.schemas import standardized

    result = ingest_sources(load_config(config_path), erasure=ErasureRegister.empty())
    for table in ("parties", "accounts", "account_holders", "transactions", "events", "consents"):
        frame = getattr(result, table)
        assert getattr(standardized, f"validate_std_{table}")(frame) == [], table
    assert result.accounts.select("product_family", "balance").row(0) == ("deposit", 1234.5)
    assert result.account_holders["role"].to_list() == ["primary", "joint"]
    assert result.events["event_time"].to_list() == [dt.datetime(2024, 1, 5, 10), dt.datetime(2024, 1, 5, 11)]
