"""Masked views for analysts without PII clearance, derived from a table's columns alone.

Every published table gets a view ``main.masked_<table>``, so a new table is covered on its first
publish without configuration. Columns are classified by name (a Splink-style ``_l``/``_r`` suffix
is ignored) and masked by type:

===========  ============================================================  ==========================
category     column names                                                  masked value
===========  ============================================================  ==========================
secret       anything containing ``national_id`` or ``token``              column left out
address      ``address_line*``                                             column left out (postcode,
                                                                           city, state stay)
email        ``email``, ``*_email``                                        ``j***@example.com``
phone        ``phone``, ``*_phone``                                        ``***67`` (last 2 digits)
birth date   ``date_of_birth``, ``*date_of_birth``, ``dob``                birth year, renamed
                                                                           ``birth_year``
name         ``first/middle/last/full_name``, ``*_name``, ``counterparty``  first letter + ``***``
===========  ============================================================  ==========================

Only text and date columns are masked; a numeric column with a PII-like name (Splink's
``mw_first_name`` match weight) is not PII and passes through, while lists, structs or blobs with a
PII name are left out because they cannot be masked safely. Tables that hold attribute/value pairs
(columns ``attribute`` and ``value``, like ``customer_attribute_lineage``) get ``value`` masked by the
category of the attribute named on the row.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

SECRET_MARKERS: tuple[str, ...] = ("national_id", "token")
PERSON_NAME_COLUMNS: tuple[str, ...] = ("first_name", "middle_name", "last_name", "full_name", "counterparty")
#: ``*_name`` columns that name things, not people.
NON_PERSON_NAME_PREFIXES: tuple[str, ...] = (
    "segment",
    "product",
    "table",
    "column",
    "rule",
    "file",
    "source",
    "model",
    "feature",
    "event",
    "page",
    "merchant",
    "dataset",
    "schema",
    "system",
    "suite",
    "expectation",
    "attribute",
    "channel",
    "purpose",
    "step",
    "view",
    "asset",
    "run",
    "check",
    "comparison",
)
MASKED_PREFIX = "masked_"
_PAIR_SUFFIXES = ("_l", "_r")
_TEXT_TYPES = ("VARCHAR",)
_DATE_TYPES = ("DATE", "TIMESTAMP")
_SCALAR_PREFIXES = (
    "BOOLEAN",
    "TINYINT",
    "SMALLINT",
    "INTEGER",
    "BIGINT",
    "HUGEINT",
    "UTINYINT",
    "USMALLINT",
    "UINTEGER",
    "UBIGINT",
    "UHUGEINT",
    "FLOAT",
    "DOUBLE",
    "DECIMAL",
)


def quote(name: str) -> str:
    """A DuckDB identifier in double quotes, with embedded quotes doubled."""
    return '"' + name.replace('"', '""') + '"'


def pii_category(column: str) -> str | None:
    """The PII category of a column name: secret, address, email, phone, birth_date, name, or None.

    Example:
        >>> [pii_category(c) for c in ("first_name_l", "national_id_token", "postcode")]
        ['name', 'secret', None]
    """
    name = column.lower()
    if any(marker in name for marker in SECRET_MARKERS):
        return "secret"
    base = name[:-2] if name.endswith(_PAIR_SUFFIXES) else name
    if base.startswith("address_line"):
        return "address"
    if base == "email" or base.endswith("_email"):
        return "email"
    if base == "phone" or base.endswith("_phone"):
        return "phone"
    if base == "dob" or base.endswith("date_of_birth"):
        return "birth_date"
    if base in PERSON_NAME_COLUMNS:
        return "name"
    if base.endswith("_name") and not base.removesuffix("_name").endswith(NON_PERSON_NAME_PREFIXES):
        return "name"
    return None


@dataclass(frozen=True)
class MaskedColumn:
    """How one column of a table appears in its masked view.

    Attributes:
        column: The table's column.
        output: The view's column name, or None when the column is left out.
        treatment: Human-readable masking rule, for the data dictionary.
        sql: The view's select expression, or None when left out.
    """

    column: str
    output: str | None
    treatment: str
    sql: str | None


def _mask_text(category: str, expr: str) -> str:
    if category == "email":
        return (
            f"CASE WHEN {expr} IS NULL THEN NULL WHEN contains({expr}, '@') "
            f"THEN left({expr}, 1) || '***@' || split_part({expr}, '@', 2) ELSE '***' END"
        )
    if category == "phone":
        return f"CASE WHEN {expr} IS NULL THEN NULL ELSE '***' || right({expr}, 2) END"
    if category == "birth_date":
        return f"CAST(year(TRY_CAST({expr} AS DATE)) AS VARCHAR)"
    return f"CASE WHEN {expr} IS NULL THEN NULL ELSE left({expr}, 1) || '***' END"


_TREATMENT = {
    "email": "first letter + *** + @domain",
    "phone": "*** + last 2 digits",
    "name": "first letter + ***",
    "birth_date": "birth year only",
}


def _category_sql(expr: str, category: str) -> str:
    """A SQL predicate on a text expression holding a column *name*, mirroring :func:`pii_category`."""
    base = f"regexp_replace(lower({expr}), '_(l|r)$', '')"
    if category == "secret":
        return " OR ".join(f"contains(lower({expr}), '{marker}')" for marker in SECRET_MARKERS)
    if category == "address":
        return f"starts_with({base}, 'address_line')"
    if category in ("email", "phone"):
        return f"({base} = '{category}' OR ends_with({base}, '_{category}'))"
    if category == "birth_date":
        return f"({base} = 'dob' OR ends_with({base}, 'date_of_birth'))"
    people = ", ".join(f"'{name}'" for name in PERSON_NAME_COLUMNS)
    things = "|".join(NON_PERSON_NAME_PREFIXES)
    thing_name = f"regexp_matches({base}, '({things})_name$')"
    return f"({base} IN ({people}) OR regexp_matches({base}, '_name$') AND NOT {thing_name})"


def _attribute_value_sql(value: str, attribute: str) -> str:
    branches = [
        f"WHEN {_category_sql(attribute, 'secret')} OR {_category_sql(attribute, 'address')} THEN NULL"
    ]
    branches += [
        f"WHEN {_category_sql(attribute, category)} THEN {_mask_text(category, value)}"
        for category in ("email", "phone", "birth_date", "name")
    ]
    return f"CASE {' '.join(branches)} ELSE {value} END"


def masked_columns(columns: Sequence[tuple[str, str]]) -> list[MaskedColumn]:
    """Decide, column by column, what a table's masked view shows.

    Args:
        columns: ``(name, duckdb_type)`` pairs in table order, e.g. from ``duckdb_columns()``.

    Returns:
        One entry per column, in order; left-out columns have ``output=None``.
    """
    names = {name for name, _ in columns}
    pairs = "attribute" in names and "value" in names
    result = []
    for name, data_type in columns:
        expr = quote(name)
        category = pii_category(name)
        upper = data_type.upper()
        # A list, array, struct or map type is never treated as the scalar type it starts with.
        nested = upper.endswith("]") or upper.startswith(("STRUCT", "MAP", "UNION"))
        text = not nested and upper.startswith(_TEXT_TYPES)
        date = not nested and upper.startswith(_DATE_TYPES)
        if pairs and name == "value" and text:
            sql = _attribute_value_sql(expr, quote("attribute"))
            result.append(
                MaskedColumn(name, name, "masked by the category of `attribute`", f"{sql} AS {expr}")
            )
        elif category in ("secret", "address"):
            result.append(MaskedColumn(name, None, "left out", None))
        elif category is None or upper.startswith(_SCALAR_PREFIXES):
            result.append(MaskedColumn(name, name, "as is", expr))
        elif category == "birth_date" and (date or text):
            output = (
                name.replace("date_of_birth", "birth_year") if "date_of_birth" in name else f"{name}_year"
            )
            value = f"year({expr})" if date else f"year(TRY_CAST({expr} AS DATE))"
            result.append(MaskedColumn(name, output, _TREATMENT[category], f"{value} AS {quote(output)}"))
        elif category != "birth_date" and text:
            result.append(
                MaskedColumn(name, name, _TREATMENT[category], f"{_mask_text(category, expr)} AS {expr}")
            )
        else:
            result.append(MaskedColumn(name, None, f"left out ({data_type} cannot be masked)", None))
    return result


def masked_view_sql(source: str, columns: Sequence[tuple[str, str]]) -> str:
    """The SELECT that defines a masked view over ``source`` (an already quoted, qualified table).

    Example:
        >>> masked_view_sql('main."people"', [("id", "BIGINT"), ("email", "VARCHAR")])  # doctest: +ELLIPSIS
        'SELECT "id", CASE WHEN "email" IS NULL THEN NULL ... AS "email" FROM main."people"'
    """
    selected = [column.sql for column in masked_columns(columns) if column.sql is not None]
    if not selected:
        return f"SELECT NULL AS no_visible_columns FROM {source} WHERE false"
    return f"SELECT {', '.join(selected)} FROM {source}"


def masked_view_name(table: str) -> str:
    """Name of the masked view of ``table``."""
    return f"{MASKED_PREFIX}{table}"
