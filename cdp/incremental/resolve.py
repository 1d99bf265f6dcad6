"""Resolve one batch of party records on top of the previous identity state."""

from __future__ import annotations

import datetime as dt
import logging
from dataclasses import dataclass
from typing import TYPE_CHECKING

import polars as pl

from cdp.identity import IdentityState, update_incrementally
from cdp.identity.cluster import WEIGHT_DECIMALS
from cdp.identity.graph import connected_components, endpoints, key_hash
from cdp.identity.model import REVIEW_BAND
from cdp.incremental.delta import KEYS, PartyDelta, party_delta
from cdp.schemas.canonical import conform

if TYPE_CHECKING:
    from cdp.engine import LinkageEngine
    from cdp.identity import ClusteringPolicy, Decisions
    from cdp.incremental.linkage_state import LinkageState
    from cdp.resolve.prepare import PlaceholderValues

log = logging.getLogger(__name__)

_PAIR_KEYS = ["source_l", "record_id_l", "source_r", "record_id_r"]


class FullScoringNeeded(Exception):
    """Only scoring every pair again is sure to give what a full run gives: the population changed
    enough since its last full scoring that a pair kept below the edge floor may have risen into
    the review band, or the kept linkage state does not fit today's records.

    Attributes:
        reason: why, for the run log.
    """

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


@dataclass(frozen=True)
class IncrementResolution:
    """Output of :func:`resolve_increment`.

    Attributes:
        state: the new identity state (the previous one, same frames, when nothing changed).
        edges: the ``identity_edges`` to publish and to pass in as ``previous_edges`` next time.
        review_queue: the ``identity_review_queue`` after this batch.
        affected_customer_ids: customer IDs (old and new) whose set of records changed; the
            customer 360 needs rebuilding for exactly these (plus what its own inputs touch).
        events: this run's ``identity_changes`` rows (empty when nothing changed).
        delta: the party delta the batch was computed from.
        guard_flags: guard flags of the re-clustered components.
        scored_records: records sent to the model (new plus changed).
        affected_records: records re-clustered.
        linkage_state: the prepared input and value counts of today's population, for the next
            run (None when nothing changed and none was given).
    """

    state: IdentityState
    edges: pl.DataFrame
    review_queue: pl.DataFrame
    affected_customer_ids: pl.Series
    events: pl.DataFrame
    delta: PartyDelta
    guard_flags: pl.DataFrame
    scored_records: int
    affected_records: int
    linkage_state: LinkageState | None = None


def increment_edges(
    parties: pl.DataFrame,
    batch: pl.DataFrame,
    *,
    model_json: str,
    engine: LinkageEngine,
    threshold: float,
    placeholders: PlaceholderValues | None = None,
    prepared: pl.DataFrame | None = None,
) -> pl.DataFrame:
    """Scored and deterministic edges touching ``batch`` (records of ``parties``), merged like a full run.

    Splink scores batch-to-rest and batch-to-batch pairs; the deterministic national-ID links of
    the batch are found among every record with a batch record's token, and a deterministic link
    overrides the model's probability exactly as in :func:`cdp.pipeline.combine_edges`.
    """
    from cdp.pipeline import combine_edges
    from cdp.resolve.predict import deterministic_edges, predict_incremental_edges
    from cdp.resolve.prepare import detect_placeholders

    if placeholders is None:
        placeholders = detect_placeholders(parties)
    scored = predict_incremental_edges(
        parties,
        batch,
        model_json=model_json,
        engine=engine,
        threshold=threshold,
        placeholders=placeholders,
        prepared=prepared,
    )
    keys = list(KEYS)
    # Only records sharing a batch record's token can link to it; placeholders are still judged
    # on every record, so a default token or date is ignored exactly as in the full run.
    tokens = batch["national_id_token"].drop_nulls().unique().implode()
    certain = deterministic_edges(
        parties.filter(pl.col("national_id_token").is_in(tokens)), placeholders=placeholders
    )
    batch_keys = batch.select(keys)
    certain = pl.concat(
        [
            certain.join(batch_keys, left_on=["source_l", "record_id_l"], right_on=keys, how="semi"),
            certain.join(batch_keys, left_on=["source_r", "record_id_r"], right_on=keys, how="semi"),
        ]
    ).unique(subset=_PAIR_KEYS, maintain_order=True)
    return combine_edges(scored, certain)


