"""Descriptions of the tables the identity stage publishes (for docs/data_dictionary.md)."""

from __future__ import annotations

from cdp.schemas.docs import TableDoc

_PAIR = {
    "source_l": "Source of the pair's first record (the smaller record key `source:record_id`).",
    "record_id_l": "Record id of the pair's first record within its source.",
    "source_r": "Source of the pair's second record.",
    "record_id_r": "Record id of the pair's second record within its source.",
}

TABLE_DOCS: tuple[TableDoc, ...] = (
    TableDoc(
        name="identity_edges",
        description=(
            "Scored record pairs: every pair the blocking rules compared whose Splink match probability "
            "reaches one bit of match weight below the review band's floor (1/3 for a 0.5 floor, so a "
            "daily run can re-weigh a pair drifting into the band), plus the deterministic links (same "
            "national-ID token and "
            "same date of birth). The per-comparison columns explain each score: their match weights "
            "plus the prior sum to match_weight. `cdp explain` prints the same for any pair."
        ),
        grain="One row per record pair, the smaller record key on the left.",
        columns={
            **_PAIR,
            "match_probability": "Splink match probability (1.0 for a deterministic link).",
            "match_weight": "Total match weight (log2 Bayes factor), prior included.",
            "match_reason": "null = model score; national_id_and_dob = deterministic link.",
            "mw_*": "Match weight of one comparison of the model (e.g. mw_first_name).",
            "gamma_*": (
                "Comparison level of one comparison (-1 = a value missing, 0 = all other, higher = closer)."
            ),
        },
    ),
    TableDoc(
        name="identity_clusters",
        description=(
            "Which customer each accepted party record belongs to. customer_id is persistent and opaque: "
            "'C' + 16 hex characters of sha256 of the cluster's smallest record key when the customer was "
            "created; it survives new records, merges (oldest customer survives) and splits (the part "
            "keeping most of its own records keeps it; a part made mostly of the records of a customer it "
            "absorbed gets that customer's retired ID back)."
        ),
        grain="One row per accepted party record (source, record_id).",
        columns={
            "source": "Party table the record comes from (name in the source config).",
            "record_id": "The record's key within its source.",
            "customer_id": "Stable customer ID; resolve retired IDs through identity_merged_into.",
        },
    ),
    TableDoc(
        name="identity_changes",
        description=(
            "Append-only log of identity events. Events: created, merged (customer_id was merged into "
            "other_customer_id), split (customer_id lost records to other_customer_id), record_added and "
            "record_removed. A customer whose last record is removed has no separate event: it simply no "
            "longer appears in identity_clusters. Replaying record events in order rebuilds "
            "identity_clusters."
        ),
        grain="One row per event; a re-run with no change adds no rows.",
        columns={
            "run_id": "Pipeline run that produced the event.",
            "changed_at": "When that run happened (UTC).",
            "event": "created | record_added | record_removed | merged | split.",
            "customer_id": "The customer the event is about (merged/split: the one that gave records up).",
            "other_customer_id": (
                "merged: the survivor; split: the customer the records went to; record events: the "
                "customer the record came from or went to (null for new or deleted records)."
            ),
            "source": "Record events: the record's source (null otherwise).",
            "record_id": (
                "Record events: the record's id (null otherwise, and blanked once the record is erased)."
            ),
            "detail": "Machine-written note: 'new record', 'moved', 'record no longer present', counts.",
        },
    ),
    TableDoc(
        name="identity_merged_into",
        description=(
            "Customer IDs retired by a merge and the survivor each was merged into. Follow the chain "
            "(cdp.identity.resolve_customer_id) to reach the current customer for an old ID. When a "
            "merge is undone (a split gives the retired customer's records back) the ID is revived and "
            "its row removed; the split event in identity_changes records it."
        ),
        grain="One row per retired customer ID.",
        columns={
            "customer_id": "The retired customer ID.",
            "merged_into": "The customer it was merged into (may itself be retired later).",
            "merged_at": "When the merge happened (UTC).",
            "run_id": "Pipeline run that merged them.",
        },
    ),
    TableDoc(
        name="identity_review_queue",
        description=(
            "Pairs a data steward should decide on: model probabilities inside the review band whose "
            "records are in different customers, and strong links the over-merge guard refused. Pairs "
            "already decided in the decisions file are left out (except must-links the guard could not "
            "honour, and decisions naming a record that does not exist). Decisions go into the decisions "
            "CSV as must_link or cannot_link with who, when and why."
        ),
        grain="One row per record pair and reason.",
        columns={
            **_PAIR,
            "match_probability": "Model match probability of the pair (null for an unscored must-link).",
            "match_weight": "Model match weight (log2 Bayes factor) of the pair.",
            "match_reason": (
                "splink | national_id_and_dob | must_link: where the link came from (unknown_record "
                "rows: must_link or cannot_link, the decision's kind)."
            ),
            "reason": (
                "review_band (uncertain probability) | national_id_conflict (the merge would put two "
                "different national IDs in one customer) | cannot_link (a steward's cannot-link forbids "
                "it) | max_cluster_size (the customer would grow past the cap) | unknown_record (a "
                "steward decision names a record that does not exist: deleted, erased or mistyped)."
            ),
        },
    ),
)
