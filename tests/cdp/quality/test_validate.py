from __future__ import annotations

import datetime as dt
from pathlib import Path

import polars as pl
import pytest

from cdp.quality import QualityReport, suite_checks, validate_tables
from cdp.schemas.canonical import PARTY_COLUMNS, conform

TOKEN = "0123456789abcdef" * 4


def _parties() -> pl.DataFrame:
    return conform(
        pl.DataFrame(
            {
                "source": ["core", "core", "card", "digital"],
                "record_id": ["1", "2", "1", "u9"],
                "last_name": ["garcia", "lee", "garcia", None],
                "national_id_token": [TOKEN, None, TOKEN, None],
            }
        ),
        PARTY_COLUMNS,
    )


def _clusters() -> pl.DataFrame:
    return pl.DataFrame(
        {
            "source": ["core", "core", "card", "digital"],
            "record_id": ["1", "2", "1", "u9"],
            "customer_id": ["C1", "C2", "C1", "C3"],
        }
    )


def _customer_360() -> pl.DataFrame:
    return pl.DataFrame(
        {
            "customer_id": ["C1", "C2", "C3"],
            "last_name": ["Garcia", "Lee", "Ng"],
            "date_of_birth": [dt.date(1980, 1, 1), None, dt.date(1999, 5, 5)],
            "national_id_token": [TOKEN, None, None],
            "n_source_records": [2, 1, 1],
            "deposit_balance": [120.5, 0.0, -20.0],
            "card_utilization": [0.4, None, 1.3],
            "logins_30d": [1, 0, 4],
            "logins_90d": [3, 0, 4],
            "age": [46, None, 27],
            "tenure_months": [100, 3, 0],
        }
    )


def _tables(**overrides: pl.DataFrame) -> dict[str, pl.DataFrame]:
    return {
        "std_parties": _parties(),
        "identity_clusters": _clusters(),
        "customer_360": _customer_360(),
        **overrides,
    }


def _failed(report: QualityReport) -> list[str]:
    return [outcome.expectation for outcome in report.failures()]


@pytest.fixture(scope="module")
def good_report(tmp_path_factory: pytest.TempPathFactory) -> tuple[QualityReport, Path]:
    docs = tmp_path_factory.mktemp("quality_docs")
    return validate_tables(_tables(), docs_dir=docs), docs


def test_a_good_set_passes_every_expectation(good_report: tuple[QualityReport, Path]) -> None:
    report, _ = good_report
    assert report.success, report.summary()
    names = {outcome.expectation for outcome in report.results}
    assert {
        "customer_360.customer_id_unique",
        "customer_360.age_in_range",
        "customer_360.logins_30d_within_90d",
        "identity.cluster_record_key_unique",
        "identity.every_party_record_clustered",
        "identity.cluster_rows_equal_party_records",
        "customer_360.every_clustered_customer_in_360",
    } <= names
    assert (
        "customer_360.card_balance_finite: column 'card_balance' is missing from customer_360"
        in report.skipped
    )


def test_data_docs_html_is_written(good_report: tuple[QualityReport, Path]) -> None:
    report, docs = good_report
    assert report.docs_index == docs / "customer_360-identity" / "index.html"
    assert report.docs_index.read_text().lower().startswith(("<!doctype html", "<html"))
    assert 'href="customer_360-identity/index.html"' in (docs / "index.html").read_text()
    assert list((docs / "customer_360-identity").rglob("validations/**/*.html"))


def test_duplicated_customer_id_fails_and_is_named() -> None:
    c360 = pl.concat([_customer_360(), _customer_360().head(1)])
    report = validate_tables(_tables(customer_360=c360), suites=("customer_360",))

    assert not report.success
    assert _failed(report) == ["customer_360.customer_id_unique"]
    assert "2 unexpected of 4" in report.failures()[0].observed
    assert "customer_360.customer_id_unique" in report.summary()


def test_party_record_in_two_clusters_fails() -> None:
    clusters = pl.concat(
        [_clusters(), pl.DataFrame({"source": ["core"], "record_id": ["2"], "customer_id": ["C3"]})]
    )
    report = validate_tables(_tables(identity_clusters=clusters), suites=("identity",))

    assert _failed(report) == [
        "identity.cluster_record_key_unique",
        "identity.cluster_rows_equal_party_records",
    ]


def test_unclustered_party_record_and_missing_customer_fail_with_keys() -> None:
    clusters = _clusters().filter(pl.col("record_id") != "u9")
    c360 = _customer_360().filter(pl.col("customer_id") != "C2")
    report = validate_tables(_tables(identity_clusters=clusters, customer_360=c360))

    failed = {outcome.expectation: outcome for outcome in report.failures()}
    assert set(failed) == {
        "identity.cluster_rows_equal_party_records",
        "identity.every_party_record_clustered",
        "customer_360.every_clustered_customer_in_360",
        "customer_360.no_customer_without_records",
    }
    assert "record_id=u9" in failed["identity.every_party_record_clustered"].details
    assert "customer_id=C2" in failed["customer_360.every_clustered_customer_in_360"].details


def test_out_of_range_values_and_raw_national_ids_fail() -> None:
    c360 = _customer_360().with_columns(
        age=pl.Series([46, 130, 27]),
        logins_30d=pl.Series([5, 0, 4]),
        card_utilization=pl.Series([0.4, None, 9.0]),
        deposit_balance=pl.Series([float("inf"), 0.0, 1.0]),
        national_id_token=pl.Series(["123-45-6789", None, None]),
    )
    report = validate_tables(_tables(customer_360=c360), suites=("customer_360",))

    assert set(_failed(report)) == {
        "customer_360.age_in_range",
        "customer_360.logins_30d_within_90d",
        "customer_360.card_utilization_in_range",
        "customer_360.deposit_balance_finite",
        "customer_360.national_id_is_token",
    }
    token_failure = next(o for o in report.failures() if o.expectation == "customer_360.national_id_is_token")
    assert "123-45-6789" not in token_failure.details


def test_missing_mandatory_column_or_table_is_a_failure_not_a_crash() -> None:
    report = validate_tables({"customer_360": _customer_360().drop("customer_id")}, suites=("customer_360",))

    failed = {outcome.expectation: outcome.details for outcome in report.failures()}
    assert failed["customer_360.customer_id_unique"] == "column 'customer_id' is missing from customer_360"
    assert (
        "table identity_clusters was not provided" in failed["customer_360.every_clustered_customer_in_360"]
    )
    assert not report.success


def test_suites_are_declared_for_both_gates() -> None:
    assert all(check.mandatory for check in suite_checks("identity") if check.name.startswith("cluster_"))
    with pytest.raises(ValueError, match="unknown quality suite"):
        suite_checks("nope")
