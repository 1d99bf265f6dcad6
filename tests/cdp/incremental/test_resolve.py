from __future__ import annotations

import datetime as dt
from dataclasses import replace

import polars as pl
import pytest
from polars.testing import assert_frame_equal

from cdp.identity import (
    DECISION_COLUMNS,
    ClusteringPolicy,
    Decisions,
    assign_stable_ids,
    cluster_records,
    resolve_customer_id,
)
from cdp.incremental import resolve_increment
from cdp.incremental.linkage_state import population_linkage_state
from cdp.incremental.resolve import FullScoringNeeded
from cdp.schemas.canonical import conform


def step(
    previous_parties,
    parties,
    edges,
    state,
    queue,
    model_json,
    engine,
    *,
    run,
    decisions=None,
    erased=None,
    linkage_state=None,
):
    return resolve_increment(
        previous_parties=previous_parties,
        parties=parties,
        previous_edges=edges,
        previous_state=state,
        previous_review_queue=queue,
        model_json=model_json,
        engine=engine,
        policy=ClusteringPolicy(),
        decisions=decisions or Decisions.none(),
        run_id=run,
        run_time=dt.datetime(2026, 2, int(run[1:])),
        erased=erased,
        linkage_state=linkage_state,
    )


def _partition(state) -> set[frozenset[str]]:
    """The clusters as sets of record IDs, whatever their customer IDs."""
    grouped = state.clusters.group_by("customer_id").agg("record_id")["record_id"].to_list()
    return {frozenset(records) for records in grouped}


def ids(state) -> dict[str, str]:
    return dict(
        zip(state.clusters["record_id"].to_list(), state.clusters["customer_id"].to_list(), strict=True)
    )


def test_no_new_data_changes_nothing_and_logs_no_event(model_json, engine, kit, full_run):
    k = kit
    parties = k.frame(k.ALICE_CORE, k.ALICE_CARD, k.BOB)
    edges, state, queue = full_run(parties, model_json, engine)
    result = step(parties, parties, edges, state, queue, model_json, engine, run="r1")
    assert result.state is state
    assert result.edges is edges
    assert result.events.is_empty()
    assert result.affected_customer_ids.is_empty()
    assert result.scored_records == 0


def test_unrelated_batch_keeps_every_existing_id(model_json, engine, kit, full_run):
    k = kit
    # Among a few hundred records, one more moves no term frequency or prior by a quarter bit.
    filler = [
        k.rec(
            f"F{i}",
            f"first{i}",
            f"last{i}",
            k.D3 + dt.timedelta(days=i),
            email=f"f{i}@mail.com",
            address=f"{i} high st",
            postcode=f"{50000 + i}",
        )
        for i in range(300)
    ]
    before = k.frame(k.ALICE_CORE, k.ALICE_CARD, k.BOB, *filler)
    edges, state, queue = full_run(before, model_json, engine)
    after = k.frame(k.ALICE_CORE, k.ALICE_CARD, k.BOB, k.CAROL, *filler)
    result = step(before, after, edges, state, queue, model_json, engine, run="r1")
    assert {key: value for key, value in ids(result.state).items() if key != "C1"} == ids(state)
    carol = ids(result.state)["C1"]
    assert carol not in ids(state).values()
    assert result.events.select("event", "customer_id").rows() == [
        ("created", carol),
        ("record_added", carol),
    ]
    assert result.scored_records == 1


def test_bridging_record_merges_and_a_change_splits(model_json, engine, kit, full_run):
    k = kit
    base = k.frame(k.ALICE_CORE, k.ALICE_CARD, k.BOB)
    edges, state, queue = full_run(base, model_json, engine)
    core_id, card_id = ids(state)["A1"], ids(state)["A2"]
    assert core_id != card_id

    merged = k.frame(k.ALICE_CORE, k.ALICE_CARD, k.BOB, k.ALICE_DIGITAL)
    first = step(base, merged, edges, state, queue, model_json, engine, run="r1")
    after_merge = ids(first.state)
    assert after_merge["A1"] == after_merge["A2"] == after_merge["A3"]
    survivor = after_merge["A1"]
    retired = card_id if survivor == core_id else core_id
    merge_events = first.events.filter(pl.col("event") == "merged")
    assert merge_events.select("customer_id", "other_customer_id").rows() == [(retired, survivor)]
    assert resolve_customer_id(retired, first.state.merged_into) == survivor
    assert set(first.affected_customer_ids.to_list()) == {core_id, card_id}
    assert after_merge["B1"] == ids(state)["B1"]

    # The digital record loses its email and phone: nothing ties the card record to Alice any more.
    changed = k.frame(k.ALICE_CORE, k.ALICE_CARD, k.BOB, {**k.ALICE_DIGITAL, "email": None, "phone": None})
    second = step(merged, changed, first.edges, first.state, first.review_queue, model_json, engine, run="r2")
    after_split = ids(second.state)
    assert after_split["A1"] == after_split["A3"] == survivor
    assert after_split["A2"] != survivor
    split = second.events.filter(pl.col("event") == "split")
    assert split.select("customer_id", "other_customer_id").rows() == [(survivor, after_split["A2"])]
    assert second.delta.changed["record_id"].to_list() == ["A3"]