def resolve_increment(
    *,
    previous_parties: pl.DataFrame | None,
    parties: pl.DataFrame,
    previous_edges: pl.DataFrame,
    previous_state: IdentityState,
    previous_review_queue: pl.DataFrame | None,
    model_json: str,
    engine: LinkageEngine,
    policy: ClusteringPolicy,
    decisions: Decisions,
    run_id: str,
    run_time: dt.datetime,
    erased: pl.DataFrame | None = None,
    review_floor: float | None = None,
    delta: PartyDelta | None = None,
    linkage_state: LinkageState | None = None,
    previous_decisions: Decisions | None = None,
) -> IncrementResolution:
    """Score only the new and changed party records and re-cluster only what they touch.

    Edges between two unchanged records are reused from ``previous_edges``; edges touching a
    changed or removed record are dropped and the changed records re-scored against everything.
    When no record was added, changed or removed, the model is not run and, unless a steward
    decision changed the clustering, the previous state is returned as is (no identity event).

    Args:
        previous_parties: ``std_parties`` the previous state was resolved from (only read
            when ``delta`` is None).
        parties: this run's ``std_parties`` (all records, not just the batch).
        previous_edges: the previous run's ``identity_edges``.
        previous_state: the previous identity state (clusters, merged_into, change log).
        previous_review_queue: the previous ``identity_review_queue`` (None: rebuild from affected).
        model_json: the linkage model to score with.
        engine: linkage engine.
        policy: clustering policy; must be the one the previous state was built with.
        decisions: steward decisions in force.
        run_id: this run's id, written into the change log.
        run_time: when this run happened (naive UTC).
        erased: keys of records erased this run; they leave their customers even if present.
        review_floor: lowest probability kept as an edge; default the policy's ``edge_floor``,
            as in the full path.
        delta: the party delta when already known (:func:`party_delta_from_changes`).
        linkage_state: the previous population's prepared input and value counts
            (:mod:`cdp.incremental.linkage_state`): patched with the batch instead of being
            computed again from every record. None: computed from ``parties``, and no record
            carries drift from earlier runs (the caller scores everything when that matters).
        previous_decisions: the decisions ``previous_state`` was built with, so that a decision
            withdrawn since is undone at once (None: the same as ``decisions``).

    Returns:
        The new state, edges, review queue, affected customer IDs and this run's events.
    """
    keys = list(KEYS)
    if delta is None:
        if previous_parties is None:
            raise ValueError("resolve_increment needs previous_parties or a delta")
        delta = party_delta(previous_parties, parties)
    removed = delta.removed
    if erased is not None and erased.height:
        removed = pl.concat([removed, erased.select(keys)]).unique()
    batch = pl.concat([delta.new, delta.changed])
    changed = delta.changed.select(keys)
    floor = policy.edge_floor if review_floor is None else review_floor
    reweighed_keys = None
    placeholders, prepared = None, None
    state_after = linkage_state
    if batch.height or removed.height:
        from cdp.incremental.linkage_state import LinkageState, counts_fit, patched_linkage_input
        from cdp.resolve.prepare import (
            holding_values,
            placeholder_flips,
            prepare_linkage_input,
            updated_value_counts,
            value_counts,
        )
        from cdp.resolve.reweigh import (
            POPULATION_DRIFT_BITS,
            drift_bounds_exact,
            population_drift_bits,
            population_profile,
            risen_records,
        )

        if not drift_bounds_exact(model_json):
            log.warning(
                "the linkage model adjusts a fuzzy level for term frequency, or sets a minimum: the "
                "drift of pairs never stored is bounded approximately; keep a periodic full refresh"
            )

        carried = None if linkage_state is None else linkage_state.drift
        populations = None if linkage_state is None else linkage_state.populations
        if linkage_state is not None:
            counts = updated_value_counts(linkage_state.value_counts, arrived=batch, departed=delta.replaced)
            if not counts_fit(counts, parties):
                # Nor can what it carries since the last full scoring be trusted, or recounted.
                raise FullScoringNeeded("the kept linkage state does not fit today's records")
        else:
            counts = value_counts(parties)
        # The population changed: today's term frequencies and prior apply to every edge.
        placeholders, flips = placeholder_flips(
            parties, arrived=batch, departed=delta.replaced, counts=counts
        )
        if flips:
            # A value that became a placeholder (or stopped being one) was compared as it was on
            # the day its edges were scored: its holders are scored again, as a full run would.
            rescored = parties.filter(holding_values(parties, flips)).join(batch, on=keys, how="anti")
            rescored = conform(rescored, dict(batch.schema))
            log.info("placeholder status flipped: %d records scored again", rescored.height)
            batch = pl.concat([batch, rescored])
            changed = pl.concat([changed, rescored.select(keys)])
            flipped = rescored.select(keys)
        else:
            flipped = batch.select(keys).clear()
        if linkage_state is not None:
            prepared = patched_linkage_input(
                linkage_state.prepared, batch=batch, removed=removed, placeholders=placeholders
            )
            if prepared.height != parties.height:
                raise FullScoringNeeded("the kept linkage input does not fit today's records")
        else:
            prepared = prepare_linkage_input(parties, placeholders=placeholders)
        today = population_profile(prepared, model_json)
        if populations is not None:
            bits = population_drift_bits(populations, today, model_json)
            if bits > POPULATION_DRIFT_BITS:
                scored_in_full = int(populations["records"][0])
                raise FullScoringNeeded(
                    f"the population changed since it was last scored in full ({scored_in_full:,} -> "
                    f"{prepared.height:,} records): pairs below the edge floor may have drifted "
                    f"{bits:.2f} bits (budget {POPULATION_DRIFT_BITS:.2f})"
                )
            # A column missing from older rows is unknown there: the bound is then infinite.
            populations = pl.concat([populations, today], how="diagonal_relaxed")
        # Yesterday's rows of the records that changed or left (an erased one too, if delivered),
        # and today's of those that are new or changed. The placeholder-flip holders count as both
        # when yesterday's rows are kept: nulling a value that became a placeholder also moves
        # what is derived from it (an e-mail's local part), so other records' counts move too.
        if linkage_state is not None:
            departed = linkage_state.prepared.join(
                pl.concat([delta.replaced.select(keys), removed, flipped]).unique(), on=keys, how="semi"
            )
        else:
            departed = prepare_linkage_input(delta.replaced, placeholders=placeholders)
            flipped = flipped.clear()
        arrived = pl.concat([delta.new.select(keys), delta.changed.select(keys), flipped])
        drift = risen_records(
            prepared, arrived=arrived, departed=departed, model_json=model_json, carried=carried
        )
        risen = drift.risen
        if risen.height:
            # Values that became rarer weigh more in every pair sharing them, stored or not: the
            # records whose pairs may have risen are scored again, so such a pair is found.
            rescored = conform(
                parties.join(risen, on=keys, how="semi").join(batch, on=keys, how="anti"), dict(batch.schema)
            )
            if rescored.height:
                log.info("term frequencies or prior rose: %d records scored again", rescored.height)
                batch = pl.concat([batch, rescored])
                changed = pl.concat([changed, rescored.select(keys)])
        log.info(
            "linkage input and value counts %s",
            "patched from the last run's" if linkage_state is not None else "computed from every record",
        )
        scored_ids = batch.select(pl.concat_str(keys, separator=":"))
        state_after = LinkageState(
            prepared,
            counts,
            drift.carried.filter(~pl.col("unique_id").is_in(scored_ids.to_series().implode())),
            populations,
        )
        previous_edges, reweighed_keys = _reweighed(
            previous_edges, prepared, model_json, policy, floor, review_queue=previous_review_queue
        )
    if batch.height:
        new_edges = increment_edges(
            parties,
            batch,
            model_json=model_json,
            engine=engine,
            threshold=floor,
            placeholders=placeholders,
            prepared=prepared,
        )
    else:
        new_edges = previous_edges.clear()
    previous_changes = previous_state.changes.height
    result = update_incrementally(
        previous_state,
        previous_edges,
        new_edges,
        records=parties.select(*keys, "national_id_token"),
        removed=removed,
        changed=changed,
        policy=policy,
        decisions=decisions,
        run_id=run_id,
        run_time=run_time,
        previous_review_queue=previous_review_queue,
        reweighed=reweighed_keys,
        previous_decisions=previous_decisions,
    )
    events = result.state.changes.slice(previous_changes)
    state, edges, review, affected = (
        result.state,
        result.edges,
        result.review_queue,
        result.affected_customer_ids,
    )
    if events.is_empty() and batch.is_empty() and removed.is_empty():
        # Same assignments: keep the published frames (and their row order) untouched.
        state, edges, affected = previous_state, previous_edges, affected.clear()
        if previous_review_queue is not None and _same_rows(review, previous_review_queue):
            review = previous_review_queue
    log.info(
        "incremental resolution: %d scored, %d re-clustered, %d affected customers, %d events",
        batch.height,
        result.affected_records,
        affected.len(),
        events.height,
    )
    return IncrementResolution(
        state=state,
        edges=edges,
        review_queue=review,
        affected_customer_ids=affected,
        events=events,
        delta=delta,
        guard_flags=result.guard_flags,
        scored_records=batch.height,
        affected_records=result.affected_records,
        linkage_state=state_after,
    )


