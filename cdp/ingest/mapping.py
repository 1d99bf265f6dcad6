"""Evaluate an entry's field expressions on one file's rows, tokenizing national IDs on the way.

Everything runs as one DuckDB query in a connection without file-system access, over the text
columns :mod:`cdp.ingest.readers` produced. Per row it yields:

- each canonical field as the expression produced it (blank text is null);
- for typed fields (dates, timestamps, amounts, counts, flags) a typed probe ``__cdp_typed_<field>``
  that the contracts check (the mapped frame itself keeps the produced value for standardization);
- ``national_id`` / ``national_id_last4`` replaced by ``national_id_token`` /
  ``national_id_last4_token`` inside the query, so the raw number never reaches a frame;
- ``__cdp_problems``: ``column<TAB>reason`` strings for expressions that failed on a present value
  (``TRY(...)`` gave NULL although every column it reads was non-blank) and for values that are not
  a valid date / number / flag.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import duckdb
import polars as pl
import pyarrow as pa

from cdp.errors import ConfigError
from cdp.ingest.expressions import FieldExpression, quote_identifier
from cdp.ingest.readers import LINE_COLUMN
from cdp.ingest.specs import KEY_COLUMN, SourceSpec
from cdp.privacy import tokens
from cdp.schemas.canonical import (
    ACCOUNT_COLUMNS,
    CONSENT_COLUMNS,
    EVENT_COLUMNS,
    PARTY_COLUMNS,
    TRANSACTION_COLUMNS,
)
from cdp.standardize.codes import FALSE_VALUES, TRUE_VALUES
from cdp.standardize.dates import DATE_FORMATS

CANONICAL: Mapping[str, Mapping[str, pl.DataType]] = {
    "parties": PARTY_COLUMNS,
    "accounts": ACCOUNT_COLUMNS,
    "transactions": TRANSACTION_COLUMNS,
    "events": EVENT_COLUMNS,
    "consents": CONSENT_COLUMNS,
}
PROBLEMS = "__cdp_problems"
DELETED = "__cdp_deleted"
INVALID_NATIONAL_IDS = "__cdp_invalid_national_id"
TYPED_PREFIX = "__cdp_typed_"
_DATETIME_FORMATS = (
    "%m/%d/%Y %H:%M:%S",
    "%m/%d/%Y %H:%M",
    "%m/%d/%Y %I:%M:%S %p",
    "%m/%d/%Y %I:%M %p",
    "%Y%m%d %H%M%S",
    "%d-%b-%Y %H:%M:%S",
    "%Y/%m/%d %H:%M:%S",
)
_TYPE_NAMES = {
    pl.Date: "date",
    pl.Datetime: "timestamp",
    pl.Float64: "number",
    pl.Int64: "whole number",
    pl.Boolean: "true/false flag",
}
_NATIONAL_ID_FIELDS = ("national_id", "national_id_last4")


def _message(err: duckdb.Error) -> str:
    # Binder and parser messages describe the SQL; others (conversions) may quote a value: PII.
    if isinstance(err, (duckdb.BinderException, duckdb.ParserException, duckdb.CatalogException)):
        return str(err).splitlines()[0]
    return type(err).__name__


def _binding_error(
    con: duckdb.DuckDBPyConnection, spec: SourceSpec, items: list[_Item], err: duckdb.Error
) -> ConfigError:
    """Name the first expression DuckDB cannot bind on this extract."""
    for item in items:
        try:
            con.sql(f"SELECT {_guarded(item.expression)} FROM src LIMIT 0")
        except duckdb.Error as item_err:
            return ConfigError(
                f"entry '{spec.name}': {item.label} `{item.expression.text}` does not evaluate on this "
                f"extract: {_message(item_err)}"
            )
    return ConfigError(
        f"entry '{spec.name}': the field expressions do not evaluate together: {_message(err)}"
    )


def holder_column(index: int, part: str) -> str:
    """Name of a holder's key or role column in the mapped frame."""
    return f"__cdp_holder{index}_{part}"


@dataclass(frozen=True)
class _Item:
    label: str
    expression: FieldExpression
    slot: str


def _checked(item: _Item) -> bool:
    """Whether a NULL result on present input is a failure: only for expressions that read
    columns and cannot give NULL by design (a plain column is never NULL when present)."""
    expression = item.expression
    return bool(expression.columns) and not expression.null_by_design and not expression.is_column


def _guarded(expression: FieldExpression) -> str:
    return expression.sql if expression.is_column else f"TRY({expression.sql})"


def _presence(expression: FieldExpression) -> str:
    return " AND ".join(
        f"({quote_identifier(c)} IS NOT NULL AND trim({quote_identifier(c)}) <> '')"
        for c in expression.columns
    )


def _text(value: str) -> str:
    return f"CASE WHEN trim(CAST({value} AS VARCHAR)) = '' THEN NULL ELSE CAST({value} AS VARCHAR) END"


