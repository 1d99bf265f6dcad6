from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

from cdp.config import SourceConfig, load_config
from cdp.errors import ConfigError
from cdp.ingest.expressions import ExpressionError, parse_field_expression


def _party(**overrides: Any) -> dict[str, Any]:
    entry: dict[str, Any] = {
        "name": "core_customers",
        "system": "core",
        "path": "core/customers_*.csv",
        "format": "csv",
        "csv": {"delimiter": "|", "encoding": "latin-1"},
        "record_id": "cif_no",
        "fields": {
            "first_name": "first_nm",
            "date_of_birth": "strptime(birth_dt, '%m/%d/%Y')",
            "address_line1": "concat_ws(' ', house_no, street)",
            "national_id": "ssn",
        },
    }
    entry.update(overrides)
    return entry


def _full_document() -> dict[str, Any]:
    return {
        "version": 1,
        "parties": [
            _party(),
            {
                "name": "digital_users",
                "system": "digital",
                "path": "digital/users.parquet",
                "record_id": "user_id",
                "fields": {"email": "lower(email_addr)"},
            },
        ],
        "accounts": [
            {
                "name": "core_accounts",
                "system": "core",
                "path": "core/accounts_*.csv",
                "record_id": "acct_no",
                "fields": {"product_family": "'deposit'", "balance": "CAST(cur_bal AS DOUBLE)"},
                "holders": [{"party": "core_customers", "key": "cif_no", "role": "'primary'"}],
            }
        ],
        "transactions": [
            {
                "name": "core_transactions",
                "system": "core",
                "path": "core/txn_*.csv",
                "record_id": "txn_id",
                "account": "core_accounts",
                "fields": {"account_id": "acct_no", "posted_date": "post_dt", "amount": "amt"},
            }
        ],
        "events": [
            {
                "name": "digital_events",
                "system": "digital",
                "path": "digital/events_*.csv",
                "record_id": "event_id",
                "party": "digital_users",
                "fields": {"party_record_id": "user_id", "event_time": "ts", "event_type": "evt"},
            }
        ],
        "consents": [
            {
                "name": "digital_consents",
                "system": "digital",
                "path": "digital/consents_*.csv",
                "party": "digital_users",
                "deleted_when": "action = 'withdrawn_record'",
                "fields": {
                    "party_record_id": "user_id",
                    "purpose": "purpose",
                    "channel": "channel",
                    "granted": "opt_in = 'Y'",
                    "updated_at": "ts",
                },
            }
        ],
    }


def _write(tmp_path: Path, document: Any) -> Path:
    path = tmp_path / "sources.yaml"
    path.write_text(yaml.safe_dump(document, sort_keys=False))
    return path


def _error(tmp_path: Path, document: Any) -> str:
    with pytest.raises(ConfigError) as caught:
        load_config(_write(tmp_path, document))
    message = str(caught.value)
    assert str(tmp_path / "sources.yaml") in message
    return message


def test_good_config_loads_into_frozen_typed_specs(tmp_path: Path) -> None:
    config = load_config(_write(tmp_path, _full_document()))

    assert isinstance(config, SourceConfig)
    assert config.base_dir == tmp_path.resolve()
    assert config.erasure_register_path == tmp_path.resolve() / "erasure_requests.csv"
    assert [spec.name for spec in config.all_specs()] == [
        "core_customers",
        "digital_users",
        "core_accounts",
        "core_transactions",
        "digital_events",
        "digital_consents",
    ]
    core = config.parties[0]
    assert (core.csv.delimiter, core.csv.encoding, core.format) == ("|", "latin-1", "csv")
    assert config.parties[1].format == "parquet"
    assert core.fields["date_of_birth"].columns == ("birth_dt",)
    assert core.fields["address_line1"].columns == ("house_no", "street")
    assert core.fields["first_name"].is_column
    assert core.required_columns() == ("cif_no", "first_nm", "birth_dt", "house_no", "street", "ssn")
    assert config.accounts[0].holders[0].party == "core_customers"
    assert config.transactions[0].account == "core_accounts"
    assert config.consents[0].record_id is None
    assert config.consents[0].deleted_when is not None
    with pytest.raises(AttributeError):
        core.name = "other"  # type: ignore[misc]
    with pytest.raises(TypeError):
        core.fields["email"] = core.fields["first_name"]  # type: ignore[index]


def test_unknown_canonical_field_is_an_error_naming_entry_and_field(tmp_path: Path) -> None:
    message = _error(tmp_path, {"version": 1, "parties": [_party(fields={"frist_name": "first_nm"})]})
    assert "parties[0] 'core_customers'" in message
    assert "frist_name" in message


