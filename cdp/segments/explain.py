"""Why a customer is (or is not) in a segment: each condition, its result and the values it read."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any

import polars as pl
from sqlglot import exp

from cdp.errors import NotFoundError
from cdp.segments.definitions import SegmentDefinition
from cdp.segments.evaluate import segment_frame
from cdp.segments.rules import CONDITION_TYPES, DIALECT, RuleCompiler


@dataclass(frozen=True)
class ConditionResult:
    """One condition of a rule evaluated for one customer.

    Attributes:
        condition: The condition as SQL text.
        result: True, False, or None when a value it needs is missing (unknown).
        values: The customer's value of every column the condition reads.
        decisive: Whether this condition decided the outcome (all conditions of a met AND; the
            failing ones of an unmet AND; the met ones of a met OR ...).
    """

    condition: str
    result: bool | None
    values: dict[str, Any] = field(default_factory=dict)
    decisive: bool = False


@dataclass(frozen=True)
class MembershipExplanation:
    """Whether a customer meets a segment's rule, condition by condition."""

    segment: str
    segment_version: int
    customer_id: str
    rule: str
    is_member: bool
    conditions: tuple[ConditionResult, ...]

    def describe(self) -> str:
        """A readable multi-line account, deciding conditions marked with '*'."""
        verdict = "IS" if self.is_member else "is NOT"
        lines = [
            f"customer {self.customer_id} {verdict} in {self.segment} (v{self.segment_version})",
            f"rule: {self.rule}",
        ]
        marks = {True: "true", False: "false", None: "unknown"}
        for condition in self.conditions:
            values = ", ".join(f"{name}={_shown(value)}" for name, value in condition.values.items())
            flag = "*" if condition.decisive else " "
            lines.append(f" {flag} {marks[condition.result]:>7}  {condition.condition}  [{values}]")
        return "\n".join(lines)


def explain_membership(
    segment: SegmentDefinition,
    customer_id: str,
    *,
    customers: pl.DataFrame,
    features: pl.DataFrame,
    as_of: dt.date | None = None,
) -> MembershipExplanation:
    """Evaluate ``segment``'s rule for one customer and report every condition.

    Args:
        segment: The definition.
        customer_id: The customer.
        customers: ``customer_360``.
        features: ``customer_features``.
        as_of: Date ages are computed on; defaults to the features' ``as_of`` (else today).

    Raises:
        NotFoundError: The customer is not in ``customers``.
        ConfigError: The rule is not allowed over these tables.

    Example:
        >>> seg = SegmentDefinition("adults", "18+", "me", 1, "age >= 18 AND email IS NOT NULL")
        >>> people = pl.DataFrame({"customer_id": ["a"], "age": [30], "email": [None]})
        >>> no_features = pl.DataFrame({"customer_id": ["a"]})
        >>> explain_membership(seg, "a", customers=people, features=no_features).is_member
        False
    """
    one = customers.filter(pl.col("customer_id") == customer_id)
    if one.is_empty():
        raise NotFoundError(f"customer {customer_id!r} is not in customer_360")
    one_features = features.filter(pl.col("customer_id") == customer_id)
    if as_of is None:
        as_of = (
            one_features["as_of"].item() if "as_of" in one_features.columns and one_features.height else None
        )
        as_of = as_of or dt.date.today()
    frame = segment_frame(customers=one, features=one_features, as_of=as_of).head(1)
    compiled = RuleCompiler(dict(frame.schema), segment=segment.name).compile(segment.rule)
    tree = compiled.tree
    overall = frame.select(compiled.predicate).item()

    leaves: list[exp.Expr] = []
    results: dict[int, bool | None] = {}
    values: dict[int, dict[str, Any]] = {}
    for leaf in _leaves(tree):
        leaf_compiler = RuleCompiler(dict(frame.schema), segment=segment.name)
        expr, _ = leaf_compiler.node(leaf)
        leaves.append(leaf)
        results[id(leaf)] = frame.select(expr).item()
        values[id(leaf)] = {name: frame[name].item() for name in dict.fromkeys(leaf_compiler.used)}
    decisive = _decisive(tree, results)
    return MembershipExplanation(
        segment=segment.name,
        segment_version=segment.version,
        customer_id=customer_id,
        rule=segment.rule,
        is_member=bool(overall),
        conditions=tuple(
            ConditionResult(
                condition=leaf.sql(dialect=DIALECT),
                result=results[id(leaf)],
                values=values[id(leaf)],
                decisive=id(leaf) in decisive,
            )
            for leaf in leaves
        ),
    )


def _leaves(node: exp.Expr) -> list[exp.Expr]:
    """Conditions: the operands of AND/OR/NOT that are not themselves AND/OR/NOT."""
    if isinstance(node, exp.Paren):
        return _leaves(node.this)
    if isinstance(node, exp.And | exp.Or):
        return _leaves(node.left) + _leaves(node.right)
    if isinstance(node, exp.Not) and not isinstance(node.this, CONDITION_TYPES):
        return _leaves(node.this)
    return [node]


def _value(node: exp.Expr, results: dict[int, bool | None]) -> bool | None:
    """Three-valued result of a node from its leaves' results."""
    if id(node) in results:
        return results[id(node)]
    if isinstance(node, exp.Paren):
        return _value(node.this, results)
    if isinstance(node, exp.Not):
        inner = _value(node.this, results)
        return None if inner is None else not inner
    assert isinstance(node, exp.And | exp.Or), "leaves are evaluated before their connectives"
    left, right = _value(node.left, results), _value(node.right, results)
    if isinstance(node, exp.And):
        return False if False in (left, right) else (None if None in (left, right) else True)
    return True if True in (left, right) else (None if None in (left, right) else False)


def _decisive(node: exp.Expr, results: dict[int, bool | None]) -> set[int]:
    """Leaves that decided the node's value: those agreeing with the outcome of each AND/OR."""
    if id(node) in results:
        return {id(node)}
    if isinstance(node, exp.Paren | exp.Not):
        return _decisive(node.this, results)
    assert isinstance(node, exp.And | exp.Or), "leaves are evaluated before their connectives"
    outcome = _value(node, results)
    children = [node.left, node.right]
    if isinstance(node, exp.And):
        deciding = children if outcome else [c for c in children if _value(c, results) is not True]
    else:
        deciding = [c for c in children if _value(c, results) is True] if outcome else children
    return set().union(*(_decisive(child, results) for child in deciding))


def _shown(value: object) -> str:
    """A deciding value as a person reads it: floats to at most 4 decimals, the rest as repr."""
    return f"{value:.4f}".rstrip("0").rstrip(".") if isinstance(value, float) else repr(value)