def test_deleted_record_leaves_its_customer(model_json, engine, kit, full_run):
    k = kit
    before = k.frame(k.ALICE_CORE, k.ALICE_CARD, k.ALICE_DIGITAL, k.BOB)
    edges, state, queue = full_run(before, model_json, engine)
    alice = ids(state)["A1"]
    after = k.frame(k.ALICE_CORE, k.ALICE_DIGITAL, k.BOB)
    result = step(before, after, edges, state, queue, model_json, engine, run="r1")
    assert "A2" not in ids(result.state)
    assert ids(result.state)["A1"] == ids(result.state)["A3"] == alice
    removed = result.events.filter(pl.col("event") == "record_removed")
    assert removed.select("customer_id", "record_id").rows() == [(alice, "A2")]
    assert result.edges.filter((pl.col("record_id_l") == "A2") | (pl.col("record_id_r") == "A2")).is_empty()


def test_erased_record_leaves_even_if_still_delivered(model_json, engine, kit, full_run):
    k = kit
    parties = k.frame(k.ALICE_CORE, k.ALICE_DIGITAL, k.BOB)
    edges, state, queue = full_run(parties, model_json, engine)
    erased = pl.DataFrame({"source": ["digital_users"], "record_id": ["A3"]})
    result = step(parties, parties, edges, state, queue, model_json, engine, run="r1", erased=erased)
    assert "A3" not in ids(result.state)
    assert ids(result.state)["A1"] == ids(state)["A1"]


def decision(left: dict, right: dict) -> pl.DataFrame:
    return conform(
        pl.DataFrame(
            {
                "source_l": [left["source"]],
                "record_id_l": [left["record_id"]],
                "source_r": [right["source"]],
                "record_id_r": [right["record_id"]],
                "decided_by": ["steward"],
                "decided_at": [dt.datetime(2026, 1, 1)],
                "reason": ["test"],
            }
        ),
        DECISION_COLUMNS,
    )


def test_must_link_and_cannot_link_hold_across_incremental_runs(model_json, engine, kit, full_run):
    k = kit
    decisions = Decisions(
        must_link=decision(k.ALICE_CORE, k.ALICE_CARD), cannot_link=decision(k.ALICE_CARD, k.ALICE_DIGITAL)
    )
    base = k.frame(k.ALICE_CORE, k.ALICE_CARD, k.BOB)
    edges, state, queue = full_run(base, model_json, engine, decisions)
    assert ids(state)["A1"] == ids(state)["A2"]

    # The digital record links the card record strongly, but the cannot-link keeps them apart.
    grown = k.frame(k.ALICE_CORE, k.ALICE_CARD, k.BOB, k.ALICE_DIGITAL)
    first = step(base, grown, edges, state, queue, model_json, engine, run="r1", decisions=decisions)
    after = ids(first.state)
    assert after["A1"] == after["A2"] == ids(state)["A1"]
    assert after["A3"] != after["A2"]

    more = k.frame(
        k.ALICE_CORE, k.ALICE_CARD, k.BOB, k.ALICE_DIGITAL, k.rec("B2", "bob", "jones", k.D2, token="t2")
    )
    second = step(
        grown,
        more,
        first.edges,
        first.state,
        first.review_queue,
        model_json,
        engine,
        run="r2",
        decisions=decisions,
    )
    final = ids(second.state)
    assert final["A1"] == final["A2"] == ids(state)["A1"]
    assert final["A3"] == after["A3"] != final["A2"]
    assert final["B2"] == final["B1"] == ids(state)["B1"]