def _number(value: str) -> str:
    digits = f"TRY_CAST(rtrim(regexp_replace(trim({value}), '[^0-9.eE+\\-]', '', 'g'), '-') AS DOUBLE)"
    return (
        f"CASE WHEN regexp_matches(trim({value}), '^\\(.*\\)$|-\\s*$') THEN -abs({digits}) ELSE {digits} END"
    )


def _typed(value: str, source_type: str, dtype: pl.DataType) -> str:
    """SQL turning ``value`` of DuckDB type ``source_type`` into canonical ``dtype`` (null if it cannot)."""
    text = source_type == "varchar"
    numeric = source_type in (
        "double",
        "float",
        "decimal",
        "integer",
        "bigint",
        "smallint",
        "tinyint",
        "hugeint",
        "ubigint",
        "uinteger",
        "usmallint",
        "utinyint",
        "uhugeint",
    )
    zoned = source_type == "timestamp with time zone"
    if dtype == pl.Date:
        if text:
            return (
                f"COALESCE(TRY_CAST({value} AS DATE), CAST(try_strptime({value}, $cdp_date_formats) AS DATE))"
            )
        return f"CAST(timezone('UTC', {value}) AS DATE)" if zoned else f"TRY_CAST({value} AS DATE)"
    if isinstance(dtype, pl.Datetime):
        if text:
            return (
                f"COALESCE(timezone('UTC', TRY_CAST({value} AS TIMESTAMPTZ)), "
                f"try_strptime({value}, $cdp_datetime_formats), "
                f"CAST(try_strptime({value}, $cdp_date_formats) AS TIMESTAMP))"
            )
        return f"timezone('UTC', {value})" if zoned else f"TRY_CAST({value} AS TIMESTAMP)"
    if dtype == pl.Float64:
        return _number(value) if text else f"TRY_CAST({value} AS DOUBLE)"
    if dtype == pl.Int64:
        return f"TRY_CAST(trunc({_number(value) if text else value}) AS BIGINT)"
    if dtype == pl.Boolean:
        if text:
            flag = f"lower(trim({value}))"
            return (
                f"CASE WHEN list_contains($cdp_true, {flag}) THEN TRUE "
                f"WHEN list_contains($cdp_false, {flag}) THEN FALSE END"
            )
        if source_type == "boolean":
            return value
        return f"({value} <> 0)" if numeric else "CAST(NULL AS BOOLEAN)"
    return _text(value)


def _items(spec: SourceSpec) -> list[_Item]:
    return [
        _Item(label, expression, f"__cdp_v{index}")
        for index, (label, expression) in enumerate(spec.expressions())
    ]


def _problem(condition: str, column: str, reason: str) -> str:
    literal = f"{column}\t{reason}".replace("'", "''")
    return f"CASE WHEN {condition} THEN '{literal}' END"


def _select_list(
    spec: SourceSpec, items: list[_Item], types: Mapping[str, str]
) -> tuple[list[str], list[str]]:
    """The final SELECT list and the problem expressions, given the evaluated slots' types."""
    columns = CANONICAL[spec.kind]
    select: list[str] = [f"{LINE_COLUMN}"]
    problems: list[str] = []
    for item in items:
        slot = item.slot
        if _checked(item):
            reason = f"expression failed on a present value of {', '.join(item.expression.columns)}"
            problems.append(_problem(f"{slot}__present AND {slot} IS NULL", item.label, reason))
        if item.label == "record_id":
            key = KEY_COLUMN[spec.kind] or "record_id"
            select.append(f"NULLIF(trim(CAST({slot} AS VARCHAR)), '') AS {quote_identifier(key)}")
        elif item.label.startswith("holders["):
            index, part = item.label[len("holders[") :].split("].")
            value = f"NULLIF(trim(CAST({slot} AS VARCHAR)), '')" if part == "key" else _text(slot)
            select.append(f"{value} AS {holder_column(int(index), part)}")
        elif item.label == "deleted_when":
            if types[slot] != "boolean":
                raise ConfigError(
                    f"entry '{spec.name}': deleted_when `{item.expression.text}` gives "
                    f"{types[slot].upper()}, not a boolean"
                )
            select.append(f"COALESCE({slot}, FALSE) AS {DELETED}")
        elif item.label not in _NATIONAL_ID_FIELDS:
            dtype = columns[item.label]
            if dtype == pl.String:
                select.append(f"{_text(slot)} AS {quote_identifier(item.label)}")
                continue
            typed = f"{TYPED_PREFIX}{item.label}"
            select.append(f"{slot} AS {quote_identifier(item.label)}")
            select.append(f"{_typed(slot, types[slot], dtype)} AS {quote_identifier(typed)}")
            present = f"{slot} IS NOT NULL" + (f" AND trim({slot}) <> ''" if types[slot] == "varchar" else "")
            problems.append(
                _problem(
                    f"{present} AND {quote_identifier(typed)} IS NULL",
                    item.label,
                    f"not a valid {_TYPE_NAMES[type(dtype)]}",
                )
            )
    if spec.deleted_when is None:
        select.append(f"FALSE AS {DELETED}")
    return select, problems


