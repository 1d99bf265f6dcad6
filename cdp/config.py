"""The source config (``sources.yaml``): which extracts to read and how they map to canonical fields.

The format is documented in ``docs/contracts.md``. :func:`load_config` validates the whole file
up front and raises :class:`~cdp.errors.ConfigError` naming the file, the entry and the problem,
so a mistake never surfaces later as a traceback. Beyond the documented keys it accepts
``erasure_register:`` (top level, path of the erasure register, relative to the YAML file) and
``deleted_when:`` (any entry: a SQL boolean expression marking a row as a deletion of its record).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from pathlib import Path
from types import MappingProxyType
from typing import Any

import yaml

from cdp.errors import ConfigError
from cdp.ingest.expressions import ExpressionError, FieldExpression, parse_field_expression
from cdp.ingest.specs import (
    ENCODINGS,
    KEY_COLUMN,
    KINDS,
    MAPPABLE_FIELDS,
    REQUIRED_FIELDS,
    CsvOptions,
    HolderSpec,
    SourceConfig,
    SourceSpec,
)

__all__ = [
    "ENCODINGS",
    "KEY_COLUMN",
    "KINDS",
    "MAPPABLE_FIELDS",
    "REQUIRED_FIELDS",
    "CsvOptions",
    "HolderSpec",
    "SourceConfig",
    "SourceSpec",
    "load_config",
]

_COMMON_KEYS = frozenset({"name", "system", "path", "format", "csv", "record_id", "fields", "deleted_when"})
_EXTRA_KEYS: Mapping[str, frozenset[str]] = MappingProxyType(
    {
        "parties": frozenset(),
        "accounts": frozenset({"holders"}),
        "transactions": frozenset({"account"}),
        "events": frozenset({"party"}),
        "consents": frozenset({"party"}),
    }
)
_NAME = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_.\-]*")


class _Context:
    """Builds ConfigErrors that name the file and the entry."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def error(self, where: str, problem: str) -> ConfigError:
        return ConfigError(f"{self.path}: {where}: {problem}" if where else f"{self.path}: {problem}")

    def expression(self, where: str, label: str, value: Any) -> FieldExpression:
        if not isinstance(value, str):
            raise self.error(
                where,
                f"{label} must be a string (a column or a SQL expression; quote "
                f"literals as SQL, e.g. \"'deposit'\"), got {type(value).__name__}",
            )
        try:
            return parse_field_expression(value)
        except ExpressionError as err:
            raise self.error(where, f"{label} `{value}` {err}") from None


def _require_str(ctx: _Context, where: str, entry: Mapping[str, Any], key: str) -> str:
    value = entry.get(key)
    if not isinstance(value, str) or not value.strip():
        raise ctx.error(where, f"'{key}' is required and must be a non-empty string")
    return value.strip()


def _csv_options(ctx: _Context, where: str, entry: Mapping[str, Any], file_format: str) -> CsvOptions:
    raw = entry.get("csv")
    if raw is None:
        return CsvOptions()
    if file_format != "csv":
        raise ctx.error(where, "'csv' options only apply to format: csv")
    if not isinstance(raw, Mapping) or set(raw) - {"delimiter", "encoding"}:
        raise ctx.error(where, "'csv' must be a mapping with only 'delimiter' and 'encoding'")
    delimiter = raw.get("delimiter", ",")
    if not isinstance(delimiter, str) or len(delimiter) != 1 or delimiter in '"\r\n':
        raise ctx.error(
            where, f"csv.delimiter must be one character other than a quote or newline, got {delimiter!r}"
        )
    encoding = str(raw.get("encoding", "utf-8")).strip().lower()
    if encoding not in ENCODINGS:
        raise ctx.error(where, f"csv.encoding must be utf-8 or latin-1, got {raw.get('encoding')!r}")
    return CsvOptions(delimiter=delimiter, encoding=ENCODINGS[encoding])


def _format(ctx: _Context, where: str, entry: Mapping[str, Any], path: str) -> str:
    declared = entry.get("format")
    if declared is None:
        suffix = Path(path).suffix.lower()
        if suffix in (".csv", ".parquet"):
            return suffix[1:]
        raise ctx.error(
            where, "'format' is required (csv or parquet) when the path does not end in .csv/.parquet"
        )
    if declared not in ("csv", "parquet"):
        raise ctx.error(where, f"format must be csv or parquet, got {declared!r}")
    return str(declared)


def _fields(ctx: _Context, where: str, kind: str, entry: Mapping[str, Any]) -> dict[str, FieldExpression]:
    raw = entry.get("fields")
    if not isinstance(raw, Mapping) or not raw:
        raise ctx.error(
            where, "'fields' is required: a mapping of canonical field -> column or SQL expression"
        )
    allowed = MAPPABLE_FIELDS[kind]
    unknown = sorted(str(name) for name in raw if name not in allowed)
    if unknown:
        raise ctx.error(
            where, f"unknown canonical field(s) {', '.join(unknown)}; {kind} fields are: {', '.join(allowed)}"
        )
    missing = [name for name in REQUIRED_FIELDS[kind] if name not in raw]
    if missing:
        raise ctx.error(where, f"missing required field(s) {', '.join(missing)}")
    return {str(name): ctx.expression(where, f"field {name}", value) for name, value in raw.items()}


