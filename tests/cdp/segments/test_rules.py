"""The rule validator refuses unsafe or unknown expressions; allowed ones run with SQL semantics."""

from __future__ import annotations

import datetime as dt

import polars as pl
import pytest

from cdp.errors import ConfigError
from cdp.segments import compile_rule, validate_segment_rule
from cdp.segments.columns import KNOWN_COLUMNS

COLUMNS = {
    "age": pl.Int64(),
    "email": pl.String(),
    "deposit_balance": pl.Float64(),
    "has_card": pl.Boolean(),
    "date_of_birth": pl.Date(),
    "days_since_move": pl.Int64(),
    "tags": pl.List(pl.String()),
}


@pytest.mark.parametrize(
    ("rule", "problem"),
    [
        ("age > 30; DROP TABLE customer_360", "';' is not allowed"),
        ("age > 30;", "';' is not allowed"),
        ("age > (SELECT max(age) FROM customer_360)", "subqueries are not allowed"),
        ("age IN (SELECT age FROM customer_360)", "not a subquery"),
        ("age > 1 UNION SELECT 1", "not allowed"),
        ("EXISTS (SELECT 1)", "not allowed"),
        ("agee > 30", "unknown column 'agee'; did you mean age"),
        ("customer_360.age > 30", "use the bare column name"),
        ("pg_sleep(10) IS NULL", "unknown function pg_sleep()"),
        ("read_csv('/etc/passwd') IS NULL", "not allowed"),
        ("current_date > date_of_birth", "current_date() is not allowed"),
        ("age > 30 -- and consent", "comments are not allowed"),
        ("age > 30 /* hidden */", "comments are not allowed"),
        ("email = 'x'' OR ''1''=''1'", "quote, comment or control characters"),
        ("email = 'a;b'", "quote, comment or control characters"),
        ("CAST(age AS VARCHAR) = '30'", "casts are not allowed"),
        ("email LIKE '%@bank.com'", "LIKE is not allowed"),
        ("age", "must be a true/false condition"),
        ("age + 1", "must be a true/false condition"),
        ("age > 'thirty'", "compares number and string values"),
        ("has_card + 1 > 0", "needs number values"),
        ("date_of_birth < '1960-13-45'", "is not a date"),
        ("tags IS NULL", "cannot be used in a rule"),
        ("age >", "cannot parse"),
        ("", "the rule is empty"),
        ("age > " + "1 + " * 5000 + "1", "longer than"),
        ("(" * 1500 + "age > 1" + ")" * 1500, "nested more than 100 levels"),
        ("NOT " * 500 + "has_card", "nested more than 100 levels"),
        (" AND ".join(["age > 1"] * 150), "nested more than 100 levels"),
    ],
)
def test_unsafe_or_unknown_rules_are_refused_with_the_segment_named(rule: str, problem: str) -> None:
    with pytest.raises(ConfigError, match="segment 'young'") as raised:
        validate_segment_rule(rule, columns=COLUMNS, segment="young")
    assert problem in str(raised.value)


def test_refusal_without_a_segment_name_still_says_what_is_wrong() -> None:
    with pytest.raises(ConfigError, match=r"^segment rule: unknown column 'salary'"):
        validate_segment_rule("salary > 1", columns=COLUMNS)


@pytest.mark.parametrize(
    "rule",
    [
        "age BETWEEN 18 AND 29",
        "age NOT BETWEEN 18 AND 29 OR email IS NOT NULL",
        "coalesce(deposit_balance, 0) * 12 >= 75000 AND NOT has_card",
        "lower(email) IN ('a@x.com', 'b@x.com')",
        "least(days_since_move, 100) < 90 AND greatest(age, 0) > 1 AND abs(-age) = age",
        "round(deposit_balance / 3, 2) > 1.5 AND age % 2 = 0",
        "date_of_birth < DATE '1960-01-01' OR date_of_birth >= '2000-01-01'",
        "has_card IS TRUE AND has_card IS NOT FALSE",
        "AGE > 30",
    ],
)
def test_allowed_rules_compile_and_run(rule: str) -> None:
    compiled = compile_rule(rule, columns=COLUMNS)
    pl.DataFrame(schema=COLUMNS).select(compiled.predicate)


def test_rules_follow_sql_three_valued_logic() -> None:
    people = pl.DataFrame(
        {
            "age": [30, None, 15, 40, 50],
            "email": ["a@x.com", "b@x.com", None, None, "e@x.com"],
            "deposit_balance": [100.0, 50.0, 0.0, None, 10.0],
            "has_card": [True, None, False, True, None],
            "date_of_birth": [dt.date(1994, 1, 1), None, dt.date(2009, 1, 1), dt.date(1984, 1, 1), None],
            "days_since_move": [10, None, 200, 5, None],
        }
    )

    def members(rule: str) -> list[bool]:
        return people.select(compile_rule(rule, columns=COLUMNS).predicate).to_series().to_list()

    assert members("age >= 18") == [True, False, False, True, True]  # unknown age: not selected
    assert members("NOT (age >= 18)") == [False, False, True, False, False]  # NOT unknown is unknown
    assert members("age >= 18 OR email IS NULL") == [True, False, True, True, True]
    assert members("has_card OR days_since_move <= 30") == [True, False, False, True, False]
    assert members("age IN (15, NULL)") == [False, False, True, False, False]
    assert members("deposit_balance / (age - 30) > 0.1") == [
        False,
        False,
        False,
        False,
        True,
    ]  # x / 0 is NULL
    assert members("coalesce(days_since_move, 999) > 90") == [False, True, True, False, True]


def test_starter_rules_only_use_known_columns() -> None:
    assert "days_since_move" in KNOWN_COLUMNS and "age" in KNOWN_COLUMNS
    with pytest.raises(ConfigError, match="unknown column"):
        validate_segment_rule("days_since_wedding < 30", columns=KNOWN_COLUMNS)
