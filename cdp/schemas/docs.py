"""Descriptions of published tables, from which docs/data_dictionary.md is generated.

Each stage package declares ``TABLE_DOCS: tuple[TableDoc, ...]`` in its ``tables.py`` for the tables
it publishes; the dictionary generator joins them with the real column types from the warehouse.
"""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class TableDoc:
    """What a published table holds: grain, purpose and the meaning of each column."""

    name: str
    description: str
    grain: str
    columns: dict[str, str] = field(default_factory=dict)
    contains_pii: bool = False
