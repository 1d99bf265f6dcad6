"""The expectation suites, as plain data: which check runs on which table and column.

Kept free of Great Expectations imports so the suites can be read, listed and tested on their own;
:mod:`cdp.quality.gx_runner` turns each :class:`Check` into a GX expectation.

A *mandatory* check that cannot run (its table was not passed, or a column is missing) is reported
as a failure naming what is missing. An optional check whose column does not exist is skipped, so
range checks adapt to whichever columns the ``customer_360`` build currently produces.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

SUITES: tuple[str, ...] = ("customer_360", "identity")

#: Share of customers that must have a last name: digital-only sign-ups may lack one.
LAST_NAME_MIN_NON_NULL = 0.9
#: Balances and limits beyond this magnitude (or NaN / infinite) are data errors.
MAX_ABS_AMOUNT = 1e12
MAX_AGE = 120
#: Card balance / limit; over-limit cards exceed 1, but not by this much.
MAX_CARD_UTILIZATION = 5.0
#: GX formats unexpected-rows queries with str.format, hence the doubled braces.
_TOKEN = "^[0-9a-f]{{64}}$"


@dataclass(frozen=True)
class Check:
    """One expectation of a suite.

    Attributes:
        suite: Suite the check belongs to.
        name: Short name, unique within the suite (reported as ``<suite>.<name>``).
        table: Table the expectation runs on (the GX batch).
        expectation: GX expectation class name, e.g. ``ExpectColumnValuesToBeUnique``.
        kwargs: Arguments of the expectation.
        columns: Columns of ``table`` it needs.
        other_tables: Other tables (and the columns it needs in each) a cross-table query reads.
        mandatory: Fail when it cannot run, instead of skipping it.
    """

    suite: str
    name: str
    table: str
    expectation: str
    kwargs: Mapping[str, Any] = field(default_factory=dict)
    columns: tuple[str, ...] = ()
    other_tables: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    mandatory: bool = False

    @property
    def qualified_name(self) -> str:
        return f"{self.suite}.{self.name}"

    @property
    def column_label(self) -> str | None:
        return ",".join(self.columns) or None


def _unexpected_rows(query: str, description: str) -> dict[str, Any]:
    # GX adds its own alias to {batch} unless the query has a JOIN, so cross-table checks that alias
    # the batch are written as DuckDB's ANTI JOIN (also the fastest anti-join DuckDB plans).
    return {"unexpected_rows_query": query, "description": description}


def _identity_checks() -> list[Check]:
    suite = "identity"
    keys = ("source", "record_id")
    return [
        Check(
            suite,
            "cluster_record_key_unique",
            "identity_clusters",
            "ExpectCompoundColumnsToBeUnique",
            {"column_list": list(keys)},
            columns=keys,
            mandatory=True,
        ),
        Check(
            suite,
            "cluster_customer_id_not_null",
            "identity_clusters",
            "ExpectColumnValuesToNotBeNull",
            {"column": "customer_id"},
            columns=("customer_id",),
            mandatory=True,
        ),
        Check(
            suite,
            "cluster_rows_equal_party_records",
            "identity_clusters",
            "ExpectTableRowCountToEqualOtherTable",
            {"other_table_name": "std_parties"},
            other_tables={"std_parties": ()},
            mandatory=True,
        ),
        Check(
            suite,
            "every_party_record_clustered",
            "std_parties",
            "UnexpectedRowsExpectation",
            _unexpected_rows(
                "SELECT p.source, p.record_id FROM {batch} p ANTI JOIN identity_clusters c "
                "ON c.source = p.source AND c.record_id = p.record_id",
                "Every accepted party record has a row in identity_clusters.",
            ),
            columns=keys,
            other_tables={"identity_clusters": keys},
            mandatory=True,
        ),
        Check(
            suite,
            "no_cluster_row_without_party_record",
            "identity_clusters",
            "UnexpectedRowsExpectation",
            _unexpected_rows(
                "SELECT c.source, c.record_id, c.customer_id FROM {batch} c ANTI JOIN std_parties p "
                "ON p.source = c.source AND p.record_id = c.record_id",
                "Every identity_clusters row is an accepted party record.",
            ),
            columns=keys,
            other_tables={"std_parties": keys},
            mandatory=True,
        ),
        Check(
            suite,
            "party_national_id_is_token",
            "std_parties",
            "UnexpectedRowsExpectation",
            _unexpected_rows(
                f"SELECT source, record_id FROM {{batch}} WHERE national_id_token IS NOT NULL "
                f"AND NOT regexp_matches(national_id_token, '{_TOKEN}')",
                "national_id_token holds HMAC-SHA256 hex tokens, never a raw national ID.",
            ),
            columns=("source", "record_id", "national_id_token"),
        ),
    ]


def _customer_360_checks() -> list[Check]:
    suite = "customer_360"
    table = "customer_360"
    checks = [
        Check(
            suite,
            "customer_id_not_null",
            table,
            "ExpectColumnValuesToNotBeNull",
            {"column": "customer_id"},
            columns=("customer_id",),
            mandatory=True,
        ),
        Check(
            suite,
            "customer_id_unique",
            table,
            "ExpectColumnValuesToBeUnique",
            {"column": "customer_id"},
            columns=("customer_id",),
            mandatory=True,
        ),
        Check(
            suite,
            "every_clustered_customer_in_360",
            table,
            "UnexpectedRowsExpectation",
            _unexpected_rows(
                "SELECT DISTINCT c.customer_id FROM identity_clusters c ANTI JOIN {batch} x "
                "ON x.customer_id = c.customer_id",
                "Every customer_id in identity_clusters has a customer_360 row.",
            ),
            columns=("customer_id",),
            other_tables={"identity_clusters": ("customer_id",)},
            mandatory=True,
        ),
        Check(
            suite,
            "no_customer_without_records",
            table,
            "UnexpectedRowsExpectation",
            _unexpected_rows(
                "SELECT x.customer_id FROM {batch} x ANTI JOIN identity_clusters c "
                "ON c.customer_id = x.customer_id",
                "Every customer_360 row has at least one party record in identity_clusters.",
            ),
            columns=("customer_id",),
            other_tables={"identity_clusters": ("customer_id",)},
            mandatory=True,
        ),
        Check(
            suite,
            "last_name_mostly_present",
            table,
            "ExpectColumnValuesToNotBeNull",
            {"column": "last_name", "mostly": LAST_NAME_MIN_NON_NULL},
            columns=("last_name",),
        ),
        Check(
            suite,
            "age_in_range",
            table,
            "ExpectColumnValuesToBeBetween",
            {"column": "age", "min_value": 0, "max_value": MAX_AGE},
            columns=("age",),
        ),
        Check(
            suite,
            "card_utilization_in_range",
            table,
            "ExpectColumnValuesToBeBetween",
            {"column": "card_utilization", "min_value": 0, "max_value": MAX_CARD_UTILIZATION},
            columns=("card_utilization",),
        ),
        Check(
            suite,
            "logins_30d_within_90d",
            table,
            "ExpectColumnPairValuesAToBeGreaterThanB",
            {
                "column_A": "logins_90d",
                "column_B": "logins_30d",
                "or_equal": True,
                "ignore_row_if": "either_value_is_missing",
            },
            columns=("logins_90d", "logins_30d"),
        ),
        Check(
            suite,
            "national_id_is_token",
            table,
            "UnexpectedRowsExpectation",
            _unexpected_rows(
                f"SELECT customer_id FROM {{batch}} WHERE national_id_token IS NOT NULL "
                f"AND NOT regexp_matches(national_id_token, '{_TOKEN}')",
                "national_id_token holds HMAC-SHA256 hex tokens, never a raw national ID.",
            ),
            columns=("customer_id", "national_id_token"),
        ),
    ]
    for column in ("deposit_balance", "card_balance", "card_limit", "mortgage_balance", "loan_balance"):
        checks.append(
            Check(
                suite,
                f"{column}_finite",
                table,
                "ExpectColumnValuesToBeBetween",
                {"column": column, "min_value": -MAX_ABS_AMOUNT, "max_value": MAX_ABS_AMOUNT},
                columns=(column,),
            )
        )
    for column in ("n_source_records", "household_size"):
        checks.append(
            Check(
                suite,
                f"{column}_at_least_1",
                table,
                "ExpectColumnValuesToBeBetween",
                {"column": column, "min_value": 1},
                columns=(column,),
            )
        )
    for column in (
        "tenure_months",
        "logins_30d",
        "logins_90d",
        "n_products",
        "n_consents_granted",
        "deposit_accounts",
        "card_accounts",
        "mortgage_accounts",
        "loan_accounts",
    ):
        checks.append(
            Check(
                suite,
                f"{column}_not_negative",
                table,
                "ExpectColumnValuesToBeBetween",
                {"column": column, "min_value": 0},
                columns=(column,),
            )
        )
    return checks


def suite_checks(suite: str) -> list[Check]:
    """Every check of a suite.

    Raises:
        ValueError: Unknown suite name.
    """
    if suite == "identity":
        return _identity_checks()
    if suite == "customer_360":
        return _customer_360_checks()
    raise ValueError(f"unknown quality suite {suite!r}; known: {', '.join(SUITES)}")