def _guarded_records(review_queue: pl.DataFrame) -> pl.DataFrame:
    """Both records of every link the guard refused (its components are where it acted)."""
    return endpoints(review_queue.filter(pl.col("reason") != REVIEW_BAND)).unique()


def _reordered_guard_records(
    before: pl.DataFrame, after: pl.DataFrame, review_queue: pl.DataFrame, *, threshold: float
) -> pl.DataFrame:
    """Records of every component the guard split whose links today's weights order differently.

    The guard (:func:`cdp.identity.cluster_records`) keeps a conflicting component's links
    strongest first, certain links before the rest and weights compared at 1e-9 bits; only that
    order decides the split, so a component whose links keep their order keeps its clusters.
    ``after`` is ``before`` re-weighed (same rows, same order). Components are taken over the
    links on both days (a link that crossed the threshold already has its records re-clustered).
    """
    guarded = _guarded_records(review_queue)
    if guarded.is_empty():
        return guarded

    def ranked(edges: pl.DataFrame, name: str) -> pl.DataFrame:
        return edges.select(
            *_PAIR_KEYS,
            pl.struct(
                certain=pl.col("match_probability") >= 1.0,
                weight=pl.col("match_weight").round(WEIGHT_DECIMALS),
            ).alias(name),
        )

    # ``after`` is ``before`` re-weighed, row for row: links on both days need no join.
    both = (after["match_probability"] >= threshold) & (before["match_probability"] >= threshold)
    links = pl.concat(
        [ranked(after.filter(both), "today"), ranked(before.filter(both), "before").select("before")],
        how="horizontal",
    ).with_columns(left=key_hash("source_l", "record_id_l"), right=key_hash("source_r", "record_id_r"))
    # The guarded components: every node reached from a guarded record over the links.
    region = guarded.select(node=key_hash("source", "record_id")).unique()
    frontier = region
    while frontier.height:
        reached = pl.concat(
            [
                links.join(frontier, left_on="left", right_on="node", how="semi").select(node="right"),
                links.join(frontier, left_on="right", right_on="node", how="semi").select(node="left"),
            ]
        )
        frontier = reached.unique().join(region, on="node", how="anti")
        region = pl.concat([region, frontier])
    inside = links.filter(pl.col("left").is_in(region["node"].implode()))
    if inside.is_empty():
        return guarded.clear()
    nodes = pl.concat([inside["left"], inside["right"]]).unique().sort()
    a = nodes.search_sorted(inside["left"]).to_numpy()
    b = nodes.search_sorted(inside["right"]).to_numpy()
    labels = connected_components(nodes.len(), a, b)
    inside = inside.with_columns(component=pl.Series(labels[a]))

    def order(name: str) -> pl.DataFrame:
        by = ["component", pl.col(name).struct.field("certain"), pl.col(name).struct.field("weight")]
        ordered = inside.sort([*by, *_PAIR_KEYS], descending=[False, True, True, False, False, False, False])
        return ordered.select(*_PAIR_KEYS, "component", position=pl.int_range(pl.len()).over("component"))

    moved = (
        order("today")
        .join(order("before"), on=_PAIR_KEYS, suffix="_before")
        .filter(pl.col("position") != pl.col("position_before"))
    )
    components = moved["component"].unique().implode()
    reordered = inside.filter(pl.col("component").is_in(components))
    log.info(
        "guard: %d of %d split components reorder their links",
        moved["component"].n_unique(),
        inside["component"].n_unique(),
    )
    return endpoints(reordered).unique()