def test_a_reordered_redelivery_is_not_a_change(model_json, engine, kit, full_run):
    k = kit
    parties = k.frame(k.ALICE_CORE, k.BOB, k.rec("Z9", "zed", "zulu", k.D1))
    edges, state, queue = full_run(parties, model_json, engine)
    moved = parties.reverse().with_columns(source_file=pl.lit("g.csv"))
    result = step(parties, moved, edges, state, queue, model_json, engine, run="r1")
    assert result.state is state
    assert result.delta.moved.height == 3
    assert_frame_equal(result.state.clusters, state.clusters)


def test_batch_edges_match_the_full_runs_edges(model_json, engine, kit, full_run):
    k = kit
    base = k.frame(k.ALICE_CORE, k.BOB)
    edges, state, queue = full_run(base, model_json, engine)
    grown = k.frame(k.ALICE_CORE, k.BOB, k.ALICE_CARD, k.ALICE_DIGITAL)
    result = step(base, grown, edges, state, queue, model_json, engine, run="r1")
    full_edges, _, _ = full_run(grown, model_json, engine)
    pairs = ["source_l", "record_id_l", "source_r", "record_id_r"]
    assert_frame_equal(
        result.edges.select(*pairs, "match_reason").sort(pairs),
        full_edges.select(*pairs, "match_reason").sort(pairs),
    )


def test_a_value_that_becomes_a_placeholder_is_rescored_as_a_full_run_would(
    model_json, engine, kit, full_run
):
    k = kit
    shared = "noemail@bank.com"
    # Two records of one person who shares a default e-mail with seven others: nine holders, one
    # short of the placeholder threshold (10) among 150 ordinary records.
    twins = [
        k.rec("P1", "dana", "frost", k.D1, email=shared, address="1 elm st", postcode="10001"),
        k.rec(
            "P2",
            "dana",
            "frost",
            k.D1,
            source="card_holders",
            email=shared,
            address="2 oak st",
            postcode="20002",
        ),
    ]
    others = [
        k.rec(f"S{i}", f"given{i}", f"family{i}", k.D2 + dt.timedelta(days=40 * i), email=shared)
        for i in range(7)
    ]
    filler = [
        k.rec(f"F{i}", f"first{i}", f"last{i}", k.D3 + dt.timedelta(days=i), email=f"f{i}@mail.com")
        for i in range(150)
    ]
    base = k.frame(*twins, *others, *filler)
    edges, state, queue = full_run(base, model_json, engine)
    tenth = k.rec("S9", "erin", "moss", k.D2 + dt.timedelta(days=999), email=shared)
    grown = k.frame(*twins, *others, *filler, tenth)

    result = step(base, grown, edges, state, queue, model_json, engine, run="r1")
    full_edges, _, _ = full_run(grown, model_json, engine)

    pairs = ["source_l", "record_id_l", "source_r", "record_id_r"]
    twin_pair = pl.col("record_id_l").is_in(["P1", "P2"]) & pl.col("record_id_r").is_in(["P1", "P2"])
    before = edges.filter(twin_pair)["match_probability"].item()
    # The e-mail is evidence no more: the twins' edge is weighed without it, exactly as in a full run.
    assert_frame_equal(
        result.edges.filter(twin_pair).select(*pairs, "gamma_email", "match_probability"),
        full_edges.filter(twin_pair).select(*pairs, "gamma_email", "match_probability"),
        check_exact=False,
    )
    assert result.edges.filter(twin_pair)["match_probability"].item() < before
    assert result.scored_records == 1 + 9
    assert_frame_equal(result.edges.select(pairs).sort(pairs), full_edges.select(pairs).sort(pairs))


