"""Export files and manifests: minimal columns, reconciling counts, checksum, safe CSV, atomic writes."""

from __future__ import annotations

import csv
import datetime as dt
import hashlib
import json
from pathlib import Path

import polars as pl
import pytest
from polars.testing import assert_frame_equal

from cdp.errors import ConfigError, NotFoundError
from cdp.exports import build_export, manifest_path_for
from cdp.segments import SegmentDefinition

AS_OF = dt.date(2024, 6, 30)
N = 200
SEGMENT = SegmentDefinition("new_job", "new job", "me", 2, "days_since_new_salary_payer <= 90")


def _customers() -> pl.DataFrame:
    ids = [f"C{i:04d}" for i in range(N)]
    return pl.DataFrame(
        {
            "customer_id": ids,
            "first_name": [
                '=HYPERLINK("http://evil")',
                "@SUM(1)",
                "+cmd|' /C calc'!A0",
                "-2+3",
                "\tTab",
                "José",
            ]
            + [f"Name{i}" for i in range(6, N)],
            "full_name": [f"Full {i}" for i in range(N)],
            "email": [f"c{i}@example.com" if i % 10 else None for i in range(N)],
            "phone": ["+15551234567", "=1+1"] + [f"+1555000{i:04d}" for i in range(2, N)],
            "address_line1": [f"{i} main st" for i in range(N)],
            "address_line2": [None] * N,
            "city": ["springfield"] * N,
            "state": ["IL"] * N,
            "postcode": ["62701"] * N,
            "date_of_birth": [dt.date(1980, 1, 1)] * N,
            "is_deceased": [i == 7 for i in range(N)],
            "do_not_contact": [i == 8 for i in range(N)],
            "in_arrears": [False] * N,
        }
    )


def _consent(channel: str = "email") -> pl.DataFrame:
    granted = [i % 4 != 3 for i in range(N)]
    return pl.DataFrame(
        {
            "customer_id": [f"C{i:04d}" for i in range(N)],
            "purpose": "marketing",
            "channel": channel,
            "granted": granted,
            "updated_at": dt.datetime(2024, 1, 1),
        }
    )


def _membership() -> pl.DataFrame:
    rows = [("new_job", 2, f"C{i:04d}", dt.date(2024, 6, 1), None) for i in range(N)]
    rows.append(("new_job", 1, "C0001", dt.date(2024, 1, 1), dt.date(2024, 6, 1)))  # an old, closed stay
    rows.append(("other", 1, "C0002", dt.date(2024, 1, 1), None))
    return pl.DataFrame(
        rows,
        schema={
            "segment": pl.String,
            "segment_version": pl.Int64,
            "customer_id": pl.String,
            "entered_on": pl.Date,
            "exited_on": pl.Date,
        },
        orient="row",
    )


def _export(
    out: Path,
    *,
    channel: str = "email",
    holdout: float = 0.0,
    campaign: str | None = None,
    segment: SegmentDefinition | str = SEGMENT,
    membership: pl.DataFrame | None = None,
):  # type: ignore[no-untyped-def]
    return build_export(
        segment,
        channel=channel,
        purpose="marketing",
        customers=_customers(),
        consent=_consent(channel),
        features=None,
        membership=_membership() if membership is None else membership,
        holdout_pct=holdout,
        campaign_id=campaign,
        run_id="run-1",
        out=out,
        erased=pl.DataFrame({"customer_id": ["C0009"]}),
        as_of=AS_OF,
    )


def test_manifest_reconciles_and_its_checksum_matches_the_file(tmp_path: Path) -> None:
    out = tmp_path / "offers.csv"
    manifest = _export(out, holdout=10, campaign="SPRING")
    saved = json.loads(manifest_path_for(out).read_text())
    assert saved == manifest.to_dict()
    assert saved["sha256"] == hashlib.sha256(out.read_bytes()).hexdigest()
    assert saved["members"] == N
    assert saved["members"] == saved["excluded_total"] + saved["holdout"] + saved["exported"]
    assert saved["excluded_total"] == sum(saved["excluded"].values())
    # C0007 deceased, C0008 do-not-contact, C0009 erased; every 4th without consent; every 10th without email
    no_consent = sum(1 for i in range(N) if i % 4 == 3 and i not in (7,))
    assert {key: value for key, value in saved["excluded"].items() if value} == {
        "erased": 1,
        "deceased": 1,
        "do_not_contact": 1,
        "no_consent": no_consent,
        "no_contact_details": sum(1 for i in range(N) if i % 10 == 0 and i % 4 != 3),
    }
    assert 5 <= saved["holdout"] <= 30
    assert (
        saved["segment"],
        saved["segment_version"],
        saved["run_id"],
        saved["campaign_id"],
        saved["purpose"],
        saved["channel"],
        saved["format"],
        saved["encoding"],
    ) == ("new_job", 2, "run-1", "SPRING", "marketing", "email", "csv", "utf-8-sig")
    exported = pl.read_csv(out)
    assert exported.columns == ["customer_id", "first_name", "email"] == saved["columns"]
    assert exported.height == saved["exported"]
    again = _export(tmp_path / "again.csv", holdout=10, campaign="SPRING")
    assert again.sha256 == manifest.sha256  # same inputs, same file: stable holdout
    assert sorted(p.name for p in tmp_path.iterdir()) == [  # no temporary files left behind
        "again.csv",
        "again.csv.manifest.json",
        "offers.csv",
        "offers.csv.manifest.json",
    ]


