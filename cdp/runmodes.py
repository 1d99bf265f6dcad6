"""Full or incremental: how the identity and customer 360 stages choose, and the logs that say so.

A daily run resolves only what the new extracts brought (:mod:`cdp.incremental`) when it safely
can: the previous run published its state, with the same linkage model, clustering policy and
survivorship rules. Anything else (a first run, ``--full-refresh``, a retrained model, a changed
threshold or rule set) takes the full path, which still keeps customer IDs stable by overlap with
the previous clusters. Each run appends one row to ``identity_runs`` and ``customer_360_runs``
recording which path it took and why, so an operator can always tell.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import logging
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING

import polars as pl

from cdp.pipeline import (
    ModelVersion,
    identity_state_from_warehouse,
    previous_table,
    published_parquet,
    score_edges,
    stable_identity,
)
from cdp.privacy.erasure import redact_erased_records
from cdp.schemas.canonical import conform, empty_frame
from cdp.version import code_version

if TYPE_CHECKING:
    from cdp.customer360 import Customer360Result, SurvivorshipRules
    from cdp.engine import LinkageEngine
    from cdp.features import FeatureResult
    from cdp.identity import ClusteringPolicy, Decisions, IdentityState
    from cdp.incremental import PartyDelta
    from cdp.incremental.linkage_state import LinkageState
    from cdp.ingest.changes import TableChanges
    from cdp.segments import SegmentDefinition
    from cdp.warehouse import Warehouse

log = logging.getLogger(__name__)

FULL = "full"
INCREMENTAL = "incremental"

#: identity_runs: one row per run of the identity stage.
IDENTITY_RUN_COLUMNS: Mapping[str, pl.DataType] = {
    "run_id": pl.String(),
    "run_time": pl.Datetime("us"),
    "mode": pl.String(),
    "reason": pl.String(),
    "model_version": pl.String(),
    "code_version": pl.String(),
    "decisions_version": pl.String(),
    "threshold": pl.Float64(),
    "max_cluster_size": pl.Int64(),
    "records": pl.Int64(),
    "new_records": pl.Int64(),
    "changed_records": pl.Int64(),
    "removed_records": pl.Int64(),
    "scored_records": pl.Int64(),
    "affected_customers": pl.Int64(),
    "customers": pl.Int64(),
    "identity_events": pl.Int64(),
    "unknown_record_decisions": pl.Int64(),
    "seconds": pl.Float64(),
}

#: customer_360_runs: one row per run of the customer 360 stage.
CUSTOMER_360_RUN_COLUMNS: Mapping[str, pl.DataType] = {
    "run_id": pl.String(),
    "run_time": pl.Datetime("us"),
    "as_of": pl.Date(),
    "mode": pl.String(),
    "reason": pl.String(),
    "rules_version": pl.String(),
    "code_version": pl.String(),
    "customers": pl.Int64(),
    "rebuilt_customers": pl.Int64(),
    "seconds": pl.Float64(),
}

CUSTOMER_360_TABLES = (
    "customer_360",
    "customer_attribute_lineage",
    "customer_source_records",
    "customer_consent",
    "households",
)
#: The Customer360Result field of each of CUSTOMER_360_TABLES.
_RESULT_FIELDS = ("customer_360", "lineage", "source_records", "consent", "households")


@dataclass(frozen=True)
class IdentityRun:
    """What the identity stage publishes this run, and the customers whose records it re-clustered."""

    edges: pl.DataFrame
    state: IdentityState
    review_queue: pl.DataFrame
    affected_customer_ids: pl.DataFrame
    runs: pl.DataFrame
    change_log: pl.DataFrame | TableChanges | None = None

    @property
    def mode(self) -> str:
        return str(self.runs["mode"][-1])

    def published_change_log(self) -> pl.DataFrame | TableChanges:
        """``identity_changes`` to publish: this run's events appended to the published log when
        there is one (the log only grows, so a run never rewrites it), else the whole log."""
        return self.state.changes if self.change_log is None else self.change_log


def _appended(
    previous: pl.DataFrame | None, row: dict[str, object], columns: Mapping[str, pl.DataType]
) -> pl.DataFrame:
    new = pl.DataFrame([row], schema=dict(columns))
    return new if previous is None else pl.concat([conform(previous, columns), new])


def _table_or_empty(warehouse: Warehouse, name: str, *, like: pl.DataFrame) -> pl.DataFrame:
    previous = previous_table(warehouse, name)
    return like.clear() if previous is None else previous


def _code_change(last_run: Mapping[str, object]) -> str | None:
    """Why the previous run's tables cannot be reused: other cdp code built them (None: same code).

    A log from before code versions were recorded has none, which counts as other code."""
    previous = last_run.get("code_version")
    if previous == code_version():
        return None
    return f"cdp code changed ({previous or 'unrecorded'} -> {code_version()})"


def _identity_mode(
    warehouse: Warehouse, *, model: ModelVersion, policy: ClusteringPolicy, full_refresh: bool
) -> tuple[str, str]:
    if full_refresh:
        return FULL, "--full-refresh"
    runs = previous_table(warehouse, "identity_runs")
    if runs is None or runs.is_empty():
        return FULL, "no previous identity run"
    if not all(warehouse.exists(name) for name in ("std_parties", "identity_edges")):
        return FULL, "previous run published no parties or edges"
    last = runs.row(-1, named=True)
    if (changed := _code_change(last)) is not None:
        return FULL, changed
    if last["model_version"] != model.version:
        return FULL, f"linkage model changed ({last['model_version']} -> {model.version})"
    if last["threshold"] != policy.threshold or last["max_cluster_size"] != policy.max_cluster_size:
        return FULL, "clustering policy changed"
    return INCREMENTAL, "previous state reusable"


def _party_delta(parties: TableChanges, all_parties: pl.DataFrame, warehouse: Warehouse) -> PartyDelta | None:
    """What the batch changed in ``std_parties``: from the changes, or by comparing whole tables
    when the batch came as a whole table (None on a first run)."""
    from cdp.incremental import party_delta
    from cdp.incremental.delta import party_delta_from_changes

    if not parties.is_full:
        return party_delta_from_changes(parties)
    previous_parties = previous_table(warehouse, "std_parties")
    return None if previous_parties is None else party_delta(previous_parties, all_parties)


def resolve_identities(
    parties: TableChanges,
    *,
    warehouse: Warehouse,
    engine: LinkageEngine,
    model: ModelVersion,
    policy: ClusteringPolicy,
    decisions: Decisions,
    run_id: str,
    run_time: dt.datetime,
    full_refresh: bool,
    erased_keys: pl.DataFrame | None = None,
) -> IdentityRun:
    """Resolve this run's party records: only the batch when possible, else everything.

    Both paths keep customer IDs stable against the previously published identity state and
    honour the steward's decisions; the incremental one re-scores only new and changed records.
    ``erased_keys`` (the erasure register's ``source, record_id``): the change log keeps its
    events but no longer names those records (their ``record_id`` is blanked), and a steward
    decision naming one is dropped.
    """
    from cdp.identity import REVIEW_COLUMNS, cluster_records, decisions_version
    from cdp.identity.decisions import without_erased_records
    from cdp.identity.model import UNKNOWN_RECORD
    from cdp.incremental import resolve_increment
    from cdp.incremental.linkage_state import (
        carry_linkage_state,
        population_linkage_state,
        save_linkage_state,
    )
    from cdp.incremental.resolve import FullScoringNeeded

    started = time.perf_counter()
    if erased_keys is not None:
        decisions = without_erased_records(decisions, erased_keys)
    mode, reason = _identity_mode(warehouse, model=model, policy=policy, full_refresh=full_refresh)
    previous_state = identity_state_from_warehouse(warehouse)
    previous_runs = previous_table(warehouse, "identity_runs")
    previous_run = (
        None if previous_runs is None or previous_runs.is_empty() else str(previous_runs["run_id"][-1])
    )
    applied_decisions = decisions_version(decisions)
    last_decisions = _last_decisions_version(warehouse)
    previous_decisions = _applied_decisions(warehouse, previous_run, version=last_decisions)
    if mode == INCREMENTAL and last_decisions != applied_decisions and previous_decisions is None:
        # Without the pairs the last run applied, a withdrawn decision cannot be found, and
        # only the full path is sure to undo it.
        mode, reason = FULL, "steward decisions changed and the last run's were not kept"
    if (
        mode == INCREMENTAL
        and previous_state is not None
        and parties.is_unchanged
        and last_decisions == applied_decisions
    ):
        # Nothing the state depends on changed: the incremental path would re-cluster nothing,
        # yet still pay for comparing every record key with yesterday's.
        reason = "no party record or steward decision changed"
        edges = _table_or_empty(warehouse, "identity_edges", like=pl.DataFrame())
        state = previous_state
        queue = _table_or_empty(warehouse, "identity_review_queue", like=empty_frame(REVIEW_COLUMNS))
        affected = pl.DataFrame(schema={"customer_id": pl.String()})
        records, counts = parties.previous_row_count(), (0, 0, 0, 0)
        if previous_run is not None:
            carry_linkage_state(
                warehouse.state_dir / LINKAGE_STATE,
                from_run=previous_run,
                to_run=run_id,
                code_version=code_version(),
            )
    else:
        all_parties = parties.collect()
        model_json = model.for_population(all_parties.height)
        delta = _party_delta(parties, all_parties, warehouse)
        kept_state = _kept_linkage_state(warehouse, previous_run) if mode == INCREMENTAL else None
        if mode == INCREMENTAL and (kept_state is None or kept_state.populations is None):
            # The state carries how far each record's pairs below the edge floor may have drifted
            # since it was scored; without it only scoring every pair again is sure to find them.
            mode, reason = FULL, "the last run's linkage state was not kept"
        linkage_state: LinkageState | None = None
        step = None
        if mode == INCREMENTAL and previous_state is not None and delta is not None:
            try:
                step = resolve_increment(
                    previous_parties=None,
                    delta=delta,
                    parties=all_parties,
                    previous_edges=_table_or_empty(warehouse, "identity_edges", like=pl.DataFrame()),
                    previous_state=previous_state,
                    previous_review_queue=previous_table(warehouse, "identity_review_queue"),
                    model_json=model_json,
                    engine=engine,
                    policy=policy,
                    decisions=decisions,
                    run_id=run_id,
                    run_time=run_time,
                    linkage_state=kept_state,
                    previous_decisions=previous_decisions,
                )
            except FullScoringNeeded as drifted:
                mode, reason = FULL, drifted.reason
        if step is not None:
            edges, state, queue = step.edges, step.state, step.review_queue
            linkage_state = step.linkage_state
            affected = step.affected_customer_ids.cast(pl.String).rename("customer_id").to_frame()
            scored = step.scored_records
        else:
            linkage_state = population_linkage_state(all_parties, model_json=model_json)
            edges = score_edges(
                all_parties,
                warehouse=warehouse,
                engine=engine,
                review_floor=policy.edge_floor,
                prepared=linkage_state.prepared,
            )
            clustered = cluster_records(all_parties, edges, policy=policy, decisions=decisions)
            state = stable_identity(
                clustered.assignments, previous=previous_state, run_id=run_id, run_time=run_time
            )
            queue = clustered.review_queue
            affected = state.clusters.select("customer_id").unique().sort("customer_id")
            scored = all_parties.height
        if linkage_state is not None:
            save_linkage_state(
                warehouse.state_dir / LINKAGE_STATE,
                linkage_state,
                run_id=run_id,
                code_version=code_version(),
                keep=previous_run,
                background=True,
            )
        records = all_parties.height
        counts = (
            all_parties.height if delta is None else delta.new.height,
            0 if delta is None else delta.changed.height,
            0 if delta is None else delta.removed.height,
            scored,
        )
    _save_applied_decisions(warehouse, decisions, run_id=run_id, keep=previous_run)
    previous_events = 0 if previous_state is None else previous_state.changes.height
    row = {
        "run_id": run_id,
        "run_time": run_time,
        "mode": mode,
        "reason": reason,
        "model_version": model.version,
        "code_version": code_version(),
        "decisions_version": applied_decisions,
        "threshold": policy.threshold,
        "max_cluster_size": policy.max_cluster_size,
        "records": records,
        "new_records": counts[0],
        "changed_records": counts[1],
        "removed_records": counts[2],
        "scored_records": counts[3],
        "affected_customers": affected.height,
        "customers": state.clusters["customer_id"].n_unique(),
        "identity_events": state.changes.height - previous_events,
        "unknown_record_decisions": queue.filter(pl.col("reason") == UNKNOWN_RECORD).height,
        "seconds": round(time.perf_counter() - started, 3),
    }
    log.info(
        "identity %s run (%s): %s",
        mode,
        reason,
        {key: row[key] for key in ("records", "scored_records", "affected_customers")},
    )
    runs = _appended(previous_runs, row, IDENTITY_RUN_COLUMNS)
    redacted = None if erased_keys is None else redact_erased_records(state.changes, erased_keys)
    if redacted is not None:
        # Published events are rewritten too, so the whole log is published, not appended.
        state = replace(state, changes=redacted)
    return IdentityRun(
        edges=edges,
        state=state,
        review_queue=queue,
        affected_customer_ids=affected,
        runs=runs,
        change_log=None
        if redacted is not None
        else _appended_events(warehouse, state.changes, previous_events),
    )


#: The identity stage's folder under the warehouse's ``state_dir``.
LINKAGE_STATE = "linkage"


def _kept_linkage_state(warehouse: Warehouse, previous_run: str | None) -> LinkageState | None:
    """The linkage state the last published identity run kept, when this code version can use it."""
    from cdp.incremental.linkage_state import load_linkage_state

    if previous_run is None:
        return None
    return load_linkage_state(
        warehouse.state_dir / LINKAGE_STATE, run_id=previous_run, code_version=code_version()
    )


#: The steward decisions each identity run applied, one file per run under ``state_dir``: the
#: next incremental run re-clusters the records of any decision withdrawn since.
APPLIED_DECISIONS = "identity_decisions"


def _save_applied_decisions(
    warehouse: Warehouse, decisions: Decisions, *, run_id: str, keep: str | None
) -> None:
    """Keep the pairs this run applied, and drop every other run's but ``keep``'s."""
    from cdp.warehouse import write_parquet_atomic

    folder = warehouse.state_dir / APPLIED_DECISIONS
    folder.mkdir(parents=True, exist_ok=True)
    applied = pl.concat(
        [
            decisions.must_link.with_columns(decision=pl.lit("must_link")),
            decisions.cannot_link.with_columns(decision=pl.lit("cannot_link")),
        ]
    )
    write_parquet_atomic(applied, folder / f"{run_id}.parquet")
    kept = {f"{run_id}.parquet", f"{keep}.parquet"}
    for stale in folder.glob("*.parquet"):
        if stale.name not in kept:
            stale.unlink(missing_ok=True)


def _applied_decisions(warehouse: Warehouse, run_id: str | None, *, version: str | None) -> Decisions | None:
    """The decisions run ``run_id`` applied, when kept and matching the ``version`` it recorded."""
    from cdp.identity import DECISION_COLUMNS, Decisions, decisions_version

    if run_id is None or version is None:
        return None
    path = warehouse.state_dir / APPLIED_DECISIONS / f"{run_id}.parquet"
    if not path.exists():
        return None
    applied = pl.read_parquet(path)
    kept = Decisions(
        must_link=conform(applied.filter(pl.col("decision") == "must_link"), DECISION_COLUMNS),
        cannot_link=conform(applied.filter(pl.col("decision") == "cannot_link"), DECISION_COLUMNS),
    )
    return kept if decisions_version(kept) == version else None


def _last_decisions_version(warehouse: Warehouse) -> str | None:
    """The steward decisions the previous identity run applied (None: not recorded)."""
    runs = previous_table(warehouse, "identity_runs")
    if runs is None or runs.is_empty() or "decisions_version" not in runs.columns:
        return None
    return runs["decisions_version"][-1]


def _appended_events(warehouse: Warehouse, log: pl.DataFrame, previous_events: int) -> TableChanges | None:
    """The events after the first ``previous_events`` rows of ``log``, as an append to the
    published ``identity_changes`` (None when there is no published log to append to)."""
    from cdp.ingest.changes import TableChanges

    base = published_parquet(warehouse, "identity_changes")
    if base is None or pl.scan_parquet(base).select(pl.len()).collect().item() != previous_events:
        return None
    # Keyed by run: this run's id is new, so applying the append replaces no published row.
    return TableChanges(
        "identity_changes",
        log.slice(previous_events),
        pl.DataFrame(schema={"run_id": pl.String()}),
        base,
        key=("run_id",),
    )


def _previous_version(changes: TableChanges, warehouse: Warehouse, name: str) -> pl.DataFrame:
    """The published version a table's changes apply to (read from the warehouse on a whole-table run)."""
    previous = changes.previous()
    if previous is not None:
        return previous.collect()
    return _table_or_empty(warehouse, name, like=changes.upserts)


def rules_version(rules: SurvivorshipRules) -> str:
    """A short digest of the survivorship rules, so a changed rule set forces a full 360 build."""
    return hashlib.sha256(repr((rules.attributes, rules.household_max_members)).encode()).hexdigest()[:12]


@dataclass(frozen=True)
class Customer360Run:
    """The customer 360 tables of this run and the run log that says how they were built.

    ``changes`` holds the tables published as changes to their last version (on a daily run,
    the two largest: lineage and consent); for those, ``tables`` holds only the rebuilt rows.
    """

    tables: Customer360Result
    runs: pl.DataFrame
    changes: Mapping[str, TableChanges] = field(default_factory=dict)
    replaced_customer_ids: pl.Series | None = None

    def affected_customers(self) -> pl.DataFrame:
        """Customers whose 360 rows this run rebuilt or removed (every current customer after a
        full build): the downstream feature and segment stages refresh exactly these."""
        ids = self.replaced_customer_ids
        if ids is None:
            ids = self.tables.customer_360["customer_id"]
        return ids.cast(pl.String()).rename("customer_id").unique().sort().to_frame()

    def outputs(self) -> dict[str, pl.DataFrame | TableChanges]:
        """Each published 360 table, whole or as its changes."""
        return {
            name: self.changes.get(name, getattr(self.tables, part))
            for part, name in zip(_RESULT_FIELDS, CUSTOMER_360_TABLES, strict=True)
        }


#: Customer 360 tables a daily run publishes as changes (by customer) rather than whole: the
#: largest, which a splice would rewrite in full for a few thousand customers.
CHANGED_BY_CUSTOMER = {"lineage": "customer_attribute_lineage", "consent": "customer_consent"}


def build_customer_tables(
    *,
    parties: TableChanges,
    clusters: pl.DataFrame,
    accounts: TableChanges,
    account_holders: TableChanges,
    events: TableChanges,
    consents: TableChanges,
    rules: SurvivorshipRules,
    as_of: dt.date,
    identity_mode: str,
    affected_customer_ids: pl.DataFrame,
    warehouse: Warehouse,
    run_id: str,
    run_time: dt.datetime,
) -> Customer360Run:
    """Rebuild only the customers this run touched when identity ran incrementally, else all of them.

    The splice equals the full build exactly (``cdp.incremental.refresh``); it needs the previous
    run's published 360 tables and the same survivorship rules. What the batch changed in the
    standardized tables is read from their changes, not by comparing whole tables.
    """
    from cdp.customer360 import Customer360Result
    from cdp.incremental import Customer360Inputs, build_full, refresh_customer_360
    from cdp.incremental.delta import activity_from_changes, party_delta_from_changes
    from cdp.ingest.changes import TableChanges

    started = time.perf_counter()
    # Lazy activity tables: an incremental refresh reads only its customers' rows of them.
    inputs = Customer360Inputs(
        parties=parties.collect(),
        clusters=clusters,
        accounts=accounts.scan(),
        account_holders=account_holders.scan(),
        events=events.scan(),
        consents=consents.scan(),
        as_of=as_of,
    )
    activity_tables = (accounts, account_holders, events, consents)
    version = rules_version(rules)
    previous_runs = previous_table(warehouse, "customer_360_runs")
    mode, reason = FULL, "identity was resolved in full"
    if identity_mode == INCREMENTAL:
        if previous_runs is None or previous_runs.is_empty():
            reason = "no previous customer 360 run"
        elif previous_runs["rules_version"][-1] != version:
            reason = "survivorship rules changed"
        elif (changed := _code_change(previous_runs.row(-1, named=True))) is not None:
            reason = changed
        else:
            mode, reason = INCREMENTAL, "identity resolved incrementally"
    rebuilt: int
    changes: dict[str, TableChanges] = {}
    replaced: pl.Series | None = None
    if mode == INCREMENTAL and previous_runs is not None:
        bases = {part: published_parquet(warehouse, name) for part, name in CHANGED_BY_CUSTOMER.items()}
        as_changes = {part: base for part, base in bases.items() if base is not None}
        previous_frames = {
            name: (
                # Only the shape of a table published as changes is needed, not its rows.
                pl.DataFrame(schema=pl.read_parquet_schema(as_changes[part]))
                if part in as_changes
                else _table_or_empty(warehouse, name, like=pl.DataFrame())
            )
            for part, name in zip(_RESULT_FIELDS, CUSTOMER_360_TABLES, strict=True)
        }
        from_changes = not any(changes.is_full for changes in (parties, *activity_tables))
        previous_inputs = Customer360Inputs(
            parties=_previous_version(parties, warehouse, "std_parties"),
            clusters=_table_or_empty(warehouse, "identity_clusters", like=clusters),
            # With the activity read from the changes the previous activity tables go unread.
            **{
                table.table: (
                    table.upserts.clear()
                    if from_changes
                    else _previous_version(table, warehouse, f"std_{table.table}")
                )
                for table in activity_tables
            },
            as_of=previous_runs["as_of"][-1],
        )
        previous = Customer360Result(*(previous_frames[name] for name in CUSTOMER_360_TABLES))
        refreshed = refresh_customer_360(
            previous,
            previous_inputs=previous_inputs,
            inputs=inputs,
            affected_customer_ids=affected_customer_ids["customer_id"],
            rules=rules,
            activity=(
                activity_from_changes(
                    accounts=accounts, account_holders=account_holders, events=events, consents=consents
                )
                if from_changes
                else None
            ),
            delta=party_delta_from_changes(parties) if from_changes else None,
            splice=[part for part in _RESULT_FIELDS if part not in as_changes],
        )
        tables, rebuilt = refreshed.tables, refreshed.rebuilt_customers
        replaced = refreshed.replaced_customer_ids
        if refreshed.full_rebuild:
            reason = "most customers were stale: full build"
        elif refreshed.replaced_customer_ids is not None:
            deleted = refreshed.replaced_customer_ids.cast(pl.String).rename("customer_id").to_frame()
            changes = {
                CHANGED_BY_CUSTOMER[part]: TableChanges(
                    CHANGED_BY_CUSTOMER[part],
                    getattr(tables, part),
                    deleted,
                    base,
                    key=("customer_id",),
                    order=("customer_id",),
                )
                for part, base in as_changes.items()
            }
    else:
        tables = build_full(inputs, rules=rules)
        rebuilt = tables.customer_360.height
    row = {
        "run_id": run_id,
        "run_time": run_time,
        "as_of": as_of,
        "mode": mode,
        "reason": reason,
        "rules_version": version,
        "code_version": code_version(),
        "customers": tables.customer_360.height,
        "rebuilt_customers": rebuilt,
        "seconds": round(time.perf_counter() - started, 3),
    }
    runs = _appended(previous_runs, row, CUSTOMER_360_RUN_COLUMNS)
    return Customer360Run(tables=tables, runs=runs, changes=changes, replaced_customer_ids=replaced)


def _feature_reuse_problem(
    features: pl.DataFrame | None, life_events: pl.DataFrame | None, *, as_of: dt.date
) -> str:
    """Why the published feature tables cannot be refreshed in place ('' when they can)."""
    from cdp.features import FEATURE_COLUMNS, LIFE_EVENT_COLUMNS

    if features is None or life_events is None:
        return "no previous features"
    if features.columns != list(FEATURE_COLUMNS) or life_events.columns != list(LIFE_EVENT_COLUMNS):
        return "the feature columns changed"
    if features.height and features["as_of"].unique().to_list() != [as_of]:
        return "the as-of date changed"
    return ""


@dataclass(frozen=True)
class FeatureRun:
    """The feature tables of this run and how they were built (for the run's metadata)."""

    result: FeatureResult
    mode: str
    reason: str
    rebuilt_customers: int


def build_feature_tables(
    *,
    transactions: TableChanges,
    accounts: TableChanges,
    account_holders: TableChanges,
    events: TableChanges,
    parties: TableChanges,
    clusters: pl.DataFrame,
    customers: pl.DataFrame,
    customer_360_affected: pl.DataFrame,
    as_of: dt.date,
    warehouse: Warehouse,
) -> FeatureRun:
    """Refresh the features of the customers this run touched when the rest still hold, else build all.

    The rest still hold when the previous run published features as of the same date and the
    standardized tables came as changes to their published versions: then a customer's features
    change only if its 360 row was rebuilt or removed (``customer_360_affected``) or the
    transactions of an account it holds changed.
    """
    from cdp.features import FeatureResult, build_customer_features
    from cdp.features.refresh import holders_of_accounts, refresh_customer_features

    inputs = {
        "transactions": transactions.scan(),
        "accounts": accounts.scan(),
        "account_holders": account_holders.scan(),
        "events": events.scan(),
        "parties": parties.scan(),
        "clusters": clusters,
        "customers": customers,
    }
    reason = ""
    previous_features = previous_events = None
    # Checked before the previous tables are read: a full run never needs them.
    if not (warehouse.exists("customer_features") and warehouse.exists("customer_life_events")):
        reason = "no previous features"
    elif any(table.is_full for table in (transactions, accounts, account_holders, events, parties)):
        reason = "the standardized tables were rebuilt in full"
    else:
        previous_features = previous_table(warehouse, "customer_features")
        previous_events = previous_table(warehouse, "customer_life_events")
        reason = _feature_reuse_problem(previous_features, previous_events, as_of=as_of)
    if reason or previous_features is None or previous_events is None:
        result = build_customer_features(**inputs, as_of=as_of)
        return FeatureRun(result, FULL, reason, result.features.height)
    columns = ["account_source", "account_id"]
    touched_accounts = pl.concat(
        [
            transactions.upserts.select(columns),
            transactions.previous_rows(transactions.replaced_keys()).select(columns),
        ]
    )
    stale = pl.concat(
        [
            customer_360_affected["customer_id"].cast(pl.String()),
            holders_of_accounts(
                touched_accounts, account_holders=inputs["account_holders"], clusters=clusters
            ),
        ]
    ).unique()
    refreshed = refresh_customer_features(
        FeatureResult(previous_features, previous_events),
        stale_customer_ids=stale,
        **inputs,
        as_of=as_of,
    )
    if refreshed.full_rebuild:
        return FeatureRun(refreshed.result, FULL, "most customers were stale", refreshed.rebuilt_customers)
    return FeatureRun(refreshed.result, INCREMENTAL, "same as-of date", refreshed.rebuilt_customers)


#: segment_runs: one row per run of the segments stage.
SEGMENT_RUN_COLUMNS: Mapping[str, pl.DataType] = {
    "run_id": pl.String(),
    "run_time": pl.Datetime("us"),
    "as_of": pl.Date(),
    "mode": pl.String(),
    "reason": pl.String(),
    "definitions_version": pl.String(),
    "code_version": pl.String(),
    "customers": pl.Int64(),
    "evaluated_customers": pl.Int64(),
    "open_stays": pl.Int64(),
    "seconds": pl.Float64(),
}


@dataclass(frozen=True)
class SegmentRun:
    """``segment_membership`` after this run, this run's current members, and the run log."""

    history: pl.DataFrame
    runs: pl.DataFrame


def build_segment_tables(
    *,
    segments: Sequence[SegmentDefinition],
    customers: pl.DataFrame,
    features: pl.DataFrame,
    as_of: dt.date,
    warehouse: Warehouse,
    run_id: str,
    run_time: dt.datetime,
    full_refresh: bool = False,
    erased_customers: pl.DataFrame | None = None,
) -> SegmentRun:
    """Fold this run's membership into the history: evaluating only the customers whose 360 or
    feature rows changed when the previous run used the same definitions and date, else everyone.

    ``erased_customers`` (their ``customer_id``) are in no segment and leave no trace in the
    history: their stays, open or closed, are deleted, not closed.
    """
    from cdp.segments import evaluate_segments, update_membership_history
    from cdp.segments.refresh import definitions_version, refresh_segment_membership

    started = time.perf_counter()
    version = definitions_version(segments)
    erased = (
        pl.Series("customer_id", [], dtype=pl.String)
        if erased_customers is None
        else erased_customers["customer_id"].cast(pl.String).unique()
    )

    def kept(frame: pl.DataFrame | None) -> pl.DataFrame | None:
        if frame is None or erased.is_empty():
            return frame
        return frame.filter(~pl.col("customer_id").is_in(erased.implode()))

    customers, features = kept(customers), kept(features)
    assert customers is not None and features is not None
    previous_history = kept(previous_table(warehouse, "segment_membership"))
    previous_runs = previous_table(warehouse, "segment_runs")
    reason = ""
    if full_refresh:
        reason = "--full-refresh"
    elif previous_history is None or previous_runs is None or previous_runs.is_empty():
        reason = "no previous segment run"
    elif previous_runs["definitions_version"][-1] != version:
        reason = "segment definitions changed"
    elif (changed := _code_change(previous_runs.row(-1, named=True))) is not None:
        reason = changed
    elif previous_runs["as_of"][-1] != as_of:
        reason = "the as-of date changed"
    # Read only when they can be used: a full evaluation compares no rows.
    previous_customers = None if reason else kept(previous_table(warehouse, "customer_360"))
    previous_features = None if reason else kept(previous_table(warehouse, "customer_features"))
    if not reason and (previous_customers is None or previous_features is None):
        reason = "no previous customer 360 or features"
    evaluated: int
    if reason or previous_history is None or previous_customers is None or previous_features is None:
        mode = FULL
        current = evaluate_segments(segments, customers=customers, features=features, as_of=as_of)
        history = update_membership_history(previous_history, current, run_id=run_id, as_of=as_of)
        evaluated = customers.height
    else:
        refreshed = refresh_segment_membership(
            previous_history,
            segments=segments,
            customers=customers,
            features=features,
            previous_customers=previous_customers,
            previous_features=previous_features,
            as_of=as_of,
            run_id=run_id,
        )
        history, evaluated = refreshed.history, refreshed.evaluated_customers
        if refreshed.full_rebuild:
            mode, reason = FULL, "most customers changed"
        else:
            mode, reason = INCREMENTAL, "same definitions and as-of date"
    row = {
        "run_id": run_id,
        "run_time": run_time,
        "as_of": as_of,
        "mode": mode,
        "reason": reason,
        "definitions_version": version,
        "code_version": code_version(),
        "customers": customers.height,
        "evaluated_customers": evaluated,
        "open_stays": history.filter(pl.col("exited_on").is_null()).height,
        "seconds": round(time.perf_counter() - started, 3),
    }
    return SegmentRun(history=history, runs=_appended(previous_runs, row, SEGMENT_RUN_COLUMNS))