@pytest.mark.parametrize("kept_state", [False, True], ids=["recomputed", "kept_linkage_state"])
def test_a_value_that_becomes_rarer_lifts_a_pair_never_stored_as_a_full_run_would(
    model_json, engine, kit, full_run, kept_state
):
    k = kit
    shared = "home@mail.com"
    # Anna and Dan share a birth date, a family name and a household e-mail that eight others also
    # use: the e-mail is weak evidence, and their pair scores below the edge floor, so no edge
    # is stored for it.
    anna = k.rec("P1", "anna", "frost", k.D1, email=shared, address="1 elm st", postcode="10001")
    dan = k.rec(
        "P2", "dan", "frost", k.D1, source="card_holders", email=shared, address="2 oak st", postcode="20002"
    )
    others = [
        k.rec(f"S{i}", f"given{i}", "frost", k.D2 + dt.timedelta(days=40 * i + 3), email=shared)
        for i in range(7)
    ]
    filler = [
        k.rec(f"F{i}", f"first{i}", f"last{i}", k.D3 + dt.timedelta(days=i), email=f"f{i}@mail.com")
        for i in range(150)
    ]
    base = k.frame(anna, dan, *others, *filler)
    edges, state, queue = full_run(base, model_json, engine)
    pair = pl.col("record_id_l").is_in(["P1", "P2"]) & pl.col("record_id_r").is_in(["P1", "P2"])
    assert edges.filter(pair).is_empty()
    # Six of the others are deleted: the e-mail is now shared by three records, and a full run
    # weighs the pair 2.4 bits higher, into the review band.
    today = k.frame(anna, dan, others[0], *filler)
    kept = population_linkage_state(base) if kept_state else None
    result = step(base, today, edges, state, queue, model_json, engine, run="r1", linkage_state=kept)
    full_edges, _, full_queue = full_run(today, model_json, engine)

    assert full_edges.filter(pair)["match_probability"].item() >= ClusteringPolicy().review_band[0]
    pairs = ["source_l", "record_id_l", "source_r", "record_id_r"]
    assert_frame_equal(
        result.edges.select(*pairs, "match_probability").sort(pairs),
        full_edges.select(*pairs, "match_probability").sort(pairs),
        check_exact=False,
    )
    assert_frame_equal(result.review_queue.select(pairs).sort(pairs), full_queue.select(pairs).sort(pairs))
    # Anna, Dan and the one other holder left: scored again; nobody else.
    assert result.scored_records == 3


@pytest.mark.parametrize("carried", [True, False], ids=["drift_carried", "drift_dropped"])
def test_a_value_losing_a_few_holders_a_day_lifts_a_pair_never_stored_as_a_full_run_would(
    model_json, engine, kit, full_run, carried
):
    k = kit
    # Anna and Dan share a birth date, an e-mail address and a family name that 40 others also have:
    # their pair scores below the edge floor, so no edge is stored for it.
    anna = k.rec("P1", "anna", "frost", k.D1, email="home@mail.com")
    dan = k.rec("P2", "dan", "frost", k.D1, source="card_holders", email="home@mail.com")
    others = [
        k.rec(f"S{i:02d}", f"given{i}", "frost", k.D2 + dt.timedelta(days=40 * i + 3)) for i in range(40)
    ]
    filler = [
        k.rec(f"F{i}", f"first{i}", f"last{i}", k.D3 + dt.timedelta(days=i), email=f"f{i}@mail.com")
        for i in range(150)
    ]

    def population(frosts: int) -> pl.DataFrame:
        return k.frame(anna, dan, *others[: frosts - 2], *filler)

    # A few of the family leave each day: no day lifts the pair by a quarter bit, eleven days by 1.5.
    frosts = [42, 37, 33, 29, 26, 23, 20, 18, 16, 14, 13, 12]
    pair = pl.col("record_id_l").is_in(["P1", "P2"]) & pl.col("record_id_r").is_in(["P1", "P2"])
    yesterday = population(frosts[0])
    edges, state, queue = full_run(yesterday, model_json, engine)
    assert edges.filter(pair).is_empty()
    kept = population_linkage_state(yesterday, model_json=model_json)
    for day, count in enumerate(frosts[1:], start=1):
        today = population(count)
        result = step(
            yesterday, today, edges, state, queue, model_json, engine, run=f"r{day}", linkage_state=kept
        )
        edges, state, queue, kept = result.edges, result.state, result.review_queue, result.linkage_state
        if not carried:
            kept = replace(kept, drift=kept.drift.clear())
        yesterday = today
    full_edges, full_state, full_queue = full_run(yesterday, model_json, engine)

    assert full_queue.filter(pair).height == 1
    pairs = ["source_l", "record_id_l", "source_r", "record_id_r"]
    if carried:
        assert_frame_equal(queue.select(pairs).sort(pairs), full_queue.select(pairs).sort(pairs))
        assert _partition(state) == _partition(full_state)
    else:
        # What the carried drift is for: judged one day at a time, the pair is never scored again.
        assert queue.filter(pair).is_empty()


