"""Loading definitions, evaluating them, explaining a membership."""

from __future__ import annotations

import datetime as dt
import textwrap
from pathlib import Path

import polars as pl
import pytest
from polars.testing import assert_frame_equal

from cdp.errors import ConfigError, NotFoundError
from cdp.segments import SegmentDefinition, evaluate_segments, explain_membership, load_segments

AS_OF = dt.date(2024, 6, 30)


def _yaml(tmp_path: Path, body: str) -> Path:
    path = tmp_path / "segments.yaml"
    path.write_text(textwrap.dedent(body))
    return path


def test_starter_set_covers_life_stage_value_behaviour_and_life_events() -> None:
    segments = load_segments()
    names = {segment.name for segment in segments}
    assert {
        "young_adult",
        "family_forming",
        "pre_retiree",
        "retiree",
        "mass_market",
        "mass_affluent",
        "affluent",
        "digitally_active",
        "dormant",
        "salary_headroom_savers",
        "heavy_card_revolvers",
        "new_job",
        "recently_moved",
        "mortgage_intent",
        "salary_stopped",
    } <= names
    assert {tag for segment in segments for tag in segment.tags} == {
        "life_stage",
        "value_tier",
        "behaviour",
        "life_event",
    }
    assert all(segment.owner and segment.description and segment.version >= 1 for segment in segments)
    assert [s.name for s in segments if s.credit] == ["mortgage_intent"]


def test_custom_file_loads(tmp_path: Path) -> None:
    path = _yaml(
        tmp_path,
        """
        segments:
          - {name: adults, description: Grown-ups, owner: me, version: 3, rule: age >= 18, credit: true}
    """,
    )
    assert load_segments(path) == (
        SegmentDefinition("adults", "Grown-ups", "me", 3, "age >= 18", credit=True),
    )


@pytest.mark.parametrize(
    ("body", "problem"),
    [
        (
            "segments: [{name: a, description: d, owner: o, version: 1, rule: 'agee > 1'}]",
            r"segments\[0\]: segment 'a': unknown column 'agee'",
        ),
        (
            "segments: [{name: a, description: d, owner: o, version: 1, rule: 'age > 1; drop table t'}]",
            "';' is not allowed",
        ),
        (
            "segments: [{name: Bad-Name, description: d, owner: o, version: 1, rule: age > 1}]",
            "lower_snake_case",
        ),
        ("segments: [{name: a, description: d, owner: o, version: 0, rule: age > 1}]", "positive integer"),
        ("segments: [{name: a, description: d, version: 1, rule: age > 1}]", "'owner' must be"),
        (
            "segments: [{name: a, description: d, owner: o, version: 1, rule: age > 1, colour: red}]",
            "unknown field",
        ),
        (
            "segments:\n- {name: a, description: d, owner: o, version: 1, rule: age > 1}\n"
            "- {name: a, description: e, owner: o, version: 1, rule: age > 2}",
            "declared twice",
        ),
        ("segments: {a: 1}", "'segments' list"),
        ("segments: [unclosed", "invalid YAML"),
    ],
)
def test_bad_definitions_name_the_file_and_segment(tmp_path: Path, body: str, problem: str) -> None:
    path = _yaml(tmp_path, body)
    with pytest.raises(ConfigError, match=problem) as raised:
        load_segments(path)
    assert str(path) in str(raised.value)


def test_missing_file_is_a_config_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="cannot read segments file"):
        load_segments(tmp_path / "nope.yaml")


CUSTOMERS = pl.DataFrame(
    {
        "customer_id": ["a", "b", "c", "d"],
        "date_of_birth": [dt.date(2000, 7, 1), dt.date(2000, 6, 30), None, dt.date(1950, 1, 1)],
        "age": [99, 99, 22, 99],  # stale 360 ages: recomputed from the birth date
        "do_not_contact": [False, False, True, None],
    }
)
FEATURES = pl.DataFrame(
    {
        "customer_id": ["a", "b", "c"],
        "as_of": [AS_OF] * 3,
        "days_since_move": [10, None, 200],
        "deposit_balance": [100.0, 30000.0, 0.0],
    }
)
SEGMENTS = (
    SegmentDefinition("young", "18-29", "me", 2, "age BETWEEN 18 AND 29"),
    SegmentDefinition("moved", "moved lately", "me", 1, "days_since_move <= 90"),
    SegmentDefinition("rich", "deposits", "me", 1, "deposit_balance >= 25000"),
    SegmentDefinition("nobody", "empty", "me", 1, "deposit_balance < 0"),
)


def test_evaluate_returns_current_members_with_point_in_time_age() -> None:
    current = evaluate_segments(SEGMENTS, customers=CUSTOMERS, features=FEATURES, as_of=AS_OF)
    # a is 23 (24 tomorrow), b turned 24 today, c has no birth date so the 360's 22 stands, d is 74
    expected = pl.DataFrame(
        {
            "segment": ["moved", "rich", "young", "young", "young"],
            "segment_version": [1, 1, 2, 2, 2],
            "customer_id": ["a", "b", "a", "b", "c"],
        }
    ).sort("segment", "customer_id")
    assert_frame_equal(current, expected)


def test_rule_over_a_column_the_tables_lack_fails_at_evaluation() -> None:
    segment = SegmentDefinition("savers", "d", "me", 1, "safe_to_save > 100")
    with pytest.raises(ConfigError, match="segment 'savers': unknown column 'safe_to_save'"):
        evaluate_segments([segment], customers=CUSTOMERS, features=FEATURES, as_of=AS_OF)


def test_explain_names_the_deciding_conditions_and_their_values() -> None:
    segment = SegmentDefinition(
        "young_movers",
        "d",
        "me",
        1,
        "age BETWEEN 18 AND 29 AND (days_since_move <= 90 OR deposit_balance > 1000)",
    )
    member = explain_membership(segment, "a", customers=CUSTOMERS, features=FEATURES)
    assert member.is_member
    assert [(c.condition, c.result, c.values, c.decisive) for c in member.conditions] == [
        ("age BETWEEN 18 AND 29", True, {"age": 23}, True),
        ("days_since_move <= 90", True, {"days_since_move": 10}, True),
        ("deposit_balance > 1000", False, {"deposit_balance": 100.0}, False),
    ]
    outsider = explain_membership(segment, "c", customers=CUSTOMERS, features=FEATURES)
    assert not outsider.is_member
    assert [(c.result, c.decisive) for c in outsider.conditions] == [
        (True, False),
        (False, True),
        (False, True),
    ]
    unknown = explain_membership(segment, "d", customers=CUSTOMERS, features=FEATURES)
    assert [c.result for c in unknown.conditions] == [False, None, None]
    assert "is NOT in young_movers" in unknown.describe()


def test_explain_unknown_customer() -> None:
    with pytest.raises(NotFoundError, match="'zz'"):
        explain_membership(SEGMENTS[0], "zz", customers=CUSTOMERS, features=FEATURES)
