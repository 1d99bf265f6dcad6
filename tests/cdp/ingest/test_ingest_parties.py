from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from pathlib import Path

import polars as pl
import pytest
from polars.testing import assert_frame_equal

from cdp.config import load_config
from cdp.errors import SourceFileError
from cdp.ingest import map_sources
from cdp.privacy.erasure import ErasureRegister
from cdp.privacy.tokens import national_id_last4_token, national_id_token
from cdp.schemas.canonical import RECONCILIATION_COLUMNS, REJECT_COLUMNS

KEY = b"ingest-test-key-0123456789abcdef"
Entry = Callable[..., dict[str, object]]


def _rejects(rows: list[tuple[str, str, int, str | None, str]]) -> pl.DataFrame:
    return pl.DataFrame(rows, schema=dict(REJECT_COLUMNS), orient="row")


def _reconciliation(rows: list[tuple[str, str, int, int, int]]) -> pl.DataFrame:
    return pl.DataFrame(rows, schema=dict(RECONCILIATION_COLUMNS), orient="row")


def test_sql_expressions_map_rows_and_tokenize_national_ids(
    write_source, party_entry: Entry, header: str
) -> None:
    config = write_source(
        {"parties": [party_entry()]},
        {
            "core/customers_2024-01-01.csv": header + "7,Ann,Lee,01/02/1980,12,Main St,536-22-1234\n"
            "8,Bo,,,,,\n"
        },
    )
    mapped = map_sources(load_config(config), erasure=ErasureRegister.empty())

    expected = pl.DataFrame(
        {
            "source": ["core_customers", "core_customers"],
            "record_id": ["7", "8"],
            "source_system": ["core", "core"],
            "first_name": ["Ann", "Bo"],
            "last_name": ["Lee", None],
            "date_of_birth": [dt.datetime(1980, 1, 2), None],
            "address_line1": ["12 Main St", None],
            "national_id_token": [national_id_token("536221234", key=KEY), None],
            "national_id_last4_token": [national_id_last4_token("1234", key=KEY), None],
            "source_file": ["core/customers_2024-01-01.csv"] * 2,
            "source_row": [2, 3],
        }
    )
    assert_frame_equal(mapped.parties, expected)
    assert mapped.rejects.height == 0
    assert mapped.summary("core_customers").records == 2


def test_rejects_carry_exact_lines_and_reconciliation_adds_up(
    write_source, party_entry: Entry, header: str
) -> None:
    rows = (
        "1,Ann,Lee,01/02/1980,12,Main St,536-22-1234\n"  # line 2: fine
        "2,Bob,Ray,13/45/1990,3,Oak Ave,536-22-1235\n"  # line 3: unparseable date
        "3,Cy,Wu\n"  # line 4: too few fields
        ",Dee,Fox,01/01/1970,1,Elm,\n"  # line 5: missing record_id
        "\n"  # line 6: blank, skipped
        '5,Ed,"Po\nLo",01/01/2999,1,Elm,\n'  # lines 7-8: date of birth in the future
        "6,Fay,Fu,01/01/1970,1,Elm,,extra\n"  # line 9: too many fields
        "7,Gus,Gu,99/99/1999,1,Elm,\n"  # line 10: fine apart from the date
        "8,Hal,Hu,01/01/1970,1,Elm,\n"  # line 11: fine
    )
    config = write_source({"parties": [party_entry()]}, {"core/customers_2024-01-01.csv": header + rows})
    mapped = map_sources(load_config(config), erasure=ErasureRegister.empty())

    file = "core/customers_2024-01-01.csv"
    bad_date = "expression failed on a present value of birth_dt"
    expected = _rejects(
        [
            ("core_customers", file, 3, "date_of_birth", bad_date),
            (
                "core_customers",
                file,
                4,
                "birth_dt",
                "malformed csv row: too few fields (expected 7, found 3)",
            ),
            ("core_customers", file, 5, "record_id", "missing record_id"),
            ("core_customers", file, 7, "date_of_birth", "date of birth outside 1900-01-01..today"),
            ("core_customers", file, 9, None, "malformed csv row: too many fields (expected 7, found 8)"),
            ("core_customers", file, 10, "date_of_birth", bad_date),
        ]
    )
    assert_frame_equal(mapped.rejects, expected)
    assert_frame_equal(mapped.reconciliation, _reconciliation([("core_customers", file, 8, 2, 6)]))
    assert mapped.parties["source_row"].to_list() == [2, 11]