def test_an_address_becoming_a_placeholder_lifts_pairs_sharing_its_local_part_as_a_full_run_would(
    model_json, engine, kit, full_run
):
    k = kit
    # Anna and Amy agree on the local part "info" of two different addresses: weak evidence while
    # nine other records use info@x.com, and their pair scores below the edge floor.
    anna = k.rec("P1", "anna", "frost", k.D1, email="info@y.com", postcode="10001", phone="+12125550101")
    amy = k.rec(
        "P2",
        "amy",
        "frost",
        dt.date(1980, 4, 3),
        source="card_holders",
        email="info@z.com",
        postcode="10001",
        phone="+12125550101",
    )
    frosts = [
        k.rec(f"S{i:02d}", f"given{i}", "frost", k.D2 + dt.timedelta(days=40 * i + 3)) for i in range(20)
    ]
    filler = [
        k.rec(f"F{i}", f"first{i}", f"last{i}", k.D3 + dt.timedelta(days=i), email=f"f{i}@mail.com")
        for i in range(100)
    ]
    info = [
        k.rec(f"I{i}", f"ix{i}", f"il{i}", k.D2 + dt.timedelta(days=3000 + 7 * i), email="info@x.com")
        for i in range(10)
    ]
    base = k.frame(anna, amy, *frosts, *filler, *info[:9])
    edges, state, queue = full_run(base, model_json, engine)
    pair = pl.col("record_id_l").is_in(["P1", "P2"]) & pl.col("record_id_r").is_in(["P1", "P2"])
    assert edges.filter(pair).is_empty()
    # A tenth holder makes info@x.com a placeholder: nulled, with its local part, on all ten, so
    # "info" is left to Anna and Amy and their pair rises into the review band.
    today = k.frame(anna, amy, *frosts, *filler, *info)
    kept = population_linkage_state(base, model_json=model_json)
    result = step(base, today, edges, state, queue, model_json, engine, run="r1", linkage_state=kept)
    _, full_state, full_queue = full_run(today, model_json, engine)

    assert full_queue.filter(pair).height == 1
    pairs = ["source_l", "record_id_l", "source_r", "record_id_r"]
    assert_frame_equal(result.review_queue.select(pairs).sort(pairs), full_queue.select(pairs).sort(pairs))
    assert _partition(result.state) == _partition(full_state)


def test_a_column_filled_in_on_many_records_scores_every_pair_again(model_json, engine, kit, full_run):
    k = kit

    def person(i: int, *, email: bool) -> dict[str, object]:
        return k.rec(
            f"F{i}",
            f"first{i}",
            f"last{i}",
            k.D3 + dt.timedelta(days=i),
            email=f"f{i}@mail.com" if email else None,
        )

    base = k.frame(*(person(i, email=i < 50) for i in range(150)))
    edges, state, queue = full_run(base, model_json, engine)
    kept = population_linkage_state(base, model_json=model_json)
    # A quiet day: one new record. It goes on incrementally and records its population.
    quiet = k.frame(*(person(i, email=i < 50) for i in range(151)))
    result = step(base, quiet, edges, state, queue, model_json, engine, run="r1", linkage_state=kept)
    assert result.linkage_state is not None and result.linkage_state.populations is not None
    assert result.linkage_state.populations["records"].to_list() == [150, 151]
    # E-mails filled in on 100 more records: every address is three times rarer (1.6 bits).
    filled = k.frame(*(person(i, email=True) for i in range(151)))
    with pytest.raises(FullScoringNeeded, match=r"scored in full \(150 -> 151 records\)"):
        step(
            quiet,
            filled,
            result.edges,
            result.state,
            result.review_queue,
            model_json,
            engine,
            run="r2",
            linkage_state=result.linkage_state,
        )


