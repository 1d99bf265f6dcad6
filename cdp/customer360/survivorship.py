"""Survivorship rules: which source record supplies each attribute of the golden record.

Rules are declared in YAML (see the packaged ``survivorship.yaml``) and loaded into frozen
dataclasses, validated up front so that a typo fails with the file and the offending key named.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any

import polars as pl
import yaml

from cdp.errors import ConfigError

#: The golden record's attributes, in the column order of ``customer_360``.
GOLDEN_COLUMNS: tuple[str, ...] = (
    "first_name",
    "middle_name",
    "last_name",
    "full_name",
    "date_of_birth",
    "email",
    "phone",
    "address_line1",
    "address_line2",
    "city",
    "state",
    "postcode",
    "country",
    "national_id_token",
    "is_deceased",
    "do_not_contact",
)

#: Ranking steps, by the name used in YAML and in the lineage's ``rule`` column.
STEPS: tuple[str, ...] = ("prefer_true", "trust_order", "recency", "frequency", "completeness")

_BOOLEAN_COLUMNS = frozenset({"is_deceased", "do_not_contact"})
_DEFAULT_STEPS: tuple[str, ...] = ("trust_order", "recency", "frequency", "completeness")
_DEFAULT_FILE = "survivorship.yaml"


@dataclass(frozen=True)
class AttributeRule:
    """How one attribute, or one block of attributes taken from the same record, survives.

    Attributes:
        name: Rule name (the attribute itself, or a block name such as ``address``).
        columns: Golden columns this rule fills, all from the winning record.
        key: Columns a record must have non-null (and not a placeholder) to be a candidate.
        trust: Source names and/or system labels, most trusted first.
        steps: Ranking steps, in order, before the final (source, record_id) tie-break.
        max_customers_per_value: A key value held by more distinct customers is a placeholder.
        placeholder_patterns: Regular expressions; a key value matching any is a placeholder.
    """

    name: str
    columns: tuple[str, ...]
    key: tuple[str, ...]
    trust: tuple[str, ...] = ()
    steps: tuple[str, ...] = _DEFAULT_STEPS
    max_customers_per_value: int | None = None
    placeholder_patterns: tuple[str, ...] = ()


@dataclass(frozen=True)
class SurvivorshipRules:
    """The full rule set: one rule per golden attribute or block, plus household limits.

    Attributes:
        attributes: One rule per attribute or block; together they cover every golden column once.
        household_max_members: An address shared by more customers is not a household.
        origin: Where the rules were read from, for messages.
    """

    attributes: tuple[AttributeRule, ...]
    household_max_members: int = 8
    origin: str = "<default>"

    def rule_for(self, column: str) -> AttributeRule:
        """The rule that fills ``column``."""
        for rule in self.attributes:
            if column in rule.columns:
                return rule
        raise KeyError(column)


def load_survivorship(path: Path | None = None) -> SurvivorshipRules:
    """Load and validate survivorship rules.

    Golden columns that the file does not mention get the generic rule (``defaults``), so a
    file may declare only the attributes it cares about.

    Args:
        path: A survivorship YAML file; ``None`` loads the default shipped with the package.

    Returns:
        The validated rules.

    Raises:
        ConfigError: The file is missing, not YAML, or declares an unknown column, step or regex.

    Example:
        >>> rules = load_survivorship()
        >>> rules.rule_for("city").columns
        ('address_line1', 'address_line2', 'city', 'state', 'postcode')
    """
    if path is None:
        text = resources.files("cdp.customer360").joinpath(_DEFAULT_FILE).read_text(encoding="utf-8")
        origin = f"<packaged {_DEFAULT_FILE}>"
    else:
        try:
            text = Path(path).read_text(encoding="utf-8")
        except OSError as error:
            raise ConfigError(f"{path}: cannot read survivorship rules ({error.strerror})") from None
        origin = str(path)
    try:
        document = yaml.safe_load(text) or {}
    except yaml.YAMLError as error:
        raise ConfigError(f"{origin}: not valid YAML ({error})") from None
    return parse_survivorship(document, origin=origin)


def parse_survivorship(document: Any, *, origin: str = "<mapping>") -> SurvivorshipRules:
    """Validate an already-parsed survivorship document (the YAML's top-level mapping)."""
    top = _mapping(document, origin, "top level")
    _known_keys(top, {"version", "defaults", "attributes", "households"}, origin, "top level")
    if top.get("version", 1) != 1:
        raise ConfigError(f"{origin}: unsupported survivorship version {top.get('version')!r} (expected 1)")
    defaults = _mapping(top.get("defaults") or {}, origin, "defaults")
    _known_keys(defaults, {"trust", "steps"}, origin, "defaults")
    default_trust = _strings(defaults.get("trust", []), origin, "defaults.trust")
    default_steps = _steps(defaults.get("steps", list(_DEFAULT_STEPS)), origin, "defaults.steps")

    rules: list[AttributeRule] = []
    claimed: dict[str, str] = {}
    for name, body in _mapping(top.get("attributes") or {}, origin, "attributes").items():
        rule = _attribute_rule(str(name), body or {}, default_trust, default_steps, origin)
        for column in rule.columns:
            if column in claimed:
                raise ConfigError(
                    f"{origin}: column {column!r} is filled by both {claimed[column]!r} and {rule.name!r}"
                )
            claimed[column] = rule.name
        rules.append(rule)
    for column in GOLDEN_COLUMNS:
        if column not in claimed:
            rules.append(AttributeRule(column, (column,), (column,), default_trust, default_steps))

    households = _mapping(top.get("households") or {}, origin, "households")
    _known_keys(households, {"max_members"}, origin, "households")
    max_members = _positive_int(households.get("max_members", 8), origin, "households.max_members")
    return SurvivorshipRules(tuple(rules), household_max_members=max_members, origin=origin)


def _attribute_rule(
    name: str, body: Any, default_trust: tuple[str, ...], default_steps: tuple[str, ...], origin: str
) -> AttributeRule:
    where = f"attributes.{name}"
    body = _mapping(body, origin, where)
    _known_keys(
        body,
        {"columns", "key", "trust", "steps", "max_customers_per_value", "placeholder_patterns"},
        origin,
        where,
    )
    columns = _strings(body.get("columns", [name]), origin, f"{where}.columns")
    unknown = [column for column in columns if column not in GOLDEN_COLUMNS]
    if unknown or not columns:
        raise ConfigError(
            f"{origin}: {where}.columns names {unknown or 'nothing'}; "
            f"golden columns are {', '.join(GOLDEN_COLUMNS)}"
        )
    key = _strings(body.get("key", [columns[0]]), origin, f"{where}.key")
    if not key or any(column not in columns for column in key):
        raise ConfigError(f"{origin}: {where}.key must be a non-empty subset of its columns {list(columns)}")
    steps = _steps(body.get("steps", list(default_steps)), origin, f"{where}.steps")
    if "prefer_true" in steps and any(column not in _BOOLEAN_COLUMNS for column in columns):
        raise ConfigError(
            f"{origin}: {where}: prefer_true only applies to flags ({', '.join(sorted(_BOOLEAN_COLUMNS))})"
        )
    limit = body.get("max_customers_per_value")
    patterns = _strings(body.get("placeholder_patterns", []), origin, f"{where}.placeholder_patterns")
    for pattern in patterns:
        _check_regex(pattern, origin, where)
    return AttributeRule(
        name=name,
        columns=columns,
        key=key,
        trust=_strings(body.get("trust", list(default_trust)), origin, f"{where}.trust"),
        steps=steps,
        max_customers_per_value=None
        if limit is None
        else _positive_int(limit, origin, f"{where}.max_customers_per_value"),
        placeholder_patterns=patterns,
    )


def _check_regex(pattern: str, origin: str, where: str) -> None:
    try:
        re.compile(pattern)
        # Polars uses Rust's regex engine, which rejects some Python syntax (look-arounds).
        pl.Series([""], dtype=pl.String()).str.contains(pattern)
    except (re.error, pl.exceptions.ComputeError, pl.exceptions.PolarsError) as error:
        raise ConfigError(
            f"{origin}: {where}.placeholder_patterns has an invalid regex {pattern!r}: {error}"
        ) from None


def _mapping(value: Any, origin: str, where: str) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise ConfigError(f"{origin}: {where} must be a mapping, not {type(value).__name__}")
    return value


def _known_keys(body: dict[str, Any], allowed: set[str], origin: str, where: str) -> None:
    unknown = sorted(set(map(str, body)) - allowed)
    if unknown:
        raise ConfigError(f"{origin}: unknown key(s) {unknown} in {where}; allowed: {sorted(allowed)}")


def _strings(value: Any, origin: str, where: str) -> tuple[str, ...]:
    if isinstance(value, str):
        value = [value]
    if not isinstance(value, list) or not all(isinstance(item, str) for item in value):
        raise ConfigError(f"{origin}: {where} must be a list of strings")
    return tuple(value)


def _steps(value: Any, origin: str, where: str) -> tuple[str, ...]:
    steps = _strings(value, origin, where)
    unknown = [step for step in steps if step not in STEPS]
    if unknown or len(set(steps)) != len(steps):
        raise ConfigError(
            f"{origin}: {where} has unknown or repeated steps {unknown or list(steps)}; use {list(STEPS)}"
        )
    return steps


def _positive_int(value: Any, origin: str, where: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise ConfigError(f"{origin}: {where} must be a positive integer, not {value!r}")
    return value