def test_a_row_with_two_problems_is_one_rejected_row_with_two_reasons(
    write_source, party_entry: Entry, header: str
) -> None:
    config = write_source(
        {"parties": [party_entry()]},
        {"core/customers_1.csv": header + ",Ann,Lee,31/31/1980,1,Elm,\n2,Bo,Li,01/01/1970,1,Elm,\n"},
    )
    mapped = map_sources(load_config(config), erasure=ErasureRegister.empty())

    assert mapped.rejects.select("line", "column").rows() == [(2, "date_of_birth"), (2, "record_id")]
    assert mapped.reconciliation.select("rows_read", "rows_accepted", "rows_rejected").row(0) == (2, 1, 1)


def test_duplicate_keys_within_a_file_keep_the_first(write_source, party_entry: Entry, header: str) -> None:
    rows = "1,Ann,A,,,,\n2,Bob,B,,,,\n1,Ann,Again,,,,\n1,Ann,Third,,,,\n"
    config = write_source({"parties": [party_entry()]}, {"core/customers_1.csv": header + rows})
    mapped = map_sources(load_config(config), erasure=ErasureRegister.empty())

    assert mapped.parties.select("record_id", "last_name").rows() == [("1", "A"), ("2", "B")]
    assert mapped.rejects.select("line", "column", "reason").rows() == [
        (4, "record_id", "duplicate record_id"),
        (5, "record_id", "duplicate record_id"),
    ]


def test_later_files_upsert_and_delete(write_source, party_entry: Entry) -> None:
    header = "cif_no,first_nm,last_nm,birth_dt,house_no,street,ssn,status\n"
    config = write_source(
        {"parties": [party_entry(deleted_when="status = 'D'")]},
        {
            "core/customers_2024-01-01.csv": header + "1,Ann,Lee,,,,,A\n2,Bob,Ray,,,,,A\n3,Cy,Wu,,,,,A\n",
            "core/customers_2024-02-01.csv": header + "2,Bob,Rae,,,,,A\n3,,,,,,,D\n4,Dee,Fox,,,,,A\n",
        },
    )
    mapped = map_sources(load_config(config), erasure=ErasureRegister.empty())

    assert mapped.parties.select("record_id", "last_name", "source_file").rows() == [
        ("1", "Lee", "core/customers_2024-01-01.csv"),
        ("2", "Rae", "core/customers_2024-02-01.csv"),
        ("4", "Fox", "core/customers_2024-02-01.csv"),
    ]
    summary = mapped.summary("core_customers")
    assert (summary.rows_read, summary.rows_accepted, summary.rows_rejected) == (6, 6, 0)
    assert (summary.deleted, summary.superseded, summary.records) == (1, 2, 3)
    assert mapped.reconciliation["rows_accepted"].to_list() == [3, 3]


def test_parquet_rows_are_numbered_from_one(write_source, party_entry: Entry, tmp_path: Path) -> None:
    config = write_source({"parties": [party_entry(path="core/customers.parquet", format="parquet")]}, {})
    (tmp_path / "core").mkdir()
    pl.DataFrame(
        {
            "cif_no": [10, None, 12],
            "first_nm": ["A", "B", "C"],
            "last_nm": ["X", "Y", "Z"],
            "birth_dt": ["01/01/1970", "01/01/1971", "bad"],
            "house_no": ["1", "2", "3"],
            "street": ["Elm", "Oak", "Ash"],
            "ssn": ["536-22-1234", None, None],
        }
    ).write_parquet(tmp_path / "core/customers.parquet")
    mapped = map_sources(load_config(config), erasure=ErasureRegister.empty())

    assert mapped.parties.select("record_id", "source_row").rows() == [("10", 1)]
    assert mapped.rejects.select("line", "column").rows() == [(2, "record_id"), (3, "date_of_birth")]


