"""Segment rules: one boolean SQL-like expression, checked against an allow-list, run as Polars.

A rule is parsed with sqlglot and every node of the tree must be one of: a column of the known
tables (unqualified), a literal (number, string, TRUE/FALSE, NULL, ``DATE 'yyyy-mm-dd'``), a
comparison (``= <> != < <= > >=``), ``AND OR NOT``, arithmetic (``+ - * / %``), ``IN (...)``,
``BETWEEN``, ``IS [NOT] NULL|TRUE|FALSE``, or one of the pure functions in ``FUNCTIONS``.
Anything else (subqueries, unknown columns or functions, several statements, comments, casts,
``LIKE``, string literals carrying quote or comment characters) is refused with a ``ConfigError``
naming the segment and the problem. Nothing is ever handed to a SQL engine: the checked tree is
translated node by node into a Polars expression, with SQL's three-valued logic (a comparison with
NULL is unknown, and an unknown rule does not select the customer).
"""

from __future__ import annotations

import datetime as dt
import difflib
import functools
import operator
from collections.abc import Callable, Mapping
from dataclasses import dataclass

import polars as pl
import sqlglot
from sqlglot import TokenType, exp
from sqlglot.errors import ParseError, TokenError

from cdp.errors import ConfigError

MAX_RULE_LENGTH = 4000
MAX_DEPTH = 100
DIALECT = "duckdb"
#: Allowed functions, by sqlglot node type, with the name users write.
FUNCTIONS: Mapping[type[exp.Expr], str] = {
    exp.Coalesce: "coalesce",
    exp.Abs: "abs",
    exp.Least: "least",
    exp.Greatest: "greatest",
    exp.Round: "round",
    exp.Lower: "lower",
    exp.Upper: "upper",
}
_SUSPICIOUS = ("'", '"', ";", "--", "/*", "*/", "\\")
_COMPARISONS: Mapping[type[exp.Expr], Callable[[pl.Expr, pl.Expr], pl.Expr]] = {
    exp.EQ: operator.eq,
    exp.NEQ: operator.ne,
    exp.GT: operator.gt,
    exp.GTE: operator.ge,
    exp.LT: operator.lt,
    exp.LTE: operator.le,
}
_ARITHMETIC: Mapping[type[exp.Expr], Callable[[pl.Expr, pl.Expr], pl.Expr]] = {
    exp.Add: operator.add,
    exp.Sub: operator.sub,
    exp.Mul: operator.mul,
}
#: Leaf-level predicates: the conditions an explanation reports one by one.
CONDITION_TYPES: tuple[type[exp.Expr], ...] = (*_COMPARISONS, exp.Is, exp.In, exp.Between)

Kind = str  # "number" | "string" | "boolean" | "date" | "null"


@dataclass(frozen=True)
class CompiledRule:
    """A validated rule: its parsed tree, the Polars expression and the columns it reads.

    ``expr`` keeps SQL's unknown (null) result; :attr:`predicate` turns unknown into false.
    """

    rule: str
    tree: exp.Expr
    expr: pl.Expr
    columns: tuple[str, ...]

    @property
    def predicate(self) -> pl.Expr:
        return self.expr.fill_null(False)


def _kind_of(dtype: pl.DataType) -> Kind | None:
    if dtype == pl.Null:
        return "null"
    if dtype.is_numeric():
        return "number"
    if dtype == pl.String:
        return "string"
    if dtype == pl.Boolean:
        return "boolean"
    if dtype == pl.Date or isinstance(dtype, pl.Datetime):
        return "date"
    return None


