"""Declarative, explainable customer segments with membership history.

Segments are declared in YAML (name, description, owner, version, rule); a rule is one boolean
SQL-like expression over ``customer_360`` and ``customer_features``, checked against an allow-list
with sqlglot and evaluated as a Polars expression, never as SQL.
"""

from __future__ import annotations

from cdp.segments.definitions import SegmentDefinition, load_segments
from cdp.segments.evaluate import evaluate_segments, segment_frame
from cdp.segments.explain import ConditionResult, MembershipExplanation, explain_membership
from cdp.segments.membership import current_members, membership_trend, update_membership_history
from cdp.segments.rules import compile_rule, validate_segment_rule

__all__ = [
    "ConditionResult",
    "MembershipExplanation",
    "SegmentDefinition",
    "compile_rule",
    "current_members",
    "evaluate_segments",
    "explain_membership",
    "load_segments",
    "membership_trend",
    "segment_frame",
    "update_membership_history",
    "validate_segment_rule",
]