def test_csv_neutralizes_formulas_and_opens_as_utf8_with_bom(tmp_path: Path) -> None:
    out = tmp_path / "sms.csv"
    _export(out, channel="sms")
    raw = out.read_bytes()
    assert raw.startswith(b"\xef\xbb\xbf")
    with open(out, encoding="utf-8-sig", newline="") as handle:
        rows = {row["customer_id"]: row for row in csv.DictReader(handle)}
    assert list(next(iter(rows.values()))) == ["customer_id", "first_name", "phone"]
    assert rows["C0000"]["first_name"] == '\'=HYPERLINK("http://evil")'
    assert rows["C0001"]["first_name"] == "'@SUM(1)"
    assert rows["C0002"]["first_name"] == "'+cmd|' /C calc'!A0"
    assert rows["C0004"]["first_name"] == "'\tTab"
    assert rows["C0005"]["first_name"] == "José"
    assert rows["C0000"]["phone"] == "+15551234567"  # a real E.164 number keeps its +
    assert rows["C0001"]["phone"] == "'=1+1"
    assert not any(
        value.startswith(("=", "+", "-", "@", "\t", "\r"))
        for row in rows.values()
        for key, value in row.items()
        if key != "phone"
    )


@pytest.mark.parametrize(
    ("channel", "columns"),
    [
        ("email", ["customer_id", "first_name", "email"]),
        ("sms", ["customer_id", "first_name", "phone"]),
        ("mail", ["customer_id", "full_name", "address_line1", "address_line2", "city", "state", "postcode"]),
        ("app", ["customer_id"]),
    ],
)
def test_each_channel_gets_only_its_contact_fields(tmp_path: Path, channel: str, columns: list[str]) -> None:
    out = tmp_path / f"{channel}.parquet"
    manifest = _export(out, channel=channel)
    frame = pl.read_parquet(out)
    assert frame.columns == columns
    assert frame.height == manifest.exported > 0
    assert manifest.sha256 == hashlib.sha256(out.read_bytes()).hexdigest()
    assert frame["customer_id"].is_sorted()


def test_parquet_keeps_values_as_they_are(tmp_path: Path) -> None:
    out = tmp_path / "email.parquet"
    _export(out)
    frame = pl.read_parquet(out).filter(pl.col("customer_id").is_in(["C0001", "C0002"]))
    expected = pl.DataFrame(
        {
            "customer_id": ["C0001", "C0002"],
            "first_name": ["@SUM(1)", "+cmd|' /C calc'!A0"],
            "email": ["c1@example.com", "c2@example.com"],
        }
    )
    assert_frame_equal(frame, expected)


def test_refusals(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"must end in \.csv or \.parquet"):
        _export(tmp_path / "offers.xlsx")
    with pytest.raises(ConfigError, match="needs a campaign id"):
        _export(tmp_path / "offers.csv", holdout=5)
    with pytest.raises(ConfigError, match=r"version\(s\) \[2\] but the definition is version 3"):
        _export(tmp_path / "offers.csv", segment=SegmentDefinition("new_job", "d", "me", 3, "age > 1"))
    with pytest.raises(NotFoundError, match="'ghost' has no membership"):
        _export(tmp_path / "offers.csv", segment="ghost")
    assert list(tmp_path.iterdir()) == []


def test_an_empty_segment_still_gets_a_file_and_a_manifest(tmp_path: Path) -> None:
    out = tmp_path / "none.csv"
    manifest = _export(out, membership=_membership().filter(pl.col("segment") == "other"))
    assert (manifest.members, manifest.exported, manifest.segment_version) == (0, 0, 2)
    assert out.read_text(encoding="utf-8-sig") == "customer_id,first_name,email\n"
