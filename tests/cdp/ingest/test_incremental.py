"""Incremental ingestion on small literal extracts: manifest checks, deletions, erasure, merging."""

from __future__ import annotations

import datetime as dt
import os
from collections.abc import Callable
from pathlib import Path

import polars as pl
import pytest
from polars.testing import assert_frame_equal

from cdp.config import load_config
from cdp.ingest import map_sources, standardize_mapped
from cdp.ingest.incremental import MappedIncrement, map_increment, merge_increment
from cdp.ingest.manifest import FILES_COLUMNS, file_sha256
from cdp.ingest.merge import apply_increment, sort_table
from cdp.privacy.erasure import ErasureRegister, load_erasure_register
from cdp.schemas.canonical import RECONCILIATION_COLUMNS

Entry = Callable[..., dict[str, object]]
HEADER = "cif_no,first_nm,last_nm,birth_dt,house_no,street,ssn,status\n"
DAY1 = HEADER + "1,Ann,Lee,,,,,A\n2,Bob,Ray,,,,,A\n3,Cy,Wu,,,,,A\n"
DAY2 = HEADER + "2,Bob,Rae,,,,,A\n3,,,,,,,D\n4,Dee,Fox,,,,,A\n"
WHEN = dt.datetime(2026, 11, 1, 6, 0)
CONSENTS = {
    "name": "core_consents",
    "system": "core",
    "path": "core/consents_*.csv",
    "party": "core_customers",
    "fields": {
        "party_record_id": "cif_no",
        "purpose": "purpose",
        "channel": "channel",
        "granted": "opt_in = 'Y'",
        "updated_at": "ts",
    },
}


def _config(write_source, party_entry: Entry, files: dict[str, str], **extra: object) -> Path:
    return write_source({"parties": [party_entry(deleted_when="status = 'D'")], **extra}, files)


def _run(config: Path, files: pl.DataFrame | None, **kwargs: object) -> MappedIncrement:
    return map_increment(load_config(config), files, ingested_at=WHEN, **kwargs)  # type: ignore[arg-type]


def test_first_run_reads_everything_and_records_each_file(
    write_source, party_entry: Entry, tmp_path: Path
) -> None:
    config = _config(write_source, party_entry, {"core/customers_2024-01-01.csv": DAY1})

    increment = _run(config, None)

    path = tmp_path / "core/customers_2024-01-01.csv"
    expected = pl.DataFrame(
        {
            "source": ["core_customers"],
            "file": ["core/customers_2024-01-01.csv"],
            "size_bytes": [path.stat().st_size],
            "modified_ns": [path.stat().st_mtime_ns],
            "sha256": [file_sha256(path)],
            "entry_fingerprint": increment.files["entry_fingerprint"].to_list(),
            "rows_read": [3],
            "rows_accepted": [3],
            "rows_rejected": [0],
            "ingested_at": [WHEN],
        },
        schema=dict(FILES_COLUMNS),
    )
    assert increment.full and increment.requires_full_reason is None
    assert_frame_equal(increment.files, expected)
    assert len(increment.files["entry_fingerprint"][0]) == 64


def test_a_deletion_marker_in_a_later_file_removes_the_record(
    write_source, party_entry: Entry, tmp_path: Path
) -> None:
    config = _config(write_source, party_entry, {"core/customers_2024-01-01.csv": DAY1})
    first = _run(config, None)
    parties = merge_increment("parties", None, first)
    (tmp_path / "core/customers_2024-02-01.csv").write_text(DAY2, encoding="utf-8")

    second = _run(config, first.files)

    assert second.files["file"].to_list() == ["core/customers_2024-02-01.csv"]
    assert second.deleted_keys["parties"].rows() == [("core_customers", "3")]
    merged = merge_increment("parties", parties, second)
    assert merged.select("record_id", "last_name", "source_file").rows() == [
        ("1", "lee", "core/customers_2024-01-01.csv"),
        ("2", "rae", "core/customers_2024-02-01.csv"),
        ("4", "fox", "core/customers_2024-02-01.csv"),
    ]
    full = standardize_mapped(map_sources(load_config(config)))
    assert_frame_equal(merged, sort_table("parties", full.parties))


