"""Field expressions of the source config: a column name or one scalar DuckDB SQL expression.

Expressions are checked with sqlglot (DuckDB dialect) when the config is loaded: exactly one
scalar expression, no subquery, statement, semicolon, comment, parameter, ``*``, alias,
aggregate, window, ``unnest``, or table / file / environment function (``read_csv``, ``glob``,
``getenv`` ...). Ingestion also evaluates them in a DuckDB connection that has no file-system
access, so a check that sqlglot misses still cannot read anything but the extract's own row.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import sqlglot
from sqlglot import exp
from sqlglot.errors import SqlglotError
from sqlglot.tokens import TokenType

_PLAIN_IDENTIFIER = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_SQL_WORDS = frozenset({"null", "true", "false"})

#: Function names (lower-case, sqlglot spelling or as written) that read outside the row.
_FORBIDDEN_FUNCTION_PREFIXES: tuple[str, ...] = (
    "read",
    "parquet_",
    "sniff_",
    "glob",
    "duckdb_",
    "pragma_",
    "sqlite_",
    "postgres_",
    "mysql_",
    "iceberg_",
    "delta_",
    "ducklake_",
    "http",
    "query",
    "getenv",
    "current_setting",
    "getvariable",
    "load",
    "install",
    "import",
    "export",
    "copy",
    "attach",
    "detach",
    "system",
    "which_secret",
    "unnest",
    "explode",
    "generate_subscripts",
    "json_execute",
    "arrow_scan",
    "python_",
)
_FORBIDDEN_NODES: tuple[tuple[type, str], ...] = (
    (exp.Query, "a subquery or statement"),
    (exp.Subquery, "a subquery"),
    (exp.Table, "a table reference"),
    (exp.Placeholder, "a parameter placeholder"),
    (exp.Parameter, "a parameter"),
    (exp.Star, "'*'"),
    (exp.Alias, "an alias (AS)"),
    (exp.AggFunc, "an aggregate function"),
    (exp.Window, "a window function"),
    (exp.Command, "a command"),
)
#: Constructs with which an expression deliberately yields NULL for a present value.
_NULL_BY_DESIGN: tuple[type[exp.Expression], ...] = (exp.Nullif, exp.Case, exp.If, exp.Null)


class ExpressionError(ValueError):
    """A field expression is not one safe scalar expression (message names the problem)."""


@dataclass(frozen=True)
class FieldExpression:
    """A validated field mapping: the SQL to evaluate and the source columns it reads.

    Attributes:
        text: As written in the config.
        sql: SQL to embed in a SELECT list (a quoted identifier for a plain column).
        columns: Source columns the expression reads, in order of appearance, without repeats.
        is_column: True when the mapping is a plain column name.
        null_by_design: True when the expression can deliberately give NULL for a present value
            (NULLIF, CASE, IF, NULL), so a NULL result is not a reject.
    """

    text: str
    sql: str
    columns: tuple[str, ...]
    is_column: bool
    null_by_design: bool


def quote_identifier(name: str) -> str:
    """A DuckDB double-quoted identifier.

    Example:
        >>> print(quote_identifier("first name"))
        "first name"
    """
    return '"' + name.replace('"', '""') + '"'


def _function_names(node: exp.Func) -> set[str]:
    names = {type(node).__name__.lower()}
    if isinstance(node, exp.Anonymous):
        names.add(str(node.name).lower())
    else:
        names.add(node.sql_name().lower())
    return names


def _check_tokens(text: str) -> None:
    try:
        tokens = sqlglot.tokenize(text, read="duckdb")
    except SqlglotError as err:
        raise ExpressionError(f"cannot be parsed as SQL ({str(err).splitlines()[0]})") from None
    for token in tokens:
        if token.token_type == TokenType.SEMICOLON:
            raise ExpressionError("must be a single expression without ';'")
        if token.comments:
            raise ExpressionError("must not contain SQL comments")


def parse_field_expression(text: str) -> FieldExpression:
    """Validate one config mapping and describe it.

    Args:
        text: A column name (``first_nm``), a quoted column (``'"First Name"'``) or a DuckDB
            scalar expression (``strptime(birth_dt, '%m/%d/%Y')``).

    Returns:
        The validated :class:`FieldExpression`.

    Raises:
        ExpressionError: The text is not one safe scalar expression.

    Example:
        >>> expression = parse_field_expression("concat_ws(' ', house_no, street)")
        >>> expression.columns, expression.is_column
        (('house_no', 'street'), False)
    """
    stripped = text.strip()
    if not stripped:
        raise ExpressionError("is empty")
    if _PLAIN_IDENTIFIER.fullmatch(stripped) and stripped.lower() not in _SQL_WORDS:
        # A bare word is always a column, even when it is also a SQL keyword (date, type, order).
        return FieldExpression(stripped, quote_identifier(stripped), (stripped,), True, False)
    _check_tokens(stripped)
    try:
        statements = sqlglot.parse(stripped, read="duckdb")
    except SqlglotError as err:
        raise ExpressionError(f"cannot be parsed as SQL ({str(err).splitlines()[0]})") from None
    if len(statements) != 1 or statements[0] is None:
        raise ExpressionError("must be exactly one expression")
    tree = statements[0]
    for node in tree.walk():
        for forbidden, label in _FORBIDDEN_NODES:
            if isinstance(node, forbidden):
                raise ExpressionError(f"must be a scalar expression, not {label}")
        if isinstance(node, exp.Func):
            for name in _function_names(node):
                if name.startswith(_FORBIDDEN_FUNCTION_PREFIXES):
                    raise ExpressionError(f"must not call {name}(): only functions of the row's own values")
    lambda_params = {
        str(param.name).lower() for node in tree.find_all(exp.Lambda) for param in node.expressions
    }
    columns: list[str] = []
    for column in tree.find_all(exp.Column):
        if column.table:
            raise ExpressionError(f"column '{column.sql(dialect='duckdb')}' must not be qualified")
        name = str(column.name)
        if name.lower() in lambda_params:
            continue
        if name.lower() not in {existing.lower() for existing in columns}:
            columns.append(name)
    if isinstance(tree, exp.Column):
        return FieldExpression(stripped, quote_identifier(columns[0]), tuple(columns), True, False)
    null_by_design = any(isinstance(node, _NULL_BY_DESIGN) for node in tree.walk())
    # The newline ends any construct sqlglot and DuckDB might read differently before ')'.
    return FieldExpression(stripped, f"(\n{stripped}\n)", tuple(columns), False, null_by_design)