@pytest.mark.parametrize(
    "expression",
    [
        "(select 1)",
        "read_csv('x')",
        "read_parquet('/etc/passwd')",
        "x; drop table y",
        "getenv('HOME')",
        "glob('*')",
        "sum(amt)",
        "row_number() over ()",
        "first_nm -- comment",
        "first_nm in (select 1)",
        "unnest([1, 2])",
        "a AS b",
        "*",
        "$1",
    ],
)
def test_unsafe_expression_is_rejected(tmp_path: Path, expression: str) -> None:
    message = _error(tmp_path, {"version": 1, "parties": [_party(fields={"first_name": expression})]})
    assert "core_customers" in message
    assert "first_name" in message


def test_missing_referenced_party_or_account_is_an_error(tmp_path: Path) -> None:
    document = _full_document()
    document["events"][0]["party"] = "nobody"
    assert "party 'nobody' is not a parties entry" in _error(tmp_path, document)

    document = _full_document()
    document["accounts"][0]["holders"][0]["party"] = "ghost"
    assert "holder party 'ghost'" in _error(tmp_path, document)

    document = _full_document()
    document["transactions"][0]["account"] = "core_customers"
    assert "account 'core_customers' is not an accounts entry" in _error(tmp_path, document)


@pytest.mark.parametrize(
    ("document", "fragment"),
    [
        ({"version": 1, "parties": [_party(), _party()]}, "name is already used"),
        ({"version": 1, "parties": [_party(record_id=None)]}, "'record_id' is required"),
        ({"version": 1, "parties": [_party(fields={"first_name": 5})]}, "must be a string"),
        ({"version": 1, "parties": [_party(feilds={})]}, "unknown key(s) feilds"),
        (
            {"version": 1, "parties": [_party(csv={"encoding": "cp1252"})]},
            "csv.encoding must be utf-8 or latin-1",
        ),
        ({"version": 1, "parties": [_party(name="core:x")]}, "name may only contain"),
        ({"version": 1, "parties": []}, "at least one parties entry"),
        ({"version": 2, "parties": [_party()]}, "version must be 1"),
        ({"version": 1, "parties": [_party()], "acounts": []}, "unknown top-level key(s) acounts"),
        ([1, 2], "must be a mapping"),
    ],
)
def test_structural_mistakes_are_config_errors(tmp_path: Path, document: Any, fragment: str) -> None:
    assert fragment in _error(tmp_path, document)


def test_required_fields_per_kind(tmp_path: Path) -> None:
    document = _full_document()
    del document["consents"][0]["fields"]["granted"]
    assert "missing required field(s) granted" in _error(tmp_path, document)


def test_missing_file_and_bad_yaml(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="source config not found"):
        load_config(tmp_path / "nope.yaml")
    path = tmp_path / "sources.yaml"
    path.write_text("parties: [unclosed\n")
    with pytest.raises(ConfigError, match="not valid YAML"):
        load_config(path)


def test_erasure_register_path_is_relative_to_the_config(tmp_path: Path) -> None:
    document = {"version": 1, "erasure_register": "privacy/erase.csv", "parties": [_party()]}
    assert (
        load_config(_write(tmp_path, document)).erasure_register_path
        == tmp_path.resolve() / "privacy/erase.csv"
    )


@pytest.mark.parametrize(
    ("text", "columns", "is_column", "null_by_design"),
    [
        ("first_nm", ("first_nm",), True, False),
        ("date", ("date",), True, False),
        ('"First Name"', ("First Name",), True, False),
        ("strptime(birth_dt, '%m/%d/%Y')", ("birth_dt",), False, False),
        ("concat_ws(' ', house_no, street)", ("house_no", "street"), False, False),
        ("nullif(trim(mid), '')", ("mid",), False, True),
        ("'deposit'", (), False, False),
        ("list_transform(split(tags, ';'), lambda t: upper(t))", ("tags",), False, False),
    ],
)
def test_expression_columns(
    text: str, columns: tuple[str, ...], is_column: bool, null_by_design: bool
) -> None:
    expression = parse_field_expression(text)
    assert (expression.columns, expression.is_column, expression.null_by_design) == (
        columns,
        is_column,
        null_by_design,
    )


def test_semicolon_inside_a_string_literal_is_fine() -> None:
    assert parse_field_expression("split_part(tags, ';', 1)").columns == ("tags",)
    with pytest.raises(ExpressionError):
        parse_field_expression("split_part(tags, ';', 1);")