def test_an_erasure_between_runs_removes_the_person_from_previous_tables(
    write_source, party_entry: Entry, tmp_path: Path
) -> None:
    consents = (
        "cif_no,purpose,channel,opt_in,ts\n"
        "1,marketing,email,Y,2024-01-01 10:00:00\n2,marketing,sms,N,2024-01-01 10:00:00\n"
    )
    config = _config(
        write_source,
        party_entry,
        {"core/customers_2024-01-01.csv": DAY1, "core/consents_2024-01-01.csv": consents},
        consents=[CONSENTS],
    )
    first = _run(config, None)
    parties, decisions = merge_increment("parties", None, first), merge_increment("consents", None, first)
    (tmp_path / "erasure_requests.csv").write_text("source,record_id\ncore_customers,1\n", encoding="utf-8")

    second = _run(config, first.files)

    assert second.files.height == 0
    assert merge_increment("parties", parties, second)["record_id"].to_list() == ["2", "3"]
    assert merge_increment("consents", decisions, second)["party_record_id"].to_list() == ["2"]


def test_a_changed_ingested_file_requires_a_full_ingest(
    write_source, party_entry: Entry, tmp_path: Path
) -> None:
    config = _config(write_source, party_entry, {"core/customers_2024-01-01.csv": DAY1})
    files = _run(config, None).files
    path = tmp_path / "core/customers_2024-01-01.csv"
    stat = path.stat()
    path.write_text(DAY1.replace("Ann", "Amy"), encoding="utf-8")
    os.utime(path, ns=(stat.st_atime_ns, stat.st_mtime_ns + 1_000_000_000))

    report = _run(config, files)
    fallback = _run(config, files, fallback_to_full=True)

    reason = "ingested file core/customers_2024-01-01.csv of 'core_customers' changed since it was ingested"
    assert (report.requires_full_reason, report.full, report.parties.height) == (reason, False, 0)
    with pytest.raises(ValueError, match="cannot be merged"):
        merge_increment("parties", None, report)
    assert (fallback.requires_full_reason, fallback.full) == (reason, True)
    assert merge_increment("parties", pl.DataFrame(), fallback)["first_name"].to_list() == [
        "amy",
        "bob",
        "cy",
    ]


def test_same_size_same_mtime_is_trusted_unless_content_is_verified(
    write_source, party_entry: Entry, tmp_path: Path
) -> None:
    config = _config(write_source, party_entry, {"core/customers_2024-01-01.csv": DAY1})
    files = _run(config, None).files
    path = tmp_path / "core/customers_2024-01-01.csv"
    stat = path.stat()
    path.write_text(DAY1.replace("Ann", "Amy"), encoding="utf-8")
    os.utime(path, ns=(stat.st_atime_ns, stat.st_mtime_ns))

    assert _run(config, files).requires_full_reason is None
    assert "changed" in (_run(config, files, verify_content=True).requires_full_reason or "")


def test_a_touched_but_identical_file_is_not_a_change(
    write_source, party_entry: Entry, tmp_path: Path
) -> None:
    config = _config(write_source, party_entry, {"core/customers_2024-01-01.csv": DAY1})
    files = _run(config, None).files
    path = tmp_path / "core/customers_2024-01-01.csv"
    os.utime(path, ns=(path.stat().st_atime_ns, path.stat().st_mtime_ns + 5_000_000_000))

    assert _run(config, files).requires_full_reason is None


@pytest.mark.parametrize(
    ("change", "reason"),
    [
        ("remove", "ingested file core/customers_2024-02-01.csv of 'core_customers' is gone"),
        (
            "late",
            "new file core/customers_2024-01-15.csv of 'core_customers' sorts before already-ingested "
            "core/customers_2024-02-01.csv",
        ),
        ("config", "the config entry of 'core_customers' (or the token key) changed"),
        ("key", "the config entry of 'core_customers' (or the token key) changed"),
    ],
)
def test_what_the_manifest_cannot_explain_requires_a_full_ingest(
    write_source,
    party_entry: Entry,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    change: str,
    reason: str,
) -> None:
    config = _config(
        write_source,
        party_entry,
        {"core/customers_2024-01-01.csv": DAY1, "core/customers_2024-02-01.csv": DAY2},
    )
    files = _run(config, None).files
    if change == "remove":
        (tmp_path / "core/customers_2024-02-01.csv").unlink()
    elif change == "late":
        (tmp_path / "core/customers_2024-01-15.csv").write_text(DAY2, encoding="utf-8")
    elif change == "config":
        config = _config(write_source, party_entry, {}, parties=[party_entry(record_id="trim(cif_no)")])
    else:
        monkeypatch.setenv("CDP_TOKEN_KEY", "another-key-0123456789abcdef0123456")

    assert (_run(config, files).requires_full_reason or "").startswith(reason)


