"""``cdp customer``: a readable profile from the published warehouse, merged ids, unknown ids."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import polars as pl
import pytest
import typer
from typer.testing import CliRunner

from cdp.cli import customer_cmds
from cdp.customer360 import build_customer_360, load_survivorship
from cdp.errors import NotFoundError
from cdp.warehouse import Warehouse

ROWS = [
    {
        "key": "core_customers:17",
        "customer": "C1",
        "first_name": "maria",
        "last_name": "garcia",
        "email": "maria@x.com",
        "national_id_token": "ab" * 32,
        "do_not_contact": True,
    },
    {"key": "digital_users:U9", "customer": "C1", "email": "mg@web.com", "updated_at": dt.date(2025, 1, 1)},
    {"key": "card_holders:K2", "customer": "C2", "first_name": "li", "last_name": "wei"},
]


@pytest.fixture
def warehouse(build, tmp_path: Path) -> Path:
    consents = pl.DataFrame(
        {
            "source": ["digital_consents"],
            "party_source": ["digital_users"],
            "party_record_id": ["U9"],
            "purpose": ["marketing"],
            "channel": ["email"],
            "granted": [True],
            "updated_at": [dt.datetime(2025, 3, 1)],
        }
    )
    result = build_customer_360(
        parties=build.parties(*ROWS),
        clusters=build.clusters(*ROWS),
        accounts=pl.DataFrame(),
        account_holders=pl.DataFrame(),
        events=pl.DataFrame(),
        consents=consents,
        rules=load_survivorship(),
        as_of=dt.date(2026, 1, 31),
    )
    root = tmp_path / "warehouse"
    Warehouse(root).publish(
        {
            "customer_360": result.customer_360,
            "customer_attribute_lineage": result.lineage,
            "customer_source_records": result.source_records,
            "customer_consent": result.consent,
            "identity_merged_into": pl.DataFrame({"customer_id": ["C0", "OLD"], "merged_into": ["C1", "C0"]}),
        },
        run_id="test",
    )
    return root


def invoke(*args: str) -> str:
    app = typer.Typer()
    customer_cmds.register(app)
    app.command("noop")(lambda: None)  # a second command keeps `customer` a named subcommand
    result = CliRunner().invoke(app, list(args), env={"COLUMNS": "160"})
    if result.exception is not None:
        raise result.exception
    return result.output


def test_profile_shows_each_golden_value_with_its_source(warehouse: Path) -> None:
    output = invoke("customer", "C1", "--warehouse", str(warehouse))
    email_line = next(line for line in output.splitlines() if "mg@web.com" in line)
    assert "digital_users:U9" in email_line and "trust_order" in email_line
    assert "Maria Garcia" in output and "DO NOT CONTACT" in output
    assert "core_customers:17" in output and "marketing" in output and "granted" in output
    assert "ab" * 32 not in output  # the national-id token is never printed


def test_a_merged_id_shows_its_survivor(warehouse: Path) -> None:
    output = invoke("customer", "OLD", "--warehouse", str(warehouse))
    assert "OLD was merged into C1" in output
    assert "customer C1" in output


def test_unknown_id_is_not_found(warehouse: Path, tmp_path: Path) -> None:
    with pytest.raises(NotFoundError, match="'C404'"):
        invoke("customer", "C404", "--warehouse", str(warehouse))
    with pytest.raises(NotFoundError, match="not published"):
        invoke("customer", "C1", "--warehouse", str(tmp_path / "empty"))
