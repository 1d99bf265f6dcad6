"""Value types and column contracts of the identity stage.

Every frame that crosses the stage's boundary has a fixed schema declared here, so an empty run
(no records, no previous state) still yields typed, correctly ordered tables.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass

import polars as pl

from cdp.errors import ConfigError
from cdp.schemas.canonical import CLUSTER_COLUMNS, conform, empty_frame

KEYS: tuple[str, str] = ("source", "record_id")
PAIR_KEYS: tuple[str, str, str, str] = ("source_l", "record_id_l", "source_r", "record_id_r")

#: The five identity events; a customer that loses its last record is not given a sixth
#: ("retired") event: its ``record_removed`` rows say so and it simply has no rows in clusters.
EVENTS: tuple[str, ...] = ("created", "record_added", "record_removed", "merged", "split")

ASSIGNMENT_COLUMNS: Mapping[str, pl.DataType] = {
    "source": pl.String(),
    "record_id": pl.String(),
    "cluster_key": pl.String(),
}

MERGED_INTO_COLUMNS: Mapping[str, pl.DataType] = {
    "customer_id": pl.String(),
    "merged_into": pl.String(),
    "merged_at": pl.Datetime("us"),
    "run_id": pl.String(),
}

CHANGE_COLUMNS: Mapping[str, pl.DataType] = {
    "run_id": pl.String(),
    "changed_at": pl.Datetime("us"),
    "event": pl.String(),
    "customer_id": pl.String(),
    "other_customer_id": pl.String(),
    "source": pl.String(),
    "record_id": pl.String(),
    "detail": pl.String(),
}

DECISION_COLUMNS: Mapping[str, pl.DataType] = {
    "source_l": pl.String(),
    "record_id_l": pl.String(),
    "source_r": pl.String(),
    "record_id_r": pl.String(),
    "decided_by": pl.String(),
    "decided_at": pl.Datetime("us"),
    "reason": pl.String(),
}

REVIEW_COLUMNS: Mapping[str, pl.DataType] = {
    "source_l": pl.String(),
    "record_id_l": pl.String(),
    "source_r": pl.String(),
    "record_id_r": pl.String(),
    "match_probability": pl.Float64(),
    "match_weight": pl.Float64(),
    "match_reason": pl.String(),
    "reason": pl.String(),
}

GUARD_FLAG_COLUMNS: Mapping[str, pl.DataType] = {
    "source": pl.String(),
    "record_id": pl.String(),
    "records": pl.Int64(),
    "clusters": pl.Int64(),
    "refused_merges": pl.Int64(),
    "reasons": pl.String(),
}

#: Review-queue reasons: a pair in the review band, a merge the guard refused and why, or a
#: decision that cannot apply.
REVIEW_BAND = "review_band"
NATIONAL_ID_CONFLICT = "national_id_conflict"
CANNOT_LINK = "cannot_link"
MAX_CLUSTER_SIZE = "max_cluster_size"
#: A steward decision naming a record that does not exist (deleted, erased or mistyped).
UNKNOWN_RECORD = "unknown_record"

#: How far below the review band (in bits of match weight) scored pairs are still kept as edges.
EDGE_FLOOR_MARGIN_BITS = 1.0


@dataclass(frozen=True)
class ClusteringPolicy:
    """How edges become clusters.

    Attributes:
        threshold: pairs with ``match_probability >= threshold`` link their records.
        review_band: ``[low, high)`` probabilities that go to the review queue instead.
        max_cluster_size: a merge that would make a cluster larger than this is refused and
            queued for review (steward must-links are exempt: they are not silent).
    """

    threshold: float = 0.9
    review_band: tuple[float, float] = (0.5, 0.9)
    max_cluster_size: int = 20

    @property
    def edge_floor(self) -> float:
        """Lowest probability kept as an edge: one bit of match weight below the review band.

        A daily run re-weighs stored edges for the day's term frequencies and prior; a pair that
        drifts into the band can only be found if its edge was kept, so edges are kept a margin
        (``EDGE_FLOOR_MARGIN_BITS``) below it. A record whose own values became rare enough since
        it was scored to lift its pairs by a quarter bit is scored again
        (:func:`cdp.resolve.reweigh.risen_records`), and a daily run scores everything again once
        the prior and the columns' totals have moved enough since the runs that scored the pairs
        to use up the rest (:func:`cdp.resolve.reweigh.population_drift_bits`).

        Example:
            >>> round(ClusteringPolicy().edge_floor, 4)
            0.3333
        """
        low = self.review_band[0]
        # The band floor's odds divided by 2**margin: p / (1 - p) / 2**m = q / (1 - q).
        return low / (low + (1.0 - low) * 2.0**EDGE_FLOOR_MARGIN_BITS)

    def __post_init__(self) -> None:
        low, high = self.review_band
        if not 0.0 < self.threshold <= 1.0:
            raise ConfigError(f"clustering policy: threshold must be in (0, 1], got {self.threshold}")
        if not 0.0 <= low <= high <= 1.0:
            raise ConfigError(
                f"clustering policy: review_band must be 0 <= low <= high <= 1, got {self.review_band}"
            )
        if self.max_cluster_size < 1:
            raise ConfigError(
                f"clustering policy: max_cluster_size must be at least 1, got {self.max_cluster_size}"
            )


@dataclass(frozen=True)
class Decisions:
    """A data steward's overrides, keyed by record keys so they survive retraining."""

    must_link: pl.DataFrame
    cannot_link: pl.DataFrame

    @classmethod
    def none(cls) -> Decisions:
        """No decisions at all."""
        return cls(must_link=empty_frame(DECISION_COLUMNS), cannot_link=empty_frame(DECISION_COLUMNS))


