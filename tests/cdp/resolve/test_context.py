"""Context-conditional u (twins, namesakes' e-mails) and the alias-aware first-name levels."""

from __future__ import annotations

import duckdb
import polars as pl
import pytest

from cdp.resolve.context import dob_household_rate, email_namesake_rate
from cdp.resolve.prepare import prepare_linkage_input
from cdp.resolve.settings import build_settings, first_name_comparison


def _parties(rows: list[tuple[str, str, str, str | None, str | None, str | None]]) -> pl.DataFrame:
    frame = pl.DataFrame(
        rows,
        schema=["record_id", "first_name", "last_name", "date_of_birth", "address_line1", "email"],
        orient="row",
    )
    return frame.with_columns(
        source=pl.lit("core"), postcode=pl.lit("10001"), date_of_birth=pl.col("date_of_birth").str.to_date()
    )


def test_dob_household_rate_counts_twins_among_relatives_only() -> None:
    parties = _parties(
        [
            ("1", "octavia", "z", "1990-05-17", "12 quincy st", None),  # twins
            ("2", "cordelia", "z", "1990-05-17", "12 quincy st", None),
            ("3", "mark", "z", "1960-01-02", "12 quincy st", None),  # parent
            ("4", "m", "z", "1960-01-02", "12 quincy st", None),  # parent's initial-only record: skipped
            ("5", "bill", "y", "1970-03-04", "1 elm st", None),  # same person, nickname: not a relative
            ("6", "william", "y", "1970-03-04", "1 elm st", None),
        ]
    )
    measured = dob_household_rate(prepare_linkage_input(parties))
    # pairs with clearly different first names: octavia-cordelia (same date), octavia-mark, cordelia-mark
    assert measured.pairs == 3
    assert measured.rate == pytest.approx(1 / 3)


def test_email_namesake_rate_uses_name_only_addresses_of_different_people() -> None:
    parties = _parties(
        [
            ("1", "john", "rodriguez", "1980-01-01", None, "jrodriguez@gmail.com"),
            ("2", "jose", "rodriguez", "1991-02-02", None, "jrodriguez@gmail.com"),
            ("3", "juan", "rodriguez", "1975-03-03", None, "juan.rodriguez@gmail.com"),
            ("4", "john", "rodriguez", "1980-01-01", None, "jrodriguez@gmail.com"),  # same person as 1
            ("5", "jack", "rodriguez", "1999-09-09", None, "jrodriguez99@gmail.com"),  # has digits: out
        ]
    )
    measured = email_namesake_rate(prepare_linkage_input(parties))
    # different-date pairs among 1-4: (1,2) (1,3) (2,3) (2,4) (3,4); same address: (1,2) (2,4)
    assert measured.pairs == 5
    assert measured.rate == pytest.approx(2 / 5)


@pytest.mark.parametrize(
    ("left", "right", "label"),
    [
        ("w", "bill", "initial agrees"),  # initial of the formal name behind a nickname
        ("j", "john", "initial agrees"),
        ("willaim", "bill", "jaro-winkler >= 0.92"),  # typo of the formal name behind a nickname
        ("cordelia", "octavia", "all other"),
    ],
)
def test_first_name_levels_know_aliases(left: str, right: str, label: str) -> None:
    frame = prepare_linkage_input(
        pl.DataFrame({"source": ["a", "b"], "record_id": ["1", "2"], "first_name": [left, right]})
    )
    pair = frame.select(
        **{f"{name}_l": pl.col(name).first() for name in ("first_name", "first_name_groups")},
        **{f"{name}_r": pl.col(name).last() for name in ("first_name", "first_name_groups")},
    )
    cases = " ".join(
        f"WHEN {level['sql_condition']} THEN '{level['label_for_charts']}'"
        for level in first_name_comparison()["comparison_levels"]
        if level["sql_condition"] != "ELSE"
    )
    connection = duckdb.connect()
    connection.register("pair", pair.to_arrow())
    found = connection.execute(f"SELECT CASE {cases} ELSE 'all other' END FROM pair").fetchall()[0][0]
    assert found == label


def test_context_levels_only_where_their_columns_exist() -> None:
    with_household = build_settings(["first_name", "last_name", "date_of_birth", "phone", "email"])
    without = build_settings(["first_name", "date_of_birth", "email"])

    def labels(settings: object, name: str) -> list[str]:
        (comparison,) = [c for c in settings.comparisons if c["output_column_name"] == name]  # type: ignore[attr-defined]
        return [level["label_for_charts"] for level in comparison["comparison_levels"]]

    assert "exact, same household" in labels(with_household, "dob")
    assert "exact, same household" not in labels(without, "dob")
    assert "exact, name-only address, same surname and initial" in labels(with_household, "email")
    assert "exact, name-only address, same surname and initial" not in labels(without, "email")
