"""Stage glue shared by the Dagster assets and the command line: model versions, edge scoring,
identity state carried between runs, quality gates and publishing.

Keeping this here (not in ``assets/``) means every asset body stays a call or two, and the same
steps can be run and tested without Dagster.
"""

from __future__ import annotations

import datetime as dt
import glob
import hashlib
import json
import logging
import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import polars as pl

from cdp.errors import NotFoundError

if TYPE_CHECKING:
    from cdp.engine import LinkageEngine
    from cdp.identity import IdentityState
    from cdp.ingest import MappedIncrement
    from cdp.ingest.changes import TableChanges
    from cdp.quality import QualityReport
    from cdp.warehouse import Warehouse

log = logging.getLogger(__name__)

MODEL_FILE = "linkage_model.json"

#: Every table the pipeline publishes, in the order the data dictionary lists them.
PUBLISHED_TABLES: tuple[str, ...] = (
    "ingest_files",
    "std_parties",
    "std_accounts",
    "std_account_holders",
    "std_transactions",
    "std_events",
    "std_consents",
    "rejects",
    "ingest_reconciliation",
    "identity_edges",
    "identity_clusters",
    "identity_changes",
    "identity_merged_into",
    "identity_review_queue",
    "identity_runs",
    "customer_360",
    "customer_attribute_lineage",
    "customer_source_records",
    "customer_consent",
    "households",
    "customer_360_runs",
    "customer_features",
    "customer_life_events",
    "segment_membership",
    "segment_runs",
    "erased_customers",
)


@dataclass(frozen=True)
class ModelVersion:
    """A linkage model and where it came from: the warehouse, the config folder, or fresh training.

    ``trained_records`` is the size of the population it was trained on (from the sidecar
    ``linkage_model.meta.json``); scoring rescales the model's prior to the population at hand.
    """

    model_json: str
    origin: str
    report: dict[str, Any] = field(default_factory=dict)
    trained_records: int | None = None

    @property
    def version(self) -> str:
        return hashlib.sha256(self.model_json.encode()).hexdigest()[:12]

    def for_population(self, records: int) -> str:
        """The model JSON with its prior rescaled from the training population to ``records``.

        The prior is the probability that two random records match: with a person's records
        spread over a few systems it is about (records per person - 1) / (N - 1), so it falls as
        the population grows. A model trained on 4,000 sample records would otherwise overstate
        it 250-fold at a million records and over-link namesakes.
        """
        if not self.trained_records or records < 2 or records == self.trained_records:
            return self.model_json
        settings = json.loads(self.model_json)
        prior = float(settings["probability_two_random_records_match"])
        scaled = prior * (self.trained_records - 1) / (records - 1)
        settings["probability_two_random_records_match"] = min(max(scaled, 1e-12), 0.5)
        return json.dumps(settings)


def _meta_path(model_path: Path) -> Path:
    return model_path.with_name(model_path.stem + ".meta.json")


def _read_model(path: Path, *, origin: str) -> ModelVersion:
    meta = _meta_path(path)
    records = json.loads(meta.read_text()).get("trained_records") if meta.exists() else None
    return ModelVersion(path.read_text(), origin=origin, trained_records=records)