@dataclass(frozen=True)
class IdentityState:
    """What one run publishes and the next run starts from.

    Attributes:
        clusters: ``identity_clusters`` (source, record_id, customer_id).
        merged_into: retired customer IDs and the ID each was merged into.
        changes: the append-only ``identity_changes`` log.
    """

    clusters: pl.DataFrame
    merged_into: pl.DataFrame
    changes: pl.DataFrame

    @classmethod
    def empty(cls) -> IdentityState:
        """The state before the first run."""
        return cls(
            clusters=empty_frame(CLUSTER_COLUMNS),
            merged_into=empty_frame(MERGED_INTO_COLUMNS),
            changes=empty_frame(CHANGE_COLUMNS),
        )

    def conformed(self) -> IdentityState:
        """The same state with exactly the published columns and dtypes (e.g. after a warehouse read)."""
        return IdentityState(
            clusters=conform(self.clusters, CLUSTER_COLUMNS),
            merged_into=conform(self.merged_into, MERGED_INTO_COLUMNS),
            changes=conform(self.changes, CHANGE_COLUMNS),
        )


@dataclass(frozen=True)
class ClusterResult:
    """Output of :func:`cdp.identity.cluster_records`.

    Attributes:
        assignments: one row per record: source, record_id, cluster_key (the smallest record key
            of its cluster, ``source:record_id``). Labels, not customer IDs.
        review_queue: pairs for a data steward (see ``REVIEW_COLUMNS``).
        guard_flags: one row per connected component the guard had to split, named by its
            smallest record key, with its size, resulting cluster count and reasons.
    """

    assignments: pl.DataFrame
    review_queue: pl.DataFrame
    guard_flags: pl.DataFrame


@dataclass(frozen=True)
class IncrementalResult:
    """Output of :func:`cdp.identity.update_incrementally`.

    Attributes:
        state: the new identity state (carried-over rows plus the recomputed ones).
        affected_customer_ids: every customer ID, old or new, that gained, lost or changed a
            record; downstream tables need rebuilding for exactly these (a recomputed customer
            left with the same records under the same ID is not one).
        edges: the merged edge table to keep for the next increment.
        review_queue: the review queue after this increment.
        guard_flags: guard flags of the recomputed components.
        affected_records: how many current records were re-clustered.
    """

    state: IdentityState
    affected_customer_ids: pl.Series
    edges: pl.DataFrame
    review_queue: pl.DataFrame
    guard_flags: pl.DataFrame
    affected_records: int


def record_key(source: str, record_id: str) -> str:
    """The single-string form of a record key (contracts: ``source || ':' || record_id``)."""
    return f"{source}:{record_id}"


def record_key_expr(source: str = "source", record_id: str = "record_id") -> pl.Expr:
    """Expression form of :func:`record_key`."""
    return pl.concat_str([pl.col(source), pl.lit(":"), pl.col(record_id)])


def naive_utc(moment: dt.datetime) -> dt.datetime:
    """``moment`` as a naive UTC timestamp, the form every identity table stores."""
    return moment if moment.tzinfo is None else moment.astimezone(dt.UTC).replace(tzinfo=None)