def test_a_guarded_component_is_split_again_by_todays_weights(model_json, engine, kit, full_run):
    k = kit
    # Z links both X and Y, whose national-ID tokens differ: the guard keeps Z's stronger link.
    x = k.rec(
        "X1", "alice", "smith", k.D1, token="tA", email="a.s@mail.com", address="1 main st", postcode="10001"
    )
    y = k.rec(
        "Y1",
        "alice",
        "smith",
        k.D1,
        source="mortgage_borrowers",
        token="tB",
        phone="+12125550101",
        address="1 main st",
        postcode="10001",
    )
    z = k.rec(
        "Z1",
        "alice",
        "smith",
        k.D1,
        source="card_holders",
        email="a.s@mail.com",
        phone="+12125550101",
        address="1 main st",
        postcode="10001",
    )
    filler = [
        k.rec(f"F{i}", f"first{i}", f"last{i}", k.D3 + dt.timedelta(days=i), email=f"f{i}@mail.com")
        for i in range(150)
    ]
    base = k.frame(x, y, z, *filler)
    edges, _, _ = full_run(base, model_json, engine)
    # Yesterday's weights ordered Z's two links the other way round (term frequencies and the prior
    # move every day); both links stay above the threshold, so no link changes status today.
    from_z = pl.col("record_id_l") == "Z1"
    z_to_x, z_to_y = from_z & (pl.col("record_id_r") == "X1"), from_z & (pl.col("record_id_r") == "Y1")
    weight_to_x = edges.filter(z_to_x)["match_weight"].item()
    weight_to_y = edges.filter(z_to_y)["match_weight"].item()
    assert weight_to_x > weight_to_y
    stale = edges.with_columns(
        match_weight=pl.when(z_to_x)
        .then(weight_to_y)
        .when(z_to_y)
        .then(weight_to_x)
        .otherwise("match_weight")
    )
    stale_clusters = cluster_records(base, stale, policy=ClusteringPolicy())
    state = assign_stable_ids(stale_clusters.assignments, None, run_id="r0", run_time=dt.datetime(2026, 1, 1))
    assert ids(state)["Z1"] == ids(state)["Y1"] != ids(state)["X1"]
    grown = k.frame(x, y, z, *filler, k.rec("N1", "nora", "quinn", k.D2, email="nora@q.com"))

    result = step(base, grown, stale, state, stale_clusters.review_queue, model_json, engine, run="r1")

    _, full_state, _ = full_run(grown, model_json, engine)
    assert ids(full_state)["Z1"] == ids(full_state)["X1"] != ids(full_state)["Y1"]
    assert ids(result.state)["Z1"] == ids(result.state)["X1"] != ids(result.state)["Y1"]
    assert not set(result.affected_customer_ids.to_list()) & {
        customer for record, customer in ids(result.state).items() if record.startswith("F")
    }


def test_only_guarded_components_whose_links_reorder_are_named():
    from cdp.incremental.resolve import _reordered_guard_records

    def edges(*rows):
        return pl.DataFrame(
            [("s", left, "s", right, probability, weight) for left, right, probability, weight in rows],
            schema=[
                "source_l",
                "record_id_l",
                "source_r",
                "record_id_r",
                "match_probability",
                "match_weight",
            ],
            orient="row",
        )

    # Two guarded components (a-b-c refused b-c, x-y-z refused y-z) and one unguarded (p-q).
    before = edges(
        ("a", "b", 0.99, 9.0), ("a", "c", 0.98, 8.0), ("b", "c", 0.97, 7.0),
        ("x", "y", 0.99, 9.0), ("x", "z", 0.98, 8.0), ("y", "z", 0.95, 6.0),
        ("p", "q", 0.99, 9.0), ("p", "r", 0.95, 5.0),
    )  # fmt: skip
    # Today a-c outweighs a-b; x-y-z keeps its order (all shift alike); p-r falls below the
    # threshold and p-q reorders but nothing there was guarded.
    after = edges(
        ("a", "b", 0.99, 9.1), ("a", "c", 0.99, 9.5), ("b", "c", 0.97, 7.1),
        ("x", "y", 0.99, 9.2), ("x", "z", 0.98, 8.2), ("y", "z", 0.95, 6.2),
        ("p", "q", 0.99, 4.0), ("p", "r", 0.50, 1.0),
    )  # fmt: skip
    queue = edges(("b", "c", 0.97, 7.0), ("y", "z", 0.95, 6.0), ("p", "q", 0.99, 9.0)).with_columns(
        reason=pl.Series(["national_id_conflict", "cannot_link", "review_band"])
    )

    named = _reordered_guard_records(before, after, queue, threshold=0.9)

    assert sorted(named["record_id"].to_list()) == ["a", "b", "c"]