class RuleCompiler:
    """Translate a checked sqlglot tree into a Polars expression, refusing anything not allowed."""

    def __init__(self, columns: Mapping[str, pl.DataType], *, segment: str | None = None) -> None:
        self.columns = dict(columns)
        self._lower = {name.lower(): name for name in columns}
        self.where = f"segment {segment!r}" if segment else "segment rule"
        self.used: list[str] = []

    def fail(self, problem: str) -> ConfigError:
        return ConfigError(f"{self.where}: {problem}")

    def parse(self, rule: str) -> exp.Expr:
        """Parse ``rule`` into one expression tree, refusing statements, comments and oversize input."""
        if not isinstance(rule, str) or not rule.strip():
            raise self.fail("the rule is empty")
        if len(rule) > MAX_RULE_LENGTH:
            raise self.fail(f"the rule is longer than {MAX_RULE_LENGTH} characters")
        try:
            tokens = sqlglot.Dialect.get_or_raise(DIALECT).tokenize(rule)
        except TokenError as error:
            raise self.fail(f"cannot read the rule: {error}") from None
        if any(token.token_type == TokenType.SEMICOLON for token in tokens):
            raise self.fail("';' is not allowed: a rule is one expression, not statements")
        if any(token.comments for token in tokens):
            raise self.fail("comments are not allowed in a rule")
        # The parser recurses per nesting level: refuse deep nesting before it runs out of stack.
        depth = unary = 0
        for token in tokens:
            depth += {TokenType.L_PAREN: 1, TokenType.R_PAREN: -1}.get(token.token_type, 0)
            unary = unary + 1 if token.token_type in (TokenType.NOT, TokenType.DASH) else 0
            if depth > MAX_DEPTH or unary > MAX_DEPTH:
                raise self.fail(f"the rule is nested more than {MAX_DEPTH} levels deep")
        try:
            trees = sqlglot.parse(rule, read=DIALECT)
        except ParseError as error:
            first = str(error).splitlines()[0]
            raise self.fail(f"cannot parse the rule: {first}") from None
        except RecursionError:
            raise self.fail("the rule is nested too deeply") from None
        if len(trees) != 1 or trees[0] is None:
            raise self.fail("a rule must be exactly one expression")
        return trees[0]

    def compile(self, rule: str) -> CompiledRule:
        """Parse, check and translate ``rule``; it must be a boolean condition."""
        tree = self.parse(rule)
        try:
            expr, kind = self.node(tree)
        except RecursionError:
            raise self.fail("the rule is nested too deeply") from None
        if kind != "boolean":
            raise self.fail(f"the rule must be a true/false condition, but it is a {kind} value")
        return CompiledRule(rule=rule, tree=tree, expr=expr, columns=tuple(dict.fromkeys(self.used)))

    def node(self, node: exp.Expr, depth: int = 0) -> tuple[pl.Expr, Kind]:
        """The Polars expression and value kind of one node (recursively)."""
        if depth > MAX_DEPTH:
            raise self.fail(f"the rule is nested more than {MAX_DEPTH} levels deep")
        if node.comments:
            raise self.fail("comments are not allowed in a rule")
        sub = functools.partial(self.node, depth=depth + 1)
        if isinstance(node, exp.Paren):
            return sub(node.this)
        if isinstance(node, exp.Column):
            return self._column(node)
        if isinstance(node, exp.Literal | exp.Boolean | exp.Null | exp.Cast):
            return self._literal(node)
        if isinstance(node, exp.And | exp.Or):
            (left, lk), (right, rk) = sub(node.left), sub(node.right)
            self._expect(node, "boolean", lk, rk)
            return (left & right if isinstance(node, exp.And) else left | right), "boolean"
        if isinstance(node, exp.Not):
            inner, kind = sub(node.this)
            self._expect(node, "boolean", kind)
            return ~inner, "boolean"
        if isinstance(node, exp.Binary) and type(node) in _COMPARISONS:
            (left, right), _ = self._comparable(node, [node.left, node.right], depth)
            return _COMPARISONS[type(node)](left, right), "boolean"
        if isinstance(node, exp.Binary) and (
            type(node) in _ARITHMETIC or isinstance(node, exp.Div | exp.Mod)
        ):
            (left, lk), (right, rk) = sub(node.left), sub(node.right)
            self._expect(node, "number", lk, rk)
            if isinstance(node, exp.Div | exp.Mod):
                # SQL engines answer NULL, not infinity, for a division by zero.
                result = left / right if isinstance(node, exp.Div) else left % right
                return pl.when(right != 0).then(result), "number"
            return _ARITHMETIC[type(node)](left, right), "number"
        if isinstance(node, exp.Neg):
            inner, kind = sub(node.this)
            self._expect(node, "number", kind)
            return -inner, "number"
        if isinstance(node, exp.Is):
            return self._is(node, depth)
        if isinstance(node, exp.In):
            return self._in(node, depth)
        if isinstance(node, exp.Between):
            (value, low, high), _ = self._comparable(
                node, [node.this, node.args["low"], node.args["high"]], depth
            )
            return (value >= low) & (value <= high), "boolean"
        if type(node) in FUNCTIONS:
            return self._function(node, depth)
        raise self.fail(self._refusal(node))

    def _refusal(self, node: exp.Expr) -> str:
        snippet = node.sql(dialect=DIALECT)[:60]
        if isinstance(node, exp.Subquery | exp.Select | exp.Query):
            return f"subqueries are not allowed ({snippet!r})"
        allowed = ", ".join(sorted(FUNCTIONS.values()))
        if isinstance(node, exp.Anonymous):
            return f"unknown function {node.name}() (allowed: {allowed})"
        if isinstance(node, exp.Func):
            return f"function {node.sql_name().lower()}() is not allowed (allowed: {allowed})"
        return f"{type(node).__name__.upper()} is not allowed in a rule ({snippet!r})"

    def _column(self, node: exp.Column) -> tuple[pl.Expr, Kind]:
        if node.table or node.args.get("db") or node.args.get("catalog"):
            raise self.fail(f"use the bare column name, not {node.sql(dialect=DIALECT)!r}")
        identifier = node.this
        if not isinstance(identifier, exp.Identifier):
            raise self.fail(f"{node.sql(dialect=DIALECT)!r} is not a column name")
        name = (
            identifier.this
            if identifier.quoted
            else self._lower.get(identifier.this.lower(), identifier.this)
        )
        if name not in self.columns:
            close = difflib.get_close_matches(name, list(self.columns), n=3)
            hint = f"; did you mean {', '.join(close)}?" if close else ""
            raise self.fail(f"unknown column {name!r}{hint}")
        kind = _kind_of(self.columns[name])
        if kind is None:
            raise self.fail(f"column {name!r} of type {self.columns[name]} cannot be used in a rule")
        self.used.append(name)
        return pl.col(name), kind

    def _literal(self, node: exp.Expr) -> tuple[pl.Expr, Kind]:
        if isinstance(node, exp.Null):
            return pl.lit(None), "null"
        if isinstance(node, exp.Boolean):
            return pl.lit(bool(node.this)), "boolean"
        if isinstance(node, exp.Cast):
            target = node.args.get("to")
            if (
                isinstance(node.this, exp.Literal)
                and node.this.is_string
                and isinstance(target, exp.DataType)
                and target.this == exp.DataType.Type.DATE
            ):
                return pl.lit(self._date(node.this.this)), "date"
            raise self.fail(
                f"casts are not allowed, only DATE 'yyyy-mm-dd' literals ({node.sql(dialect=DIALECT)!r})"
            )
        assert isinstance(node, exp.Literal)
        text = str(node.this)
        if node.is_string:
            if any(mark in text for mark in _SUSPICIOUS) or any(ord(char) < 32 for char in text):
                raise self.fail(f"string literal {text[:40]!r} contains quote, comment or control characters")
            return pl.lit(text), "string"
        try:
            number: int | float = int(text)
        except ValueError:
            try:
                number = float(text)
            except ValueError:
                raise self.fail(f"{text!r} is not a number") from None
        return pl.lit(number), "number"

    def _date(self, text: str) -> dt.date:
        try:
            return dt.date.fromisoformat(text)
        except ValueError:
            raise self.fail(f"{text!r} is not a date (use yyyy-mm-dd)") from None

    def _expect(self, node: exp.Expr, want: Kind, *kinds: Kind) -> None:
        for kind in kinds:
            if kind not in (want, "null"):
                raise self.fail(f"{node.sql(dialect=DIALECT)!r} needs {want} values, got a {kind} value")

    def _comparable(self, node: exp.Expr, parts: list[exp.Expr], depth: int) -> tuple[list[pl.Expr], Kind]:
        """Compile operands that must share one kind; string literals compared with dates become dates."""
        compiled = [self.node(part, depth + 1) for part in parts]
        kinds = {kind for _, kind in compiled} - {"null"}
        if kinds == {"date", "string"}:
            exprs = []
            for part, (expr, kind) in zip(parts, compiled, strict=True):
                if kind == "string" and not isinstance(part, exp.Literal):
                    raise self.fail(f"{node.sql(dialect=DIALECT)!r} compares date and string values")
                exprs.append(pl.lit(self._date(str(part.this))) if kind == "string" else expr)
            return exprs, "date"
        if len(kinds) > 1:
            raise self.fail(f"{node.sql(dialect=DIALECT)!r} compares {' and '.join(sorted(kinds))} values")
        return [expr for expr, _ in compiled], (kinds.pop() if kinds else "null")

    def _is(self, node: exp.Is, depth: int) -> tuple[pl.Expr, Kind]:
        value, kind = self.node(node.this, depth + 1)
        target = node.expression
        if isinstance(target, exp.Null):
            return value.is_null(), "boolean"
        if isinstance(target, exp.Boolean):
            self._expect(node, "boolean", kind)
            return (value == pl.lit(bool(target.this))).fill_null(False), "boolean"
        raise self.fail(f"IS must be followed by NULL, TRUE or FALSE ({node.sql(dialect=DIALECT)!r})")

    def _in(self, node: exp.In, depth: int) -> tuple[pl.Expr, Kind]:
        if node.args.get("query") or node.args.get("unnest") or node.args.get("field"):
            raise self.fail(f"IN takes a list of values, not a subquery ({node.sql(dialect=DIALECT)[:60]!r})")
        items = node.expressions
        if not items:
            raise self.fail("IN needs at least one value")
        (value, *options), _ = self._comparable(node, [node.this, *items], depth)
        # OR of equalities keeps SQL's semantics for NULL on either side.
        return functools.reduce(operator.or_, [value == option for option in options]), "boolean"

    def _function(self, node: exp.Expr, depth: int) -> tuple[pl.Expr, Kind]:
        name = FUNCTIONS[type(node)]
        if isinstance(node, exp.Coalesce | exp.Least | exp.Greatest):
            exprs, kind = self._comparable(node, [node.this, *node.expressions], depth)
            if name == "coalesce":
                return pl.coalesce(exprs), kind
            return (pl.min_horizontal(exprs) if name == "least" else pl.max_horizontal(exprs)), kind
        value, kind = self.node(node.this, depth + 1)
        if isinstance(node, exp.Lower | exp.Upper):
            self._expect(node, "string", kind)
            return (value.str.to_lowercase() if name == "lower" else value.str.to_uppercase()), "string"
        self._expect(node, "number", kind)
        if isinstance(node, exp.Abs):
            return value.abs(), "number"
        decimals = node.args.get("decimals")
        places = 0
        if decimals is not None:
            if not (
                isinstance(decimals, exp.Literal) and not decimals.is_string and str(decimals.this).isdigit()
            ):
                raise self.fail("round() takes a whole number of decimal places")
            places = int(str(decimals.this))
        return value.round(places), "number"


