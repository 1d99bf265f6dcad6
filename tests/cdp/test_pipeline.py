from __future__ import annotations

import datetime as dt
import shutil
from pathlib import Path

import polars as pl
import pytest
from polars.testing import assert_frame_equal

from cdp.errors import NotFoundError
from cdp.pipeline import (
    ModelVersion,
    combine_edges,
    current_model,
    erased_customers,
    previous_table,
    published_parquet,
    store_model,
)
from cdp.warehouse import Warehouse
from cdp.warehouse.snapshots import MANIFEST

RUN_TIME = dt.datetime(2026, 11, 1, 6, 0)
CLUSTERS = pl.DataFrame(
    {
        "source": ["core", "card", "core", "digital"],
        "record_id": ["1", "9", "2", "u7"],
        "customer_id": ["C1", "C1", "C2", "C3"],
    }
)


def test_erased_customers_keeps_the_id_of_every_customer_that_held_an_erased_record() -> None:
    erased_keys = pl.DataFrame(
        {"source": ["card", "digital", "mortgage"], "record_id": ["9", "u7", "never-seen"]}
    )
    result = erased_customers(
        erased_keys=erased_keys,
        previous_clusters=CLUSTERS,
        previous_erased=None,
        run_id="r2",
        run_time=RUN_TIME,
    )
    expected = pl.DataFrame(
        {
            "customer_id": ["C1", "C3"],
            "erased_records": [1, 1],
            "first_erased_run_id": ["r2", "r2"],
            "first_erased_at": [RUN_TIME, RUN_TIME],
        },
        schema_overrides={"first_erased_at": pl.Datetime("us")},
    )
    assert_frame_equal(result, expected)


def test_erased_customers_accumulate_and_keep_their_first_erasure() -> None:
    earlier = erased_customers(
        erased_keys=pl.DataFrame({"source": ["card"], "record_id": ["9"]}),
        previous_clusters=CLUSTERS,
        previous_erased=None,
        run_id="r2",
        run_time=RUN_TIME,
    )
    # The erased record is gone from the next clusters; the customer must stay erased.
    later_clusters = CLUSTERS.filter(pl.col("record_id") != "9")
    later = erased_customers(
        erased_keys=pl.DataFrame({"source": ["card", "core"], "record_id": ["9", "2"]}),
        previous_clusters=later_clusters,
        previous_erased=earlier,
        run_id="r3",
        run_time=RUN_TIME + dt.timedelta(days=1),
    )
    assert later.select("customer_id", "first_erased_run_id").rows() == [("C1", "r2"), ("C2", "r3")]


def test_erasing_another_record_of_an_erased_customer_counts_it_and_keeps_the_first_erasure() -> None:
    earlier = erased_customers(
        erased_keys=pl.DataFrame({"source": ["card"], "record_id": ["9"]}),
        previous_clusters=CLUSTERS,
        previous_erased=None,
        run_id="r2",
        run_time=RUN_TIME,
    )
    later_clusters = CLUSTERS.filter(pl.col("record_id") != "9")
    erasing_again = pl.DataFrame({"source": ["card", "core"], "record_id": ["9", "1"]})

    later = erased_customers(
        erased_keys=erasing_again,
        previous_clusters=later_clusters,
        previous_erased=earlier,
        run_id="r3",
        run_time=RUN_TIME + dt.timedelta(days=1),
    )
    rerun = erased_customers(
        erased_keys=erasing_again,
        previous_clusters=later_clusters.filter(pl.col("record_id") != "1"),
        previous_erased=later,
        run_id="r4",
        run_time=RUN_TIME + dt.timedelta(days=2),
    )

    assert later.select("customer_id", "erased_records", "first_erased_run_id").rows() == [("C1", 2, "r2")]
    assert_frame_equal(rerun, later)


def test_an_erased_customers_other_records_keep_them_erased_after_a_split_and_a_merge() -> None:
    # C1 held card 9 (erased now) and core 1; after the erasure core 1 split off as C5.
    erasing = pl.DataFrame({"source": ["card"], "record_id": ["9"]})
    after_split = CLUSTERS.filter(pl.col("record_id") != "9").with_columns(
        customer_id=pl.when(pl.col("record_id") == "1").then(pl.lit("C5")).otherwise("customer_id")
    )
    split = erased_customers(
        erased_keys=erasing,
        previous_clusters=CLUSTERS,
        previous_erased=None,
        run_id="r2",
        run_time=RUN_TIME,
        clusters=after_split,
    )
    # Next run: C5 (core 1) is merged into C2; nothing new is erased.
    after_merge = after_split.with_columns(customer_id=pl.col("customer_id").replace("C5", "C2"))
    merged = erased_customers(
        erased_keys=erasing,
        previous_clusters=after_split,
        previous_erased=split,
        run_id="r3",
        run_time=RUN_TIME + dt.timedelta(days=1),
        clusters=after_merge,
    )

    assert split.select("customer_id", "erased_records", "first_erased_run_id").rows() == [
        ("C1", 1, "r2"),
        ("C5", 0, "r2"),
    ]
    assert merged.select("customer_id", "erased_records", "first_erased_run_id").rows() == [
        ("C1", 1, "r2"),
        ("C2", 0, "r3"),
        ("C5", 0, "r2"),
    ]