def _holders(ctx: _Context, where: str, entry: Mapping[str, Any]) -> tuple[HolderSpec, ...]:
    raw = entry.get("holders", [])
    if not isinstance(raw, list):
        raise ctx.error(where, "'holders' must be a list of {party, key, role}")
    holders = []
    for index, holder in enumerate(raw):
        label = f"holders[{index}]"
        if not isinstance(holder, Mapping) or set(holder) != {"party", "key", "role"}:
            raise ctx.error(where, f"{label} must have exactly the keys party, key and role")
        holders.append(
            HolderSpec(
                party=_require_str(ctx, f"{where} {label}", holder, "party"),
                key=ctx.expression(where, f"{label}.key", holder["key"]),
                role=ctx.expression(where, f"{label}.role", holder["role"]),
            )
        )
    return tuple(holders)


def _spec(ctx: _Context, kind: str, index: int, entry: Any) -> SourceSpec:
    where = f"{kind}[{index}]"
    if not isinstance(entry, Mapping):
        raise ctx.error(where, "each entry must be a mapping")
    if isinstance(entry.get("name"), str):
        where = f"{kind}[{index}] '{entry['name']}'"
    unknown = sorted(str(key) for key in entry if key not in _COMMON_KEYS | _EXTRA_KEYS[kind])
    if unknown:
        raise ctx.error(where, f"unknown key(s) {', '.join(unknown)}")
    name = _require_str(ctx, where, entry, "name")
    if not _NAME.fullmatch(name):
        raise ctx.error(where, "name may only contain letters, digits, '_', '.' and '-' (no ':' or spaces)")
    path = _require_str(ctx, where, entry, "path")
    file_format = _format(ctx, where, entry, path)
    record_id = entry.get("record_id")
    if record_id is None and kind != "consents":
        raise ctx.error(where, "'record_id' is required: the column (or expression) that keys each row")
    return SourceSpec(
        kind=kind,
        name=name,
        system=_require_str(ctx, where, entry, "system"),
        path=path,
        format=file_format,
        csv=_csv_options(ctx, where, entry, file_format),
        record_id=None if record_id is None else ctx.expression(where, "record_id", record_id),
        fields=MappingProxyType(_fields(ctx, where, kind, entry)),
        deleted_when=(
            None
            if entry.get("deleted_when") is None
            else ctx.expression(where, "deleted_when", entry["deleted_when"])
        ),
        holders=_holders(ctx, where, entry) if kind == "accounts" else (),
        account=_require_str(ctx, where, entry, "account") if kind == "transactions" else None,
        party=_require_str(ctx, where, entry, "party") if kind in ("events", "consents") else None,
    )


def _check_references(ctx: _Context, specs: Mapping[str, tuple[SourceSpec, ...]]) -> None:
    names: dict[str, str] = {}
    for kind, entries in specs.items():
        for index, spec in enumerate(entries):
            if spec.name in names:
                raise ctx.error(
                    f"{kind}[{index}] '{spec.name}'", f"name is already used by a {names[spec.name]} entry"
                )
            names[spec.name] = kind
    parties = {spec.name for spec in specs["parties"]}
    accounts = {spec.name for spec in specs["accounts"]}
    for kind, entries in specs.items():
        for index, spec in enumerate(entries):
            where = f"{kind}[{index}] '{spec.name}'"
            for holder in spec.holders:
                if holder.party not in parties:
                    raise ctx.error(where, f"holder party '{holder.party}' is not a parties entry")
            if spec.party is not None and spec.party not in parties:
                raise ctx.error(where, f"party '{spec.party}' is not a parties entry")
            if spec.account is not None and spec.account not in accounts:
                raise ctx.error(where, f"account '{spec.account}' is not an accounts entry")


def load_config(path: str | Path) -> SourceConfig:
    """Load and validate a source config.

    Args:
        path: The ``sources.yaml`` file; globs and the erasure register are relative to it.

    Returns:
        The validated, immutable config.

    Raises:
        ConfigError: The file is missing, not YAML, or breaks the format (message names the file,
            the entry and the problem).

    Example:
        >>> config = load_config("data/sample/sources.yaml")  # doctest: +SKIP
        >>> [spec.name for spec in config.parties]  # doctest: +SKIP
        ['core_customers', 'card_holders', 'mortgage_borrowers', 'digital_users']
    """
    path = Path(path).resolve()
    ctx = _Context(path)
    if not path.is_file():
        raise ConfigError(f"{path}: source config not found")
    try:
        document = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (yaml.YAMLError, UnicodeDecodeError) as err:
        raise ctx.error("", f"not valid YAML ({str(err).splitlines()[0]})") from None
    if not isinstance(document, Mapping):
        raise ctx.error("", "must be a mapping with 'version' and 'parties'")
    unknown = sorted(str(key) for key in document if key not in {"version", "erasure_register", *KINDS})
    if unknown:
        raise ctx.error("", f"unknown top-level key(s) {', '.join(unknown)}")
    if document.get("version", 1) != 1:
        raise ctx.error("", f"version must be 1, got {document.get('version')!r}")
    specs: dict[str, tuple[SourceSpec, ...]] = {}
    for kind in KINDS:
        entries = document.get(kind) or []
        if not isinstance(entries, list):
            raise ctx.error(kind, "must be a list of entries")
        specs[kind] = tuple(_spec(ctx, kind, index, entry) for index, entry in enumerate(entries))
    if not specs["parties"]:
        raise ctx.error("parties", "at least one parties entry is required")
    _check_references(ctx, specs)
    register = document.get("erasure_register")
    if register is not None and not isinstance(register, str):
        raise ctx.error("erasure_register", "must be a path string")
    return SourceConfig(
        path=path,
        parties=specs["parties"],
        accounts=specs["accounts"],
        transactions=specs["transactions"],
        events=specs["events"],
        consents=specs["consents"],
        erasure_register=None if register is None else (path.parent / register),
    )
