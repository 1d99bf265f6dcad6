"""Incremental runs: resolve a batch of party records and refresh the customer 360 without a rebuild.

A daily batch touches a few thousand of a million records. The full path scores every blocked
pair, clusters everything and rebuilds every customer; this package does the same work only
where the batch reaches, on plain Polars frames:

1. :func:`party_delta` (``previous std_parties``, ``current std_parties``) -> :class:`PartyDelta`
   ``(new, changed, removed, moved)``: by key, comparing a hash of every canonical column except
   provenance (``source_file``, ``source_row``).
2. :func:`resolve_increment` (previous parties, edges, :class:`~cdp.identity.IdentityState` and
   review queue; current parties; model, engine, policy, decisions, run id and time) ->
   :class:`IncrementResolution` ``(state, edges, review_queue, affected_customer_ids, events, ...)``:
   Splink scores only new and changed records (against everything, and among themselves), their
   deterministic national-ID links are merged as in the full path, stored edges between unchanged
   records are reused, and :func:`cdp.identity.update_incrementally` re-clusters only the touched
   components, keeping customer IDs stable. A run with nothing new returns the previous state
   unchanged and logs no identity event.
3. :func:`activity_changes` -> party keys whose accounts, holder links, events or consents changed.
4. :func:`refresh_customer_360` (the five previous 360 tables, previous and current
   :class:`Customer360Inputs`, affected customer IDs, survivorship rules) ->
   :class:`Customer360Refresh`: rebuilds only the stale customers and splices them in; the result
   equals the full ``build_customer_360`` exactly, also when the as-of date moved (see
   :mod:`cdp.incremental.refresh` for how shared values, households and time windows are kept exact).

Example (the shape of an incremental run; the assets publish the returned frames)::

    step = resolve_increment(previous_parties=prev_parties, parties=parties,
        previous_edges=prev_edges, previous_state=prev_state, previous_review_queue=prev_queue,
        model_json=model, engine=DuckDBEngine(), policy=policy, decisions=decisions,
        run_id=run_id, run_time=now)
    refreshed = refresh_customer_360(prev_tables, previous_inputs=prev_inputs,
        inputs=replace(prev_inputs_now, clusters=step.state.clusters),
        affected_customer_ids=step.affected_customer_ids, rules=rules, delta=step.delta)

Known limits: a changed clustering policy, linkage model or survivorship rule set needs the full
path. Edges reused from earlier runs are re-weighed for each run's term frequencies and prior
(:mod:`cdp.resolve.reweigh`), so their weights equal a full run's; the holders of a value whose
placeholder status flipped, and of values that became rarer, are scored again, and pairs never
stored are bounded (:func:`cdp.resolve.reweigh.risen_records`,
:func:`cdp.resolve.reweigh.population_drift_bits`). A periodic full refresh remains good practice
as a safety net. The customer 360 refresh equals the full build on the same clusters.
"""

from __future__ import annotations

from cdp.incremental.delta import PartyDelta, activity_changes, party_delta
from cdp.incremental.refresh import Customer360Refresh, build_full, refresh_customer_360
from cdp.incremental.resolve import IncrementResolution, increment_edges, resolve_increment
from cdp.incremental.scope import Customer360Inputs

__all__ = [
    "Customer360Inputs",
    "Customer360Refresh",
    "IncrementResolution",
    "PartyDelta",
    "activity_changes",
    "build_full",
    "increment_edges",
    "party_delta",
    "refresh_customer_360",
    "resolve_increment",
]
