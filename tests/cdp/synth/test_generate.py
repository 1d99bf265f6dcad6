"""generate_bank: determinism, ground truth, batches and argument checks."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import polars as pl
import pytest
import typer
import yaml
from typer.testing import CliRunner

from cdp.cli import generate_cmd
from cdp.errors import ConfigError
from cdp.synth import STEPS, GenerationSummary, generate_bank

PARTY_FILES = {
    "core_customers": ("core/customers_*.csv", "cif_no", ",", "utf8"),
    "card_holders": ("card/cardholders_*.txt", "HOLDER_ID", "|", "utf8"),
    "mortgage_borrowers": ("mortgage/borrowers_*.csv", "BorrowerID", ",", "latin1"),
    "digital_users": ("digital/users_*.csv", "user_id", ",", "utf8"),
}


def _tree(root: Path) -> dict[str, bytes]:
    return {p.relative_to(root).as_posix(): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}


def _read(path: Path, separator: str, encoding: str) -> pl.DataFrame:
    return pl.read_csv(path, separator=separator, encoding=encoding, infer_schema=False)


def _party_rows(root: Path, source: str) -> pl.DataFrame:
    pattern, record_id, separator, encoding = PARTY_FILES[source]
    frames = [
        _read(p, separator, encoding)
        for p in sorted(root.rglob(pattern.split("/")[1]))
        if p.parent.name == pattern.split("/")[0]
    ]
    return pl.concat(frames).rename({record_id: "record_id"})


def test_same_seed_gives_identical_files_and_another_seed_differs(tmp_path: Path) -> None:
    first = generate_bank(tmp_path / "a", persons=300, seed=7, months=1)
    second = generate_bank(tmp_path / "b", persons=300, seed=7, months=1)
    other = generate_bank(tmp_path / "c", persons=300, seed=8, months=1)
    files_a, files_b, files_c = _tree(first.out_dir), _tree(second.out_dir), _tree(other.out_dir)
    assert files_a == files_b
    assert set(files_a) == set(files_c)
    assert files_a["truth.csv"] != files_c["truth.csv"]
    assert files_a["core/customers_20261031.csv"] != files_c["core/customers_20261031.csv"]
    assert files_a["core/transactions_20261031.parquet"] != files_c["core/transactions_20261031.parquet"]


def test_summary_counts_match_the_files(bank: GenerationSummary) -> None:
    for relative, rows in bank.files.items():
        path = bank.out_dir / relative
        assert path.exists()
        if path.suffix == ".parquet":
            assert pl.read_parquet(path).height == rows
    truth = pl.read_csv(bank.out_dir / "truth.csv", infer_schema=False)
    assert truth.columns == ["source", "record_id", "entity_id"]
    assert truth.height == bank.truth_rows
    assert truth.group_by("source").len().sort("source").rows() == sorted(bank.records.items())


def test_truth_covers_every_party_record_exactly_once(bank: GenerationSummary) -> None:
    truth = pl.read_csv(bank.out_dir / "truth.csv", infer_schema=False)
    assert truth.select(pl.struct("source", "record_id").is_unique().all()).item()
    for source in PARTY_FILES:
        rows = _party_rows(bank.out_dir, source)
        expected = truth.filter(pl.col("source") == source)["record_id"].sort()
        assert rows["record_id"].sort().to_list() == expected.to_list()


def test_holdings_are_realistic(bank: GenerationSummary) -> None:
    truth = pl.read_csv(bank.out_dir / "truth.csv", infer_schema=False)
    persons = truth["entity_id"].n_unique()
    assert persons == bank.persons
    share = {s: truth.filter(pl.col("source") == s)["entity_id"].n_unique() / persons for s in PARTY_FILES}
    assert 0.70 < share["core_customers"] < 0.90
    assert 0.35 < share["card_holders"] < 0.55
    assert 0.08 < share["mortgage_borrowers"] < 0.22
    assert 0.45 < share["digital_users"] < 0.65
    per_entity = truth.group_by("entity_id").agg(pl.col("source").unique().alias("systems"))
    digital_only = per_entity.filter(pl.col("systems") == ["digital_users"]).height
    assert digital_only > 0
    core = truth.filter(pl.col("source") == "core_customers")
    duplicated = core.group_by("entity_id").len().filter(pl.col("len") > 1).height
    assert 0 < duplicated < core.height * 0.05


def test_months_zero_writes_parties_and_accounts_only(tmp_path: Path) -> None:
    summary = generate_bank(tmp_path / "bank", persons=200, seed=3, months=0)
    assert not any("transactions" in f or "events" in f for f in summary.files)
    config = yaml.safe_load((summary.out_dir / "sources.yaml").read_text())
    assert "transactions" not in config and "events" not in config
    assert {"parties", "accounts", "consents"} <= set(config)


def test_batches_split_the_deliveries(batched: GenerationSummary) -> None:
    root = batched.out_dir
    folders = sorted(p.name for p in (root / "batches").iterdir())
    assert folders == ["01", "02", "03", "04"]
    layout = {
        number: sorted(
            p.relative_to(root / "batches" / number).as_posix()
            for p in (root / "batches" / number).rglob("*")
            if p.is_file()
        )
        for number in folders
    }
    dates = ["20261010", "20261017", "20261024", "20261031"]
    for number, day in zip(folders, dates, strict=True):
        assert "core/customers_" + day + ".csv" in layout[number]
        assert len(layout[number]) == len(layout["01"])
        assert all(day in name for name in layout[number])
    assert (root / "landing").is_dir()
    assert not any((root / "landing").rglob("*.csv"))
    core = [_read(p, ",", "utf8") for p in sorted((root / "batches").glob("*/core/customers_*.csv"))]
    assert core[0].height > sum(frame.height for frame in core[1:]) > 0
    assert set(core[0]["record_status"]) == {"A"}
    later = pl.concat(core[1:])
    assert (later["record_status"] == "D").any(), "delete markers in later batches"
    earlier_ids = set(core[0]["cif_no"])
    resent = later.filter(pl.col("cif_no").is_in(earlier_ids) & (pl.col("record_status") == "A"))
    assert resent.height > 0, "changed records are re-sent with the same record_id"
    assert later.filter(~pl.col("cif_no").is_in(earlier_ids)).height > 0, "new records in later batches"


def test_resent_records_carry_new_values(batched: GenerationSummary) -> None:
    frames = [
        _read(p, ",", "utf8").with_columns(batch=pl.lit(i))
        for i, p in enumerate(sorted((batched.out_dir / "batches").glob("*/core/customers_*.csv")))
    ]
    rows = pl.concat(frames).filter(pl.col("record_status") == "A")
    changed = rows.group_by("cif_no").agg(
        pl.col("street").n_unique().alias("streets"), pl.col("last_nm").n_unique().alias("names"), pl.len()
    )
    assert changed.filter((pl.col("len") > 1) & ((pl.col("streets") > 1) | (pl.col("names") > 1))).height > 0


def test_truth_covers_every_record_of_every_batch(batched: GenerationSummary) -> None:
    truth = pl.read_csv(batched.out_dir / "truth.csv", infer_schema=False)
    for source in PARTY_FILES:
        rows = _party_rows(batched.out_dir / "batches", source)
        expected = set(truth.filter(pl.col("source") == source)["record_id"])
        assert set(rows["record_id"]) == expected


def test_bad_arguments_raise_config_errors(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="--persons"):
        generate_bank(tmp_path / "x", persons=0, seed=1)
    with pytest.raises(ConfigError, match="--batches"):
        generate_bank(tmp_path / "x", persons=10, seed=1, batches=0)
    (tmp_path / "busy").mkdir()
    (tmp_path / "busy" / "notes.txt").write_text("mine")
    with pytest.raises(ConfigError, match="not empty"):
        generate_bank(tmp_path / "busy", persons=10, seed=1)
    assert (tmp_path / "busy" / "notes.txt").read_text() == "mine"


def test_regenerating_replaces_a_previous_bank(tmp_path: Path) -> None:
    generate_bank(tmp_path / "bank", persons=100, seed=1, months=0, batches=2)
    summary = generate_bank(tmp_path / "bank", persons=100, seed=1, months=0)
    assert not (tmp_path / "bank" / "batches").exists()
    assert set(_tree(summary.out_dir)) == {*summary.files, "truth.csv", "sources.yaml"}


def test_steps_are_reported_in_order(tmp_path: Path) -> None:
    seen: list[str] = []
    generate_bank(
        tmp_path / "bank", persons=50, seed=2, months=0, as_of=dt.date(2025, 6, 30), on_step=seen.append
    )
    assert seen == list(STEPS)
    assert (tmp_path / "bank" / "core" / "customers_20250630.csv").exists()


def test_cli_generate_prints_a_summary(tmp_path: Path) -> None:
    app = typer.Typer()
    generate_cmd.register(app)
    app.command("noop")(lambda: None)  # a second command keeps "generate" a sub-command
    out = tmp_path / "bank"
    result = CliRunner().invoke(
        app,
        ["generate", "--persons", "60", "--seed", "4", "--out", str(out), "--months", "1", "--batches", "2"],
    )
    assert result.exit_code == 0, result.output
    assert "truth.csv: core_customers" in result.output
    assert (out / "batches" / "02").is_dir()
    bad = CliRunner().invoke(
        app,
        ["generate", "--persons", "5", "--seed", "1", "--out", str(tmp_path / "b"), "--as-of", "31/10/2026"],
    )
    assert isinstance(bad.exception, ConfigError)


def test_batches_never_refer_to_records_not_yet_delivered(batched: GenerationSummary) -> None:
    root = batched.out_dir / "batches"
    delivered: set[str] = set()
    deleted: set[str] = set()
    for batch in sorted(root.iterdir()):
        customers = _read(next(batch.glob("core/customers_*.csv")), ",", "utf8")
        users = _read(next(batch.glob("digital/users_*.csv")), ",", "utf8")
        holders = _read(next(batch.glob("card/cardholders_*.txt")), "|", "utf8")
        delivered |= set(customers["cif_no"]) | set(users["user_id"]) | set(holders["HOLDER_ID"])
        deleted |= set(customers.filter(pl.col("record_status") == "D")["cif_no"])
        deleted |= set(users.filter(pl.col("account_state") == "deleted")["user_id"])
        accounts = _read(next(batch.glob("core/accounts_*.csv")), ",", "utf8")
        assert set(accounts["cif_no"]) | set(accounts["joint_cif_no"].drop_nulls()) <= delivered
        cards = _read(next(batch.glob("card/accounts_*.txt")), "|", "utf8")
        assert set(cards["HOLDER_ID"]) | set(cards["AUTH_USER_ID"].drop_nulls()) <= delivered
        events = pl.read_parquet(next(batch.glob("digital/events_*.parquet")))
        assert set(events["user_id"]) <= delivered - deleted


def test_daily_batches_carry_a_seventh_of_a_weekly_batch(tmp_path: Path) -> None:
    """``batch_days`` scales the change volume: daily deliveries are about a seventh of weekly ones."""

    def later_rows(batch_days: int) -> tuple[int, list[str]]:
        out = tmp_path / f"every_{batch_days}"
        generate_bank(out, persons=3000, seed=3, months=0, batches=3, batch_days=batch_days)
        files = sorted((out / "batches").glob("0[23]/core/customers_*.csv"))
        return sum(_read(path, ",", "utf8").height for path in files), [path.stem[-8:] for path in files]

    weekly, weekly_dates = later_rows(7)
    daily, daily_dates = later_rows(1)
    assert weekly_dates == ["20261024", "20261031"]
    assert daily_dates == ["20261030", "20261031"]
    assert 0 < daily < weekly / 4
