from __future__ import annotations

import logging

import duckdb
import polars as pl
import pytest

from cdp.errors import ConfigError
from cdp.privacy import tokens
from cdp.privacy.tokens import (
    DEVELOPMENT_KEY,
    national_id_last4_token,
    national_id_token,
    token_key,
    tokenize_series,
)

KEY = b"unit-test-key"


def test_token_is_deterministic_and_ignores_formatting() -> None:
    token = national_id_token("536-22-1234", key=KEY)
    assert token is not None and len(token) == 64
    assert national_id_token("536221234", key=KEY) == token
    assert national_id_token(" 536 22 1234 ", key=KEY) == token
    assert national_id_token("536.22.1234", key=KEY) == token


def test_token_depends_on_the_key_and_differs_from_last4_token() -> None:
    assert national_id_token("536-22-1234", key=KEY) != national_id_token("536-22-1234", key=b"other key")
    assert national_id_last4_token("1234", key=KEY) == national_id_last4_token(
        "536-22-1234", key=KEY, full=True
    )
    assert national_id_last4_token("1234", key=KEY) != national_id_token("536-22-1234", key=KEY)
    assert national_id_last4_token("1234", key=KEY) != national_id_last4_token("1234", key=b"other key")


@pytest.mark.parametrize(
    "junk",
    [
        "000-00-0000",
        "123-45-6789",
        "078-05-1120",
        "000-12-3456",
        "666-12-3456",
        "912-34-5678",
        "536-00-1234",
        "536-22-0000",
        "111-11-1111",
        "53622123",
        "5362212345",
        "53a-22-1234",
        "",
        None,
    ],
)
def test_invalid_or_junk_ssn_gives_no_token(junk: str | None) -> None:
    assert national_id_token(junk, key=KEY) is None
    assert national_id_last4_token(junk, key=KEY, full=True) is None


@pytest.mark.parametrize("value", ["0000", "123", "12345", "abcd", None])
def test_invalid_last4_gives_no_token(value: str | None) -> None:
    assert national_id_last4_token(value, key=KEY) is None


def test_sql_tokens_equal_python_tokens() -> None:
    values = [
        "536-22-1234",
        "536221234",
        "078-05-1120",
        "666-12-3456",
        "536-00-1234",
        "abc",
        None,
        "219-09-9999",
        "001-01-0001",
    ]
    last4 = ["1234", "0000", "12", None, "9876", "x", "0001", "5678", " 4321 "]
    sql = (
        "SELECT {token} AS token, COALESCE({l4}, {l4_full}) AS last4 "
        "FROM (SELECT *, {nid} AS nid, {d4} AS d4 FROM (SELECT *, {clean} AS c, {clean4} AS c4 FROM frame))"
    ).format(
        token=tokens.national_id_token_sql("nid"),
        l4=tokens.last4_token_sql("d4"),
        l4_full=tokens.last4_token_sql("substr(nid, 6, 4)"),
        nid=tokens.ssn_digits_sql("c"),
        d4=tokens.last4_digits_sql("c4"),
        clean=tokens.clean_digits_sql("value"),
        clean4=tokens.clean_digits_sql("value4"),
    )
    frame = pl.DataFrame({"value": values, "value4": last4})
    with duckdb.connect() as con:
        con.register("frame", frame.to_arrow())
        result = con.sql(sql, params=tokens.token_sql_parameters(KEY)).pl()
    expected_tokens = [national_id_token(value, key=KEY) for value in values]
    expected_last4 = [
        national_id_last4_token(short, key=KEY) or national_id_last4_token(full, key=KEY, full=True)
        for full, short in zip(values, last4, strict=True)
    ]
    assert result["token"].to_list() == expected_tokens
    assert result["last4"].to_list() == expected_last4


def test_tokenize_series_hashes_each_distinct_value_once() -> None:
    series = pl.Series("ssn", ["536-22-1234", None, "536221234", "123-45-6789"])
    result = tokenize_series(series, key=KEY)
    token = national_id_token("536221234", key=KEY)
    assert result.to_list() == [token, None, token, None]
    assert result.name == "ssn"
    assert tokenize_series(pl.Series(["536-22-1234"]), kind="last4_of_full", key=KEY).to_list() == [
        national_id_last4_token("1234", key=KEY)
    ]


def test_key_comes_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CDP_TOKEN_KEY", "a-production-secret")
    assert token_key() == b"a-production-secret"
    assert national_id_token("536-22-1234") == national_id_token("536-22-1234", key=b"a-production-secret")


def test_unset_key_falls_back_to_the_development_key_with_one_warning(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    monkeypatch.delenv("CDP_TOKEN_KEY", raising=False)
    monkeypatch.delenv("CDP_REQUIRE_TOKEN_KEY", raising=False)
    monkeypatch.delenv("CDP_ENV", raising=False)
    monkeypatch.setattr(tokens, "_warned_development_key", False)
    with caplog.at_level(logging.WARNING, logger="cdp.privacy.tokens"):
        assert token_key() == DEVELOPMENT_KEY
        assert token_key() == DEVELOPMENT_KEY
    warnings = [record for record in caplog.records if "DEVELOPMENT key" in record.getMessage()]
    assert len(warnings) == 1
    assert tokens.is_development_key(token_key())


def test_production_refuses_the_development_key(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("CDP_TOKEN_KEY", raising=False)
    monkeypatch.setenv("CDP_REQUIRE_TOKEN_KEY", "1")
    with pytest.raises(ConfigError, match="CDP_TOKEN_KEY is not set"):
        token_key()


def test_the_production_environment_refuses_the_development_key(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("CDP_TOKEN_KEY", raising=False)
    monkeypatch.delenv("CDP_REQUIRE_TOKEN_KEY", raising=False)
    monkeypatch.setenv("CDP_ENV", "prod")
    with pytest.raises(ConfigError, match="CDP_ENV=prod"):
        token_key()
    monkeypatch.setenv("CDP_TOKEN_KEY", "a-production-secret")
    assert token_key() == b"a-production-secret"