def _write_text_atomic(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_suffix(path.suffix + ".tmp")
    temporary.write_text(text)
    with open(temporary, "rb+") as handle:
        os.fsync(handle.fileno())
    os.replace(temporary, path)


def store_model(model: ModelVersion, *, warehouse: Warehouse) -> Path:
    """Keep every model version under models/, and point models/linkage_model.json at the newest."""
    models_dir = warehouse.root / "models"
    meta = json.dumps({"trained_records": model.trained_records, "version": model.version})
    versioned = models_dir / f"linkage_model-{model.version}.json"
    _write_text_atomic(versioned, model.model_json)
    _write_text_atomic(_meta_path(versioned), meta)
    current = models_dir / MODEL_FILE
    # The sidecar first: a crash in between leaves the old model with the new, harmless metadata
    # only if both versions were trained on the same population size.
    _write_text_atomic(_meta_path(current), meta)
    _write_text_atomic(current, model.model_json)
    return current


def current_model(warehouse: Warehouse) -> ModelVersion:
    """The model the warehouse's last training stored; a clear error if there is none."""
    path = warehouse.root / "models" / MODEL_FILE
    if not path.exists():
        raise NotFoundError(
            f"no linkage model in {warehouse.root}/models; run `cdp train` or `cdp run` first"
        )
    return _read_model(path, origin="warehouse")


def load_or_train_model(
    parties: TableChanges, *, warehouse: Warehouse, config_dir: Path, engine: LinkageEngine, retrain: bool
) -> ModelVersion:
    """Reuse the stored model; else the one shipped beside the config; train only when asked or missing.

    The whole ``std_parties`` table is loaded from its changes only when a model is trained.
    """
    from cdp.resolve import train_model

    if not retrain:
        stored = warehouse.root / "models" / MODEL_FILE
        if stored.exists():
            return _read_model(stored, origin="warehouse")
        shipped = config_dir / MODEL_FILE
        if shipped.exists():
            model = _read_model(shipped, origin="config")
            store_model(model, warehouse=warehouse)
            return model
    population = parties.collect()
    trained = train_model(population, engine=engine)
    records = trained.report.get("records")
    model = ModelVersion(
        trained.model_json,
        origin="trained",
        report=_flat_report(trained.report),
        trained_records=int(records) if records else population.height,
    )
    store_model(model, warehouse=warehouse)
    return model


def _flat_report(report: Mapping[str, Any]) -> dict[str, Any]:
    return {
        key: value if isinstance(value, (int, float, str, bool)) else json.dumps(value, default=str)
        for key, value in report.items()
    }


def score_edges(
    parties: pl.DataFrame,
    *,
    warehouse: Warehouse,
    engine: LinkageEngine,
    review_floor: float,
    prepared: pl.DataFrame | None = None,
) -> pl.DataFrame:
    """Splink edges down to the review band's floor, unioned with the deterministic national-ID links.

    ``prepared``: the linkage input of ``parties`` when the caller has it (prepared otherwise).
    """
    from cdp.resolve import deterministic_edges, predict_edges, prepare_linkage_input

    model = current_model(warehouse)
    model_json = model.for_population(parties.height)
    if prepared is None:
        prepared = prepare_linkage_input(parties)
    scored = predict_edges(
        parties, model_json=model_json, engine=engine, threshold=review_floor, prepared=prepared
    )
    return combine_edges(scored, deterministic_edges(parties, prepared=prepared))


def combine_edges(scored: pl.DataFrame, deterministic: pl.DataFrame) -> pl.DataFrame:
    """One row per pair: a deterministic link overrides the model's probability but keeps its weights."""
    keys = ["source_l", "record_id_l", "source_r", "record_id_r"]
    if deterministic.is_empty():
        return scored.sort(keys)
    overridden = scored.join(deterministic.select(keys), on=keys, how="semi").with_columns(
        match_probability=pl.lit(1.0), match_reason=pl.lit("national_id_and_dob")
    )
    model_only = scored.join(deterministic.select(keys), on=keys, how="anti")
    deterministic_only = deterministic.join(scored.select(keys), on=keys, how="anti")
    return pl.concat([model_only, overridden, deterministic_only], how="diagonal_relaxed").sort(keys)


def ingest_increment(config_path: Path, *, warehouse: Warehouse, full_refresh: bool) -> MappedIncrement:
    """The extracts that landed since the last publish, or every extract on a first or full run.

    The published ``ingest_files`` manifest says what was read before; when it cannot be extended
    (a landed file changed or vanished, the mapping or token key changed) every file is read again.
    """
    from cdp.config import load_config
    from cdp.ingest import map_increment

    already_ingested = None if full_refresh else previous_table(warehouse, "ingest_files")
    return map_increment(load_config(config_path), already_ingested, fallback_to_full=True)


def split_increment(increment: MappedIncrement, tables: Sequence[str]) -> dict[str, MappedIncrement]:
    """One slim increment per table, holding only that table's rows and deletions.

    Each standardized table then loads only its own part of the batch rather than all of it.
    """
    import dataclasses

    empty = pl.DataFrame()
    slim = dataclasses.replace(
        increment,
        **{name: empty for name in tables},
        rejects=empty,
        reconciliation=empty,
        summaries=(),
    )
    return {
        name: dataclasses.replace(
            slim,
            **{name: getattr(increment, name)},
            deleted_keys={name: increment.deleted_keys[name]} if name in increment.deleted_keys else {},
        )
        for name in tables
    }


def merged_table(
    table: str, increment: MappedIncrement, *, warehouse: Warehouse, published: str
) -> pl.DataFrame:
    """The new version of a published ingestion table: the last published one updated by ``increment``.

    ``table`` names the increment's part (``parties`` ... ``consents``, ``rejects``,
    ``reconciliation``, ``files``); ``published`` the warehouse table it updates.
    """
    from cdp.ingest import merge_increment

    previous = None if increment.full else previous_table(warehouse, published)
    return merge_increment(table, previous, increment)


def standardized_changes(
    table: str, increment: MappedIncrement, *, warehouse: Warehouse, published: str
) -> TableChanges:
    """This run's changes to a standardized table: the batch, against its published Parquet file.

    ``table`` names the increment's part (``parties`` ... ``consents``); ``published`` the
    warehouse table it updates. When the Parquet snapshot cannot be trusted (see
    :func:`previous_table`) the whole merged table is carried instead.
    """
    from cdp.ingest import standardize_frame
    from cdp.ingest.changes import TableChanges, table_changes

    base = None
    if not increment.full and warehouse.exists(published):
        base = published_parquet(warehouse, published)
        if base is None:
            merged = merged_table(table, increment, warehouse=warehouse, published=published)
            return TableChanges.whole(table, merged)
    return table_changes(
        table,
        standardize_frame(table, getattr(increment, table)),
        deleted_keys=increment.deleted_keys.get(table),
        erased_keys=increment.erased_keys,
        base=base,
    )


def published_parquet(warehouse: Warehouse, name: str) -> Path | None:
    """The Parquet file of a table's last publish, in the snapshot DuckDB's last publish names.

    The path is inside that snapshot's own folder, not behind the ``parquet`` link, so it stays
    valid while a later publish swaps the link (publishing keeps the snapshot it replaces), and a
    warehouse copied without its symlink (``cp -rL``, a restored backup) still finds it.
    """
    from cdp.warehouse.snapshots import read_manifest, snapshots_root

    publishes = warehouse.publish_log()
    if publishes.is_empty():
        return None
    folder = snapshots_root(warehouse.root.absolute()) / str(publishes["snapshot"][-1])
    path = folder / f"{name}.parquet"
    # A snapshot folder without its manifest was never completed: not a published version.
    if path.exists() and read_manifest(folder) is not None:
        return path
    return None


def previous_table(warehouse: Warehouse, name: str) -> pl.DataFrame | None:
    """The last published version of a table, or None on the first run.

    Read from the Parquet snapshot when it is the one DuckDB's last publish names (several times
    faster than pulling rows out of DuckDB at a million customers), else from DuckDB itself.
    """
    if not warehouse.exists(name):
        return None
    snapshot = published_parquet(warehouse, name)
    if snapshot is not None:
        return pl.read_parquet(snapshot)
    return warehouse.read(name)


def identity_state_from_warehouse(warehouse: Warehouse) -> IdentityState | None:
    """The identity state the previous run published, or None when there is none yet."""
    from cdp.identity import IdentityState

    clusters = previous_table(warehouse, "identity_clusters")
    if clusters is None:
        return None
    empty = IdentityState.empty()
    merged_into = previous_table(warehouse, "identity_merged_into")
    changes = previous_table(warehouse, "identity_changes")
    return IdentityState(
        clusters=clusters,
        merged_into=empty.merged_into if merged_into is None else merged_into,
        changes=empty.changes if changes is None else changes,
    )


def stable_identity(
    assignments: pl.DataFrame,
    *,
    previous: IdentityState | None,
    run_id: str,
    run_time: dt.datetime | None = None,
) -> IdentityState:
    """Give this run's clusters persistent customer IDs, logging what changed since ``previous``."""
    from cdp.identity import assign_stable_ids

    return assign_stable_ids(
        assignments,
        previous,
        run_id=run_id,
        run_time=run_time or dt.datetime.now(dt.UTC).replace(tzinfo=None),
    )


def erased_customers(
    *,
    erased_keys: pl.DataFrame,
    previous_clusters: pl.DataFrame | None,
    previous_erased: pl.DataFrame | None,
    run_id: str,
    run_time: dt.datetime,
    clusters: pl.DataFrame | None = None,
) -> pl.DataFrame:
    """Customers that held a record named in the erasure register, accumulated across runs.

    Ingestion drops an erased record before resolution, so the link from the record to its customer
    exists only in the previously published ``identity_clusters``; keeping the customer ID here (an
    opaque ID, no PII) lets exports exclude the person for good, even if another of their records
    is still on file.

    A record found in ``previous_clusters`` is one this run erases (an applied erasure leaves the
    clusters), so ``erased_records`` grows by it even for a customer erased before: a later
    erasure of another of their records is new too, and its publish must purge.

    The person's other records keep them erased wherever they go: given this run's ``clusters``,
    a customer now holding a record that an erased customer held (a split gave it a new ID, or a
    merge took it into another customer) is erased too, with ``erased_records`` 0.
    """
    from cdp.schemas.canonical import ERASED_CUSTOMER_COLUMNS, conform, empty_frame

    earlier = (
        empty_frame(ERASED_CUSTOMER_COLUMNS)
        if previous_erased is None
        else conform(previous_erased, ERASED_CUSTOMER_COLUMNS)
    )
    if previous_clusters is None:
        return earlier.sort("customer_id")
    found = (
        previous_clusters.join(
            erased_keys.select("source", "record_id"), on=["source", "record_id"], how="semi"
        )
        .group_by("customer_id")
        .agg(newly_erased=pl.len().cast(pl.Int64))
    )
    parts = [found]
    if clusters is not None:
        erased_ids = pl.concat([earlier["customer_id"], found["customer_id"]]).unique().implode()
        # Every record an erased customer held at the last publish, and whose customer it is now.
        held = previous_clusters.filter(pl.col("customer_id").is_in(erased_ids)).select("source", "record_id")
        successors = (
            clusters.join(held, on=["source", "record_id"], how="semi")
            .select("customer_id")
            .unique()
            .with_columns(newly_erased=pl.lit(0, dtype=pl.Int64))
        )
        parts.append(successors)
    newly = pl.concat(parts).group_by("customer_id").agg(pl.col("newly_erased").sum())
    merged = earlier.join(newly, on="customer_id", how="full", coalesce=True).with_columns(
        erased_records=pl.col("erased_records").fill_null(0) + pl.col("newly_erased").fill_null(0),
        first_erased_run_id=pl.col("first_erased_run_id").fill_null(pl.lit(run_id, dtype=pl.String)),
        first_erased_at=pl.col("first_erased_at").fill_null(pl.lit(run_time, dtype=pl.Datetime("us"))),
    )
    return conform(merged, ERASED_CUSTOMER_COLUMNS).sort("customer_id")


def contract_failures(table: str, frame: pl.DataFrame) -> list[str]:
    """Human-readable pandera contract failures of one standardized table (empty when it passes)."""
    from cdp.schemas import standardized

    validate = getattr(standardized, f"validate_{table}")
    return list(validate(frame))


def quality_gate(
    tables: Mapping[str, pl.DataFrame | pl.LazyFrame], *, suites: Sequence[str], warehouse: Warehouse
) -> QualityReport:
    """Run the Great Expectations suites; Data Docs go to the warehouse's quality_docs folder."""
    from cdp.quality import validate_tables

    return validate_tables(tables, suites=suites, docs_dir=warehouse.root / "quality_docs")


#: The erasure requests the last publish applied, under the warehouse's state folder: a request not
#: in it is new, and the publish that applies it purges. Kept as SHA-256 digests of the record keys,
#: so the file is no lasting copy of what was erased.
APPLIED_ERASURES = "applied_erasures.parquet"


def publish_run(
    warehouse: Warehouse,
    tables: Mapping[str, pl.DataFrame | pl.LazyFrame | Path | TableChanges],
    *,
    run_id: str,
    erased_keys: pl.DataFrame | None = None,
) -> dict[str, Any]:
    """Publish every table atomically and return row counts for the run's metadata.

    A table given as changes to its published version reaches DuckDB as those changes; one given
    as a staged Parquet file is linked into the snapshot as it is; one that did not change at all
    is left as it is in DuckDB (``unchanged``). A run whose ``erased_customers`` names customers
    the published version does not, or counts more erased records for one (it applies new
    erasures), purges: the DuckDB file is rewritten
    without freed blocks, and only the new Parquet snapshot and the linkage state the next run
    loads are kept, so the erased values leave the disk with this publish.

    ``erased_keys`` (the erasure register's ``source, record_id``): a request the last publish did
    not apply purges too, whether or not its record was still clustered (a record deleted at its
    source earlier still left its consents and links behind).
    """
    from cdp.incremental.linkage_state import prune_linkage_states
    from cdp.ingest.changes import TableChanges
    from cdp.privacy.erasure import newly_erased_customers
    from cdp.runmodes import LINKAGE_STATE
    from cdp.warehouse.publish import TableDelta

    prepared: dict[str, pl.DataFrame | pl.LazyFrame | Path | TableDelta] = {}
    for name, table in tables.items():
        if isinstance(table, TableChanges):
            prepared[name] = (
                table.scan()
                if table.base is None
                else TableDelta(table.scan(), table.upserts, table.replaced_keys(), table.base)
            )
        else:
            prepared[name] = table
    erased = prepared.get("erased_customers")
    newly_erased = (
        0
        if erased is None
        else newly_erased_customers(
            erased.table if isinstance(erased, TableDelta) else erased,
            published=previous_table(warehouse, "erased_customers"),
        ).height
    )
    new_requests = _new_erasure_requests(warehouse, erased_keys)
    report = warehouse.publish(
        prepared, run_id=run_id, purge_freed_space=newly_erased > 0 or new_requests > 0
    )
    if erased_keys is not None:
        _record_applied_erasures(warehouse, erased_keys)
    if report.purge is not None:
        identity_runs = previous_table(warehouse, "identity_runs")
        last_identity_run = (
            None if identity_runs is None or identity_runs.is_empty() else str(identity_runs["run_id"][-1])
        )
        prune_linkage_states(warehouse.state_dir / LINKAGE_STATE, keep=last_identity_run)
    return {
        "applied_as_changes": ", ".join(report.applied_as_changes),
        "unchanged": ", ".join(report.unchanged),
        "newly_erased_customers": newly_erased,
        "new_erasure_requests": new_requests,
        "purged_freed_space": report.purge is not None,
        **{f"rows/{name}": rows for name, rows in sorted(report.rows.items())},
    }


def _new_erasure_requests(warehouse: Warehouse, erased_keys: pl.DataFrame | None) -> int:
    """Erasure requests the last publish did not apply (0 on a first publish: nothing to purge)."""
    if erased_keys is None or erased_keys.is_empty() or not warehouse.exists("std_parties"):
        return 0
    requests = _erasure_digests(erased_keys)
    applied = warehouse.state_dir / APPLIED_ERASURES
    if not applied.exists():
        return requests.height
    return requests.join(pl.read_parquet(applied), on="request", how="anti").height


def _record_applied_erasures(warehouse: Warehouse, erased_keys: pl.DataFrame) -> None:
    from cdp.warehouse.files import write_parquet_atomic

    warehouse.state_dir.mkdir(parents=True, exist_ok=True)
    write_parquet_atomic(_erasure_digests(erased_keys), warehouse.state_dir / APPLIED_ERASURES)


def _erasure_digests(erased_keys: pl.DataFrame) -> pl.DataFrame:
    """One SHA-256 hex digest per distinct ``(source, record_id)``, sorted."""
    digests = sorted(
        {
            hashlib.sha256(f"{source}\0{record_id}".encode()).hexdigest()
            for source, record_id in erased_keys.select("source", "record_id").iter_rows()
        }
    )
    return pl.DataFrame({"request": digests}, schema={"request": pl.String})


def source_fingerprint(config_path: Path) -> str:
    """A digest of every extract file a config reads (name, size, mtime): changes when files land."""
    from cdp.config import load_config

    config = load_config(config_path)
    entries: list[str] = []
    for spec in config.all_specs():
        for path in sorted(glob.glob(str(config.base_dir / spec.path))):
            stat = os.stat(path)
            entries.append(f"{path}|{stat.st_size}|{stat.st_mtime_ns}")
    return hashlib.sha256("\n".join(entries).encode()).hexdigest()
