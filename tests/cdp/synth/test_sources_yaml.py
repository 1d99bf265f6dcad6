"""The generated sources.yaml follows docs/contracts.md and every expression runs in DuckDB."""

from __future__ import annotations

import glob
from pathlib import Path
from typing import Any

import duckdb
import polars as pl
import pytest
import yaml

from cdp.schemas.canonical import PARTY_FIELDS
from cdp.synth import GenerationSummary

SECTIONS = ("parties", "accounts", "transactions", "events", "consents")
CANONICAL_PARTY_FIELDS = set(PARTY_FIELDS)


def _relation(root: Path, entry: dict[str, Any], *, varchar: bool) -> str:
    files = sorted(glob.glob(str(root / entry["path"])))
    listing = "[" + ", ".join(f"'{f}'" for f in files) + "]"
    if entry["format"] == "csv":
        csv = entry["csv"]
        return (
            f"read_csv({listing}, all_varchar = true, header = true, delim = '{csv['delimiter']}', "
            f"encoding = '{csv['encoding']}')"
        )
    parquet = f"read_parquet({listing})"
    # The ingest stage may read Parquet as VARCHAR like CSV; the expressions must work both ways.
    return f"(SELECT COLUMNS(*)::VARCHAR FROM {parquet})" if varchar else parquet


def _run_entry(root: Path, entry: dict[str, Any], *, varchar: bool) -> pl.DataFrame:
    exprs = [f'{sql} AS "{field}"' for field, sql in entry["fields"].items()]
    if "record_id" in entry:
        exprs.append(f'{entry["record_id"]} AS "_record_id"')
    for number, holder in enumerate(entry.get("holders", [])):
        exprs.append(f'{holder["key"]} AS "_key{number}", {holder["role"]} AS "_role{number}"')
    if "deleted_when" in entry:
        exprs.append(f'({entry["deleted_when"]}) AS "_deleted"')
    sql = f"SELECT {', '.join(exprs)} FROM {_relation(root, entry, varchar=varchar)}"
    return duckdb.sql(sql).pl()


def _config(summary: GenerationSummary) -> dict[str, Any]:
    return yaml.safe_load((summary.out_dir / "sources.yaml").read_text())


def test_config_declares_all_four_systems(bank: GenerationSummary) -> None:
    config = _config(bank)
    assert config["version"] == 1
    assert [p["name"] for p in config["parties"]] == [
        "core_customers",
        "card_holders",
        "mortgage_borrowers",
        "digital_users",
    ]
    assert {p["system"] for p in config["parties"]} == {"core", "card", "mortgage", "digital"}
    assert {a["name"] for a in config["accounts"]} == {"core_accounts", "card_accounts", "mortgage_loans"}
    assert {t["name"] for t in config["transactions"]} == {"core_transactions", "card_transactions"}
    assert [e["name"] for e in config["events"]] == ["digital_events"]
    assert {c["name"] for c in config["consents"]} == {"core_branch_consents", "digital_consents"}
    for party in config["parties"]:
        assert set(party["fields"]) <= CANONICAL_PARTY_FIELDS
        assert "deleted_when" in party
    formats = {entry["name"]: entry for section in SECTIONS for entry in config[section]}
    assert formats["card_holders"]["csv"]["delimiter"] == "|"
    assert formats["mortgage_borrowers"]["csv"]["encoding"] == "latin-1"
    assert formats["core_transactions"]["format"] == "parquet"


@pytest.mark.parametrize("varchar", [False, True])
def test_every_expression_runs_in_duckdb(bank: GenerationSummary, varchar: bool) -> None:
    config = _config(bank)
    for section in SECTIONS:
        for entry in config[section]:
            assert glob.glob(str(bank.out_dir / entry["path"])), entry["path"]
            result = _run_entry(bank.out_dir, entry, varchar=varchar)
            assert result.height > 0, entry["name"]


def test_mapped_values_have_canonical_types_and_codes(bank: GenerationSummary) -> None:
    config = _config(bank)
    entries = {entry["name"]: entry for section in SECTIONS for entry in config[section]}
    core = _run_entry(bank.out_dir, entries["core_customers"], varchar=False)
    assert core.schema["date_of_birth"] == pl.Date
    assert core.schema["is_deceased"] == pl.Boolean
    assert core["date_of_birth"].null_count() < core.height * 0.05
    card = _run_entry(bank.out_dir, entries["card_holders"], varchar=False)
    assert card["last_name"].null_count() == 0
    assert (card["first_name"].str.len_chars() == 1).any(), "embossed initials like 'J SMITH'"
    accounts = _run_entry(bank.out_dir, entries["core_accounts"], varchar=False)
    assert set(accounts["product_type"].unique()) == {"checking", "savings", "cd"}
    assert accounts["_key1"].null_count() < accounts.height, "some joint accounts"
    txns = _run_entry(bank.out_dir, entries["core_transactions"], varchar=True)
    assert txns["category"].null_count() == 0
    assert {"salary", "rent", "bill", "card_payment", "transfer", "purchase"} <= set(txns["category"])
    assert (txns["amount"] < 0).any() and (txns["amount"] > 0).any()
    cards = _run_entry(bank.out_dir, entries["card_transactions"], varchar=False)
    assert cards["category"].null_count() == 0
    assert cards.filter(pl.col("category") == "purchase")["merchant_category"].null_count() == 0
    events = _run_entry(bank.out_dir, entries["digital_events"], varchar=True)
    assert events["event_type"].null_count() == 0
    assert events.schema["event_time"] == pl.Datetime("us")
    consents = _run_entry(bank.out_dir, entries["digital_consents"], varchar=False)
    assert set(consents["purpose"]) == {"marketing", "credit_offers", "profiling", "third_party"}
    assert set(consents["channel"]) == {"email", "sms", "mail", "phone", "app"}
    branch = _run_entry(bank.out_dir, entries["core_branch_consents"], varchar=False)
    assert set(branch["purpose"]) == {"marketing", "credit_offers", "profiling", "third_party"}


def test_batched_config_reads_landing_and_expressions_run(batched: GenerationSummary, tmp_path: Path) -> None:
    config = _config(batched)
    assert all(entry["path"].startswith("landing/") for section in SECTIONS for entry in config[section])
    # The user moves each batch's files into landing/ one at a time; simulate all of them.
    for batch in sorted((batched.out_dir / "batches").iterdir()):
        for file in batch.rglob("*"):
            if file.is_file():
                target = tmp_path / "landing" / file.relative_to(batch)
                target.parent.mkdir(parents=True, exist_ok=True)
                target.write_bytes(file.read_bytes())
    deleted = 0
    for section in SECTIONS:
        for entry in config[section]:
            result = _run_entry(tmp_path, entry, varchar=False)
            assert result.height > 0, entry["name"]
            if section == "parties":
                deleted += int(result["_deleted"].sum())
    assert deleted > 0
