"""Segment definitions declared in YAML, checked when loaded.

Format::

    version: 1
    segments:
      - name: recently_moved            # lower_snake_case, unique
        description: Moved home in the last 90 days.
        owner: marketing-analytics
        version: 2                      # bump when the rule changes; membership history is per version
        credit: false                   # optional: offers to this segment are credit offers
        rule: days_since_move <= 90     # one boolean expression over customer_360 + customer_features
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any

import polars as pl
import yaml

from cdp.errors import ConfigError
from cdp.segments.columns import KNOWN_COLUMNS
from cdp.segments.rules import validate_segment_rule

STARTER_FILE = "starter_segments.yaml"
_NAME = re.compile(r"^[a-z][a-z0-9_]{0,63}$")
_FIELDS = {"name", "description", "owner", "version", "rule", "credit", "tags"}


@dataclass(frozen=True)
class SegmentDefinition:
    """One declared segment.

    Attributes:
        name: Unique lower_snake_case name.
        description: What the segment means, for people.
        owner: Team or person answerable for it.
        version: Positive integer; a changed rule must get a new version.
        rule: Boolean expression over customer_360 and customer_features columns.
        credit: Offers made to this segment are credit offers, so arrears and age rules apply.
        tags: Free labels (life_stage, value_tier, behaviour, life_event ...).
    """

    name: str
    description: str
    owner: str
    version: int
    rule: str
    credit: bool = False
    tags: tuple[str, ...] = ()


def load_segments(
    path: Path | None = None, *, columns: Mapping[str, pl.DataType] = KNOWN_COLUMNS
) -> tuple[SegmentDefinition, ...]:
    """Read and check segment definitions; ``None`` loads the packaged starter set.

    Args:
        path: A segments YAML file, or None for ``cdp/segments/starter_segments.yaml``.
        columns: Columns rules may use (default: customer_360 and customer_features).

    Raises:
        ConfigError: The file is missing or malformed, a field is invalid, a name repeats, or a rule
            is not allowed; the message names the file and the segment.

    Example:
        >>> [s.name for s in load_segments()][:2]
        ['young_adult', 'family_forming']
    """
    if path is None:
        text = resources.files("cdp.segments").joinpath(STARTER_FILE).read_text(encoding="utf-8")
        where = f"packaged {STARTER_FILE}"
    else:
        try:
            text = Path(path).read_text(encoding="utf-8")
        except OSError as error:
            raise ConfigError(f"cannot read segments file {path}: {error.strerror or error}") from None
        where = str(path)
    try:
        document = yaml.safe_load(text)
    except yaml.YAMLError as error:
        raise ConfigError(f"{where}: invalid YAML: {error}") from None
    if not isinstance(document, dict) or not isinstance(document.get("segments"), list):
        raise ConfigError(f"{where}: expected a mapping with a 'segments' list")
    segments = tuple(
        _definition(entry, where=f"{where}: segments[{index}]", columns=columns)
        for index, entry in enumerate(document["segments"])
    )
    seen: set[str] = set()
    for segment in segments:
        if segment.name in seen:
            raise ConfigError(f"{where}: segment {segment.name!r} is declared twice")
        seen.add(segment.name)
    return segments


def _definition(entry: Any, *, where: str, columns: Mapping[str, pl.DataType]) -> SegmentDefinition:
    if not isinstance(entry, dict):
        raise ConfigError(f"{where}: each segment must be a mapping")
    name = entry.get("name")
    if not isinstance(name, str) or not _NAME.match(name):
        raise ConfigError(f"{where}: 'name' must be lower_snake_case (got {name!r})")
    position, where = where, f"{where} ({name})"
    unknown = set(entry) - _FIELDS
    if unknown:
        raise ConfigError(f"{where}: unknown field(s) {', '.join(sorted(unknown))}")
    for field in ("description", "owner", "rule"):
        if not isinstance(entry.get(field), str) or not entry[field].strip():
            raise ConfigError(f"{where}: '{field}' must be a non-empty string")
    version = entry.get("version")
    if isinstance(version, bool) or not isinstance(version, int) or version < 1:
        raise ConfigError(f"{where}: 'version' must be a positive integer (got {version!r})")
    credit = entry.get("credit", False)
    if not isinstance(credit, bool):
        raise ConfigError(f"{where}: 'credit' must be true or false")
    tags = entry.get("tags", [])
    if not isinstance(tags, list) or not all(isinstance(tag, str) for tag in tags):
        raise ConfigError(f"{where}: 'tags' must be a list of strings")
    rule = entry["rule"].strip()
    try:
        validate_segment_rule(rule, columns=columns, segment=name)
    except ConfigError as error:
        raise ConfigError(f"{position}: {error}") from None
    return SegmentDefinition(
        name=name,
        description=entry["description"].strip(),
        owner=entry["owner"].strip(),
        version=version,
        rule=rule,
        credit=credit,
        tags=tuple(tags),
    )
