"""Typed, immutable source-config specs (``sources.yaml`` after :func:`cdp.config.load_config`).

Also the vocabularies that the config format is checked against: which canonical fields each
kind of entry may map, which it must map, and which canonical column its ``record_id`` fills.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from types import MappingProxyType

from cdp.ingest.expressions import FieldExpression
from cdp.schemas.canonical import (
    ACCOUNT_COLUMNS,
    CONSENT_COLUMNS,
    EVENT_COLUMNS,
    PARTY_FIELDS,
    TRANSACTION_COLUMNS,
)

KINDS: tuple[str, ...] = ("parties", "accounts", "transactions", "events", "consents")
_METADATA = frozenset({"source", "source_system", "source_file", "source_row"})

#: Canonical fields that each kind's ``fields:`` may map.
MAPPABLE_FIELDS: Mapping[str, tuple[str, ...]] = MappingProxyType(
    {
        "parties": PARTY_FIELDS,
        "accounts": tuple(c for c in ACCOUNT_COLUMNS if c not in _METADATA | {"account_id"}),
        "transactions": tuple(
            c for c in TRANSACTION_COLUMNS if c not in _METADATA | {"transaction_id", "account_source"}
        ),
        "events": tuple(c for c in EVENT_COLUMNS if c not in _METADATA | {"event_id", "party_source"}),
        "consents": tuple(c for c in CONSENT_COLUMNS if c not in _METADATA | {"party_source"}),
    }
)
#: Fields without which a row of that kind means nothing.
REQUIRED_FIELDS: Mapping[str, tuple[str, ...]] = MappingProxyType(
    {
        "parties": (),
        "accounts": (),
        "transactions": ("account_id", "posted_date", "amount"),
        "events": ("party_record_id", "event_time", "event_type"),
        "consents": ("party_record_id", "purpose", "channel", "granted", "updated_at"),
    }
)
#: Canonical column that ``record_id:`` fills, per kind (consents have no key of their own).
KEY_COLUMN: Mapping[str, str | None] = MappingProxyType(
    {
        "parties": "record_id",
        "accounts": "account_id",
        "transactions": "transaction_id",
        "events": "event_id",
        "consents": None,
    }
)
ENCODINGS: Mapping[str, str] = MappingProxyType(
    {"utf-8": "utf-8", "utf8": "utf-8", "latin-1": "latin-1", "latin1": "latin-1", "iso-8859-1": "latin-1"}
)


@dataclass(frozen=True)
class CsvOptions:
    """How a CSV extract is encoded: one-character delimiter, ``utf-8`` or ``latin-1``."""

    delimiter: str = ","
    encoding: str = "utf-8"


@dataclass(frozen=True)
class HolderSpec:
    """One holder of each account row: party entry name, its record key, and the role."""

    party: str
    key: FieldExpression
    role: FieldExpression


@dataclass(frozen=True)
class SourceSpec:
    """One entry of the source config: an extract (glob of files) and its field mapping."""

    kind: str
    name: str
    system: str
    path: str
    format: str
    record_id: FieldExpression | None
    fields: Mapping[str, FieldExpression]
    csv: CsvOptions = field(default_factory=CsvOptions)
    deleted_when: FieldExpression | None = None
    holders: tuple[HolderSpec, ...] = ()
    account: str | None = None
    party: str | None = None

    def expressions(self) -> tuple[tuple[str, FieldExpression], ...]:
        """Every expression of the entry with a label: record_id, fields, holders, deleted_when."""
        labelled: list[tuple[str, FieldExpression]] = []
        if self.record_id is not None:
            labelled.append(("record_id", self.record_id))
        labelled.extend(self.fields.items())
        for index, holder in enumerate(self.holders):
            labelled.extend(((f"holders[{index}].key", holder.key), (f"holders[{index}].role", holder.role)))
        if self.deleted_when is not None:
            labelled.append(("deleted_when", self.deleted_when))
        return tuple(labelled)

    def required_columns(self) -> tuple[str, ...]:
        """Source columns the extract must have (case-insensitively, as DuckDB resolves them)."""
        seen: dict[str, str] = {}
        for _, expression in self.expressions():
            for column in expression.columns:
                seen.setdefault(column.lower(), column)
        return tuple(seen.values())


@dataclass(frozen=True)
class SourceConfig:
    """A validated ``sources.yaml``."""

    path: Path
    parties: tuple[SourceSpec, ...]
    accounts: tuple[SourceSpec, ...] = ()
    transactions: tuple[SourceSpec, ...] = ()
    events: tuple[SourceSpec, ...] = ()
    consents: tuple[SourceSpec, ...] = ()
    erasure_register: Path | None = None
    version: int = 1

    @property
    def base_dir(self) -> Path:
        """The folder globs and the erasure register are relative to."""
        return self.path.parent

    @property
    def erasure_register_path(self) -> Path:
        """The erasure register CSV (default ``erasure_requests.csv`` beside the config)."""
        return self.erasure_register or self.base_dir / "erasure_requests.csv"

    def specs(self, kind: str) -> tuple[SourceSpec, ...]:
        """The entries of one kind (``parties``, ``accounts`` ...)."""
        if kind not in KINDS:
            raise ValueError(f"unknown kind {kind!r}; expected one of {', '.join(KINDS)}")
        specs: tuple[SourceSpec, ...] = getattr(self, kind)
        return specs

    def all_specs(self) -> tuple[SourceSpec, ...]:
        """Every entry, parties first, in file order within each kind."""
        return tuple(spec for kind in KINDS for spec in self.specs(kind))