def test_latin1_extract_is_decoded_when_declared(write_source, party_entry: Entry, header: str) -> None:
    entry = party_entry(csv={"delimiter": ";", "encoding": "latin-1"})
    content = (header.replace(",", ";") + "1;José;Muñoz;;;;\n").encode("latin-1")
    config = write_source({"parties": [entry]}, {"core/customers_1.csv": content})
    mapped = map_sources(load_config(config), erasure=ErasureRegister.empty())
    assert mapped.parties.select("first_name", "last_name").row(0) == ("José", "Muñoz")


def test_header_only_file_is_zero_rows(write_source, party_entry: Entry, header: str) -> None:
    config = write_source({"parties": [party_entry()]}, {"core/customers_1.csv": header})
    mapped = map_sources(load_config(config), erasure=ErasureRegister.empty())
    assert mapped.parties.height == 0
    assert mapped.reconciliation.select("rows_read", "rows_accepted", "rows_rejected").row(0) == (0, 0, 0)


@pytest.mark.parametrize(
    ("content", "fragment"),
    [
        (b"", "file is empty (0 bytes)"),
        (b"cif_no,first_nm\n1,Ann\n", "missing column(s) last_nm, birth_dt, house_no, street, ssn"),
        (b"cif_no;first_nm;last_nm;birth_dt;house_no;street;ssn\n", "is csv.delimiter ',' right?"),
        (
            "cif_no,first_nm,last_nm,birth_dt,house_no,street,ssn\n1,José,,,,,\n".encode("latin-1"),
            "is not valid utf-8 at byte 58 (line 2); declare csv.encoding",
        ),
        (
            b"cif_no,first_nm,first_nm,birth_dt,house_no,street,ssn\n",
            "duplicate column name(s) in the header",
        ),
    ],
)
def test_file_level_problems_raise_source_file_error_naming_the_file(
    write_source, party_entry: Entry, content: bytes, fragment: str, tmp_path: Path
) -> None:
    config = write_source({"parties": [party_entry()]}, {"core/customers_1.csv": content})
    with pytest.raises(SourceFileError) as caught:
        map_sources(load_config(config), erasure=ErasureRegister.empty())
    assert str(tmp_path / "core/customers_1.csv") in str(caught.value)
    assert fragment in str(caught.value)


def test_no_matching_file_is_a_source_file_error(write_source, party_entry: Entry) -> None:
    config = write_source({"parties": [party_entry()]}, {})
    with pytest.raises(
        SourceFileError, match=r"entry 'core_customers': no file matches core/customers_\*\.csv"
    ):
        map_sources(load_config(config), erasure=ErasureRegister.empty())


def test_unreadable_parquet_is_a_source_file_error(write_source, party_entry: Entry) -> None:
    entry = party_entry(path="core/customers.parquet", format="parquet")
    config = write_source({"parties": [entry]}, {"core/customers.parquet": b"not parquet at all"})
    with pytest.raises(SourceFileError, match="customers.parquet: not a readable parquet file"):
        map_sources(load_config(config), erasure=ErasureRegister.empty())


def test_columns_with_spaces_and_quotes_can_be_mapped(write_source) -> None:
    entry = {
        "name": "branch",
        "system": "core",
        "path": "branch.csv",
        "record_id": '"Customer No"',
        "fields": {"full_name": '"Owner\'s Name"', "date_of_birth": "strptime(\"Owner's DOB\", '%m/%d/%Y')"},
    }
    content = "Customer No,Owner's Name,Owner's DOB\n1,Ann Lee,01/02/1980\n2,Bo Li,31/31/1999\n"
    config = write_source({"parties": [entry]}, {"branch.csv": content})
    mapped = map_sources(load_config(config), erasure=ErasureRegister.empty())

    assert mapped.parties.select("record_id", "full_name").rows() == [("1", "Ann Lee")]
    assert mapped.rejects.select("line", "column", "reason").rows() == [
        (3, "date_of_birth", "expression failed on a present value of Owner's DOB"),
    ]
