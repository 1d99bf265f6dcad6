"""Documentation of the tables the segments stage publishes (for docs/data_dictionary.md)."""

from __future__ import annotations

from cdp.schemas.docs import TableDoc

TABLE_DOCS: tuple[TableDoc, ...] = (
    TableDoc(
        name="segment_membership",
        description=(
            "Who is in each declared segment and since when, kept across runs. A stay opens when a "
            "customer first meets a segment version's rule and closes on the first run they no longer "
            "do; leaving and coming back opens a new stay. A new rule version starts new stays. Current "
            "members are the rows with no exit date; `cdp segments explain` shows why. An erased "
            "customer (`erased_customers`) is in no segment, and their stays are deleted, not closed."
        ),
        grain="one row per stay of a customer in a segment version",
        columns={
            "segment": "Segment name, as declared in the segments YAML.",
            "segment_version": "Version of the segment's definition under which the customer qualified.",
            "customer_id": "The customer (customer_360.customer_id).",
            "entered_on": "As-of date of the run on which the customer entered.",
            "exited_on": (
                "As-of date of the run on which the customer no longer qualified; null while a member."
            ),
            "entered_run_id": "Run that recorded the entry.",
            "exited_run_id": "Run that recorded the exit; null while a member.",
        },
        contains_pii=False,
    ),
    TableDoc(
        name="segment_runs",
        description=(
            "One row per run of the segments stage: every customer evaluated (first run, changed "
            "definitions or as-of date, or most customers changed), or only the customers whose "
            "customer_360 or customer_features row changed since the previous run (equal to "
            "evaluating everyone)."
        ),
        grain="One row per pipeline run (append-only).",
        columns={
            "run_id": "Pipeline run.",
            "run_time": "When the run evaluated the segments (UTC).",
            "as_of": "Evaluation date of the run.",
            "mode": "full | incremental.",
            "reason": "Why this mode.",
            "definitions_version": "Digest of the segment definitions; a change evaluates everyone.",
            "code_version": "Digest of the cdp code that ran; a change evaluates everyone.",
            "customers": "Customers in customer_360 this run, erased customers excepted.",
            "evaluated_customers": "Customers whose rules were evaluated this run.",
            "open_stays": "Current memberships (stays without an exit date) after the run.",
            "seconds": "Wall time of the segments stage.",
        },
        contains_pii=False,
    ),
)
