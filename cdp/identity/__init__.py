"""Identity: scored match edges -> constrained clusters -> persistent, opaque customer IDs.

Public surface:

- :class:`ClusteringPolicy`, :class:`Decisions` / :func:`load_decisions` /
  :func:`decisions_version` (steward overrides);
- :func:`cluster_records` (connected components + over-merge guard + review queue);
- :class:`IdentityState`, :func:`assign_stable_ids` (stable IDs and the identity change log),
  :func:`resolve_customer_id` / :func:`resolve_customer_ids` (follow merges to the survivor);
- :func:`update_incrementally` (re-cluster only the components a batch touches).
"""

from __future__ import annotations

from cdp.identity.cluster import cluster_records
from cdp.identity.decisions import decisions_version, load_decisions
from cdp.identity.ids import assign_stable_ids
from cdp.identity.incremental import update_incrementally
from cdp.identity.lookup import resolve_customer_id, resolve_customer_ids
from cdp.identity.model import (
    ASSIGNMENT_COLUMNS,
    CHANGE_COLUMNS,
    DECISION_COLUMNS,
    GUARD_FLAG_COLUMNS,
    MERGED_INTO_COLUMNS,
    REVIEW_COLUMNS,
    ClusteringPolicy,
    ClusterResult,
    Decisions,
    IdentityState,
    IncrementalResult,
)

__all__ = [
    "ASSIGNMENT_COLUMNS",
    "CHANGE_COLUMNS",
    "DECISION_COLUMNS",
    "GUARD_FLAG_COLUMNS",
    "MERGED_INTO_COLUMNS",
    "REVIEW_COLUMNS",
    "ClusterResult",
    "ClusteringPolicy",
    "Decisions",
    "IdentityState",
    "IncrementalResult",
    "assign_stable_ids",
    "cluster_records",
    "decisions_version",
    "load_decisions",
    "resolve_customer_id",
    "resolve_customer_ids",
    "update_incrementally",
]