def compile_rule(
    rule: str, *, columns: Mapping[str, pl.DataType], segment: str | None = None
) -> CompiledRule:
    """Check ``rule`` and translate it to Polars.

    Args:
        rule: The rule text.
        columns: Columns the rule may reference, with their dtypes.
        segment: Segment name, for error messages.

    Raises:
        ConfigError: The rule is not allowed, names an unknown column or is not a condition.

    Example:
        >>> compiled = compile_rule("age BETWEEN 18 AND 25", columns={"age": pl.Int64()})
        >>> pl.DataFrame({"age": [17, 20, None]}).select(compiled.predicate).to_series().to_list()
        [False, True, False]
    """
    return RuleCompiler(columns, segment=segment).compile(rule)


def validate_segment_rule(
    rule: str, *, columns: Mapping[str, pl.DataType], segment: str | None = None
) -> None:
    """Raise ``ConfigError`` unless ``rule`` is an allowed boolean expression over ``columns``.

    Example:
        >>> validate_segment_rule("age > 1; DROP TABLE x", columns={"age": pl.Int64()})
        Traceback (most recent call last):
        ...
        cdp.errors.ConfigError: segment rule: ';' is not allowed: a rule is one expression, not statements
    """
    compile_rule(rule, columns=columns, segment=segment)