def test_a_source_removed_from_the_config_requires_a_full_ingest(write_source, party_entry: Entry) -> None:
    config = _config(write_source, party_entry, {"core/customers_2024-01-01.csv": DAY1})
    files = _run(config, None).files.with_columns(source=pl.lit("old_system"))

    report = _run(config, files)

    assert (
        report.requires_full_reason == "source 'old_system' has ingested files but is no longer in the config"
    )


def test_apply_increment_replaces_an_accounts_links_and_erases_everywhere() -> None:
    previous = pl.DataFrame(
        {
            "account_source": ["acc", "acc", "acc", "acc"],
            "account_id": ["1", "1", "2", "3"],
            "party_source": ["core", "core", "core", "core"],
            "party_record_id": ["p1", "p2", "p3", "p9"],
            "role": ["primary", "joint", "primary", None],
        }
    )
    increment = pl.DataFrame(
        {
            "account_source": ["acc"],
            "account_id": ["1"],
            "party_source": ["core"],
            "party_record_id": ["p1"],
            "role": ["primary"],
        }
    )
    touched = pl.DataFrame({"account_source": ["acc", "acc"], "account_id": ["1", "2"]})
    erased = pl.DataFrame({"source": ["core"], "record_id": ["p9"]})

    merged = apply_increment(
        previous.reverse(), increment, table="account_holders", deleted_keys=touched, erased_keys=erased
    )

    assert_frame_equal(merged, increment)


def test_apply_increment_upserts_consent_decisions_including_null_keys() -> None:
    at = dt.datetime(2024, 1, 1, 10)
    previous = pl.DataFrame(
        {
            "source": ["c", "c"],
            "party_source": ["core", "core"],
            "party_record_id": ["1", "1"],
            "purpose": ["marketing", None],
            "channel": ["email", "sms"],
            "granted": [True, False],
            "updated_at": [at, at],
            "source_file": ["day1.csv", "day1.csv"],
            "source_row": [2, 3],
        }
    )
    increment = previous.with_columns(source_file=pl.lit("day2.csv"), source_row=pl.Series([5, 6]))

    merged = apply_increment(previous, increment, table="consents")

    assert_frame_equal(merged, sort_table("consents", increment))


def test_apply_increment_without_previous_sorts_and_conforms() -> None:
    increment = pl.DataFrame({"source": ["b", "a", "a"], "file": ["x", "y", "x"], "rows_read": [1, 2, 3]})

    merged = apply_increment(None, increment, table="reconciliation")

    expected = pl.DataFrame(
        {
            "source": ["a", "a", "b"],
            "file": ["x", "y", "x"],
            "rows_read": [3, 2, 1],
            "rows_accepted": [None, None, None],
            "rows_rejected": [None, None, None],
        },
        schema=dict(RECONCILIATION_COLUMNS),
    )
    assert_frame_equal(merged, expected)


def test_erasure_register_passed_explicitly_is_used(write_source, party_entry: Entry, tmp_path: Path) -> None:
    config = _config(write_source, party_entry, {"core/customers_2024-01-01.csv": DAY1})
    (tmp_path / "erasure_requests.csv").write_text("source,record_id\ncore_customers,2\n", encoding="utf-8")

    ignored = _run(config, None, erasure=ErasureRegister.empty())
    applied = _run(config, None, erasure=load_erasure_register(tmp_path / "erasure_requests.csv"))

    assert ignored.parties["record_id"].to_list() == ["1", "2", "3"]
    assert applied.parties["record_id"].to_list() == ["1", "3"]


def test_apply_increment_merge_keeps_tuple_order_of_text_keys() -> None:
    previous = sort_table(
        "parties",
        pl.DataFrame(
            {"source": ["a", "ab", "a", "b"], "record_id": ["z", "a", "a ", "1"], "first_name": ["p"] * 4}
        ),
    )
    increment = pl.DataFrame({"source": ["a", "ab"], "record_id": ["zz", "a"], "first_name": ["n", "n"]})

    merged = apply_increment(previous, increment, table="parties")

    assert merged.select("source", "record_id", "first_name").rows() == [
        ("a", "a ", "p"),
        ("a", "z", "p"),
        ("a", "zz", "n"),
        ("ab", "a", "n"),
        ("b", "1", "p"),
    ]