def test_no_erasure_register_means_no_erased_customers() -> None:
    result = erased_customers(
        erased_keys=pl.DataFrame(schema={"source": pl.String, "record_id": pl.String}),
        previous_clusters=CLUSTERS,
        previous_erased=None,
        run_id="r1",
        run_time=RUN_TIME,
    )
    assert result.is_empty()
    assert result.columns == ["customer_id", "erased_records", "first_erased_run_id", "first_erased_at"]


def test_a_deterministic_link_overrides_the_model_probability_and_keeps_its_weights() -> None:
    keys = {
        "source_l": ["a", "a"],
        "record_id_l": ["1", "2"],
        "source_r": ["b", "b"],
        "record_id_r": ["1", "2"],
    }
    scored = pl.DataFrame({**keys, "match_probability": [0.4, 0.95], "match_weight": [-0.5, 4.2]})
    deterministic = pl.DataFrame(
        {
            "source_l": ["a", "c"],
            "record_id_l": ["1", "5"],
            "source_r": ["b", "d"],
            "record_id_r": ["1", "6"],
            "match_probability": [1.0, 1.0],
            "match_reason": ["national_id_and_dob"] * 2,
        }
    )
    combined = combine_edges(scored, deterministic)
    assert combined.select("record_id_l", "match_probability", "match_weight", "match_reason").rows() == [
        ("1", 1.0, -0.5, "national_id_and_dob"),
        ("2", 0.95, 4.2, None),
        ("5", 1.0, None, "national_id_and_dob"),
    ]


def test_models_are_versioned_and_the_newest_is_current(tmp_path: Path) -> None:
    warehouse = Warehouse(tmp_path / "warehouse")
    with pytest.raises(NotFoundError, match="cdp train"):
        current_model(warehouse)
    first, second = ModelVersion('{"v": 1}', origin="trained"), ModelVersion('{"v": 2}', origin="trained")
    store_model(first, warehouse=warehouse)
    store_model(second, warehouse=warehouse)
    assert current_model(warehouse).version == second.version
    stored = [path.name for path in (tmp_path / "warehouse" / "models").iterdir()]
    models = sorted(name for name in stored if not name.endswith(".meta.json"))
    assert models == sorted(
        ["linkage_model.json", f"linkage_model-{first.version}.json", f"linkage_model-{second.version}.json"]
    )
    assert len(stored) == 2 * len(models), "every model version has its metadata sidecar"


def test_the_prior_is_rescaled_to_the_population_being_scored(tmp_path: Path) -> None:
    import json

    settings = json.dumps({"probability_two_random_records_match": 1e-3})
    model = ModelVersion(settings, origin="t", trained_records=1001)
    assert model.for_population(1001) == model.model_json
    scaled = json.loads(model.for_population(100_001))["probability_two_random_records_match"]
    assert scaled == pytest.approx(1e-5)
    unknown = ModelVersion(model.model_json, origin="t")
    assert unknown.for_population(100_001) == model.model_json
    # The training population travels with the stored model.
    warehouse = Warehouse(tmp_path / "warehouse")
    store_model(model, warehouse=warehouse)
    assert current_model(warehouse).trained_records == 1001


def test_the_published_parquet_is_found_in_a_copy_made_without_symlinks(tmp_path: Path) -> None:
    warehouse = Warehouse(tmp_path / "wh")
    table = pl.DataFrame({"customer_id": ["C1", "C2"], "segment": ["a", "b"]})
    warehouse.publish({"segments": table}, run_id="r1")
    warehouse.publish({"segments": table.head(1)}, run_id="r2")
    # A backup restored with the link dereferenced: `parquet` is a plain folder, not a symlink.
    copy = tmp_path / "restored"
    shutil.copytree(warehouse.root, copy, symlinks=False)
    restored = Warehouse(copy)

    for where in (warehouse, restored):
        found = published_parquet(where, "segments")
        assert found is not None and found.is_relative_to(where.root.absolute())
        # The version DuckDB's last publish names (r2), not an older snapshot left beside it.
        assert_frame_equal(pl.read_parquet(found), table.head(1))
    assert not (copy / "parquet").is_symlink()
    assert published_parquet(restored, "absent") is None


def test_a_snapshot_without_its_manifest_is_not_a_published_version(tmp_path: Path) -> None:
    warehouse = Warehouse(tmp_path / "wh")
    warehouse.publish({"segments": pl.DataFrame({"customer_id": ["C1"]})}, run_id="r1")
    found = published_parquet(warehouse, "segments")
    assert found is not None
    (found.parent / MANIFEST).unlink()

    assert published_parquet(warehouse, "segments") is None
    assert previous_table(warehouse, "segments") is not None  # read from DuckDB instead
