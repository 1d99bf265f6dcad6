"""National IDs are tokenized at the door; erased records never pass ingestion."""

from __future__ import annotations

import logging
from collections.abc import Callable
from pathlib import Path

import polars as pl
import pytest

from cdp.config import load_config
from cdp.errors import ConfigError
from cdp.ingest import map_sources
from cdp.privacy.erasure import ErasureRegister, load_erasure_register
from cdp.privacy.tokens import national_id_last4_token, national_id_token

KEY = b"ingest-test-key-0123456789abcdef"
Entry = Callable[..., dict[str, object]]
RAW_SSNS = ("536-22-1234", "536221234", "536-22-1235", "5362212345")


def _all_text(frames: list[pl.DataFrame]) -> str:
    return "\n".join(
        str(value) for frame in frames for column in frame.columns for value in frame[column].cast(pl.String)
    )


def test_raw_national_ids_never_leave_ingestion(
    write_source, party_entry: Entry, header: str, caplog: pytest.LogCaptureFixture
) -> None:
    rows = (
        "1,Ann,Lee,01/02/1980,1,Elm,536-22-1234\n"
        "2,Bob,Ray,99/99/1980,1,Elm,536-22-1235\n"  # rejected row still holds an SSN
        "3,Cy,Wu,01/02/1980,1,Elm,5362212345\n"  # ten digits: invalid, no token
        "4,Di,Do\n"  # malformed
    )
    entry = party_entry(fields={**party_entry()["fields"], "national_id_last4": "ssn4"})
    config = write_source(
        {"parties": [entry]},
        {"core/customers_1.csv": header.replace("\n", ",ssn4\n") + rows.replace("\n", ",\n")},
    )
    with caplog.at_level(logging.DEBUG):
        mapped = map_sources(load_config(config), erasure=ErasureRegister.empty())

    text = _all_text([mapped.parties, mapped.rejects, mapped.reconciliation]) + caplog.text
    for raw in RAW_SSNS:
        assert raw not in text
    assert "national_id" not in mapped.parties.columns
    assert mapped.parties.select("record_id", "national_id_token", "national_id_last4_token").rows() == [
        ("1", national_id_token("536221234", key=KEY), national_id_last4_token("1234", key=KEY)),
        ("3", None, None),
    ]
    assert mapped.summary("core_customers").invalid_national_ids == 1


def test_last4_only_source_gets_a_last4_token(write_source, party_entry: Entry) -> None:
    entry = party_entry(record_id="id", fields={"last_name": "name", "national_id_last4": "ssn_last4"})
    config = write_source(
        {"parties": [entry]}, {"core/customers_1.csv": "id,name,ssn_last4\n1,Lee,1234\n2,Ray,0000\n"}
    )
    mapped = map_sources(load_config(config), erasure=ErasureRegister.empty())
    assert mapped.parties.select("national_id_token", "national_id_last4_token").rows() == [
        (None, national_id_last4_token("1234", key=KEY)),
        (None, None),
    ]


def _erasure_setup(write_source) -> Path:
    parties = {
        "name": "digital_users",
        "system": "digital",
        "path": "users.csv",
        "record_id": "user_id",
        "fields": {"email": "email"},
    }
    accounts = {
        "name": "accounts",
        "system": "core",
        "path": "accounts.csv",
        "record_id": "acct",
        "fields": {"product_family": "'deposit'"},
        "holders": [{"party": "digital_users", "key": "owner", "role": "'primary'"}],
    }
    events = {
        "name": "events",
        "system": "digital",
        "path": "events.csv",
        "record_id": "event_id",
        "party": "digital_users",
        "fields": {"party_record_id": "user_id", "event_time": "ts", "event_type": "'login'"},
    }
    consents = {
        "name": "consents",
        "system": "digital",
        "path": "consents.csv",
        "party": "digital_users",
        "fields": {
            "party_record_id": "user_id",
            "purpose": "'marketing'",
            "channel": "'email'",
            "granted": "TRUE",
            "updated_at": "ts",
        },
    }
    return write_source(
        {"parties": [parties], "accounts": [accounts], "events": [events], "consents": [consents]},
        {
            "users.csv": "user_id,email\nU1,a@x.com\nU2,b@x.com\nU3,c@x.com\n",
            "accounts.csv": "acct,owner\nA1,U1\nA2,U2\n",
            "events.csv": "event_id,user_id,ts\nE1,U1,2024-01-01\nE2,U2,2024-01-01\nE3,U2,2024-01-02\n",
            "consents.csv": "user_id,ts\nU1,2024-01-01\nU2,2024-01-01\n",
            "erasure_requests.csv": (
                "source,record_id,requested_at,reference\ndigital_users,U2,2024-05-01,DSR-7\n"
            ),
        },
    )


def test_erased_records_and_their_links_are_removed(write_source) -> None:
    config = load_config(_erasure_setup(write_source))
    mapped = map_sources(config)  # the default register beside sources.yaml

    assert mapped.parties["record_id"].to_list() == ["U1", "U3"]
    assert mapped.account_holders["party_record_id"].to_list() == ["U1"]
    assert mapped.accounts["account_id"].to_list() == ["A1", "A2"]
    assert mapped.events["event_id"].to_list() == ["E1"]
    assert mapped.consents["party_record_id"].to_list() == ["U1"]
    erased = {summary.source: summary.erased for summary in mapped.summaries}
    assert erased == {"digital_users": 1, "accounts": 1, "events": 2, "consents": 1}
    assert mapped.rejects.height == 0
    assert mapped.erased_keys.rows() == [("digital_users", "U2")]
    assert mapped.reconciliation["rows_accepted"].to_list() == [3, 2, 3, 2]


def test_register_naming_an_unknown_source_stops_ingestion(write_source, tmp_path: Path) -> None:
    config = load_config(_erasure_setup(write_source))
    (tmp_path / "erasure_requests.csv").write_text("source,record_id\ndigital_user,U2\n")
    with pytest.raises(ConfigError, match="source 'digital_user' is not a party entry"):
        map_sources(config, erasure=load_erasure_register(tmp_path / "erasure_requests.csv"))