def _national_id_sql(items: list[_Item]) -> tuple[str, list[str]]:
    """A stage adding validated digits, and the token columns that replace the raw values."""
    slots = {item.label: item.slot for item in items if item.label in _NATIONAL_ID_FIELDS}
    full = slots.get("national_id")
    last4 = slots.get("national_id_last4")
    absent = "CAST(NULL AS VARCHAR)"
    cleaned = [
        f"{tokens.clean_digits_sql(full) if full else absent} AS __cdp_nid_clean",
        f"{tokens.clean_digits_sql(last4) if last4 else absent} AS __cdp_l4_clean",
    ]
    stage = (
        f"SELECT *, {tokens.ssn_digits_sql('__cdp_nid_clean')} AS __cdp_nid, "
        f"{tokens.last4_digits_sql('__cdp_l4_clean')} AS __cdp_l4 "
        f"FROM (SELECT *, {', '.join(cleaned)} FROM a)"
    )
    invalid = " + ".join(
        f"COALESCE(CAST({clean} <> '' AND {valid} IS NULL AS INTEGER), 0)"
        for clean, valid in (("__cdp_nid_clean", "__cdp_nid"), ("__cdp_l4_clean", "__cdp_l4"))
    )
    columns = [
        f"{tokens.national_id_token_sql('__cdp_nid')} AS national_id_token",
        f"COALESCE({tokens.last4_token_sql('__cdp_l4')}, "
        f"{tokens.last4_token_sql('substr(__cdp_nid, 6, 4)')}) AS national_id_last4_token",
        f"{invalid} AS {INVALID_NATIONAL_IDS}",
    ]
    return stage, columns


def map_rows(spec: SourceSpec, table: pa.Table, *, key: bytes | None = None) -> pl.DataFrame:
    """Evaluate ``spec``'s expressions on one file's text rows.

    Args:
        spec: The config entry.
        table: Text columns plus ``__cdp_line`` (from :func:`cdp.ingest.readers.read_extract`).
        key: Token key for national IDs (default :func:`cdp.privacy.tokens.token_key`).

    Returns:
        One row per input row, in order: ``__cdp_line``, the key column, canonical fields as
        produced, typed probes, holder columns, token columns (parties), ``__cdp_deleted`` and
        ``__cdp_problems`` (list of ``column<TAB>reason``).
    """
    items = _items(spec)
    # TRY() keeps one bad value from failing the file; a plain column cannot fail.
    evaluated = [f"{_guarded(item.expression)} AS {item.slot}" for item in items]
    evaluated += [
        f"({_presence(item.expression)}) AS {item.slot}__present" for item in items if _checked(item)
    ]
    stage_a = f"SELECT {LINE_COLUMN}, {', '.join(evaluated)} FROM src"
    config: dict[str, str | bool | int | float | list[str]] = {
        "enable_external_access": False,
        "autoload_known_extensions": False,
        "autoinstall_known_extensions": False,
    }
    with duckdb.connect(config=config) as con:
        con.execute("SET TimeZone = 'UTC'")
        con.execute("SET enable_progress_bar = false")
        con.execute("SET lock_configuration = true")
        con.register("src", table)
        try:
            relation = con.sql(stage_a)
            types = dict(zip(relation.columns, (t.id for t in relation.types), strict=True))
        except duckdb.Error as err:
            raise _binding_error(con, spec, items, err) from None
        select, problems = _select_list(spec, items, types)
        stages = f"WITH a AS ({stage_a})"
        source = "a"
        if spec.kind == "parties":
            stage, token_columns = _national_id_sql(items)
            stages += f", n AS ({stage})"
            source = "n"
            select += token_columns
        problem_list = (
            f"list_filter([{', '.join(problems)}], lambda p: p IS NOT NULL)" if problems else "[]::VARCHAR[]"
        )
        query = f"{stages} SELECT {', '.join(select)}, {problem_list} AS {PROBLEMS} FROM {source}"
        params = {
            "cdp_date_formats": list(DATE_FORMATS),
            "cdp_datetime_formats": list(_DATETIME_FORMATS),
            "cdp_true": list(TRUE_VALUES),
            "cdp_false": list(FALSE_VALUES),
        }
        if spec.kind == "parties":
            params |= tokens.token_sql_parameters(key)
        used = {name: value for name, value in params.items() if f"${name}" in query}
        try:
            return con.sql(query, params=used).pl()
        except duckdb.Error as err:
            raise ConfigError(f"entry '{spec.name}': mapping failed: {_message(err)}") from None