def _reweighed(
    edges: pl.DataFrame,
    prepared: pl.DataFrame,
    model_json: str,
    policy: ClusteringPolicy,
    floor: float,
    *,
    review_queue: pl.DataFrame | None,
) -> tuple[pl.DataFrame, pl.DataFrame]:
    """Stored edges re-weighed for today's population, and the records whose clustering that may
    change: an edge crossed the threshold, or moved into or out of the review band or the floor,
    or a component the guard split (named by ``review_queue``) now orders its links differently."""
    from cdp.resolve.reweigh import reweigh_edges

    reweighed = reweigh_edges(edges, prepared, model_json=model_json)
    low, high = policy.review_band

    def status(probability: pl.Expr) -> pl.Expr:
        return pl.struct(
            linked=probability >= policy.threshold,
            review=(probability >= low) & (probability < high),
            kept=probability >= floor,
        )

    moved = reweighed.filter(status(pl.col("match_probability")) != status(edges["match_probability"]))
    keys = [endpoints(moved)]
    if review_queue is not None:
        keys.append(_reordered_guard_records(edges, reweighed, review_queue, threshold=policy.threshold))
    return reweighed.filter(pl.col("match_probability") >= floor), pl.concat(keys).unique()


def _same_rows(left: pl.DataFrame, right: pl.DataFrame) -> bool:
    """Same rows in any order (review queues are small)."""
    right = conform(right, dict(left.schema))
    return left.sort(left.columns, nulls_last=True).equals(right.sort(left.columns, nulls_last=True))
