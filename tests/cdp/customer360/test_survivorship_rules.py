"""Loading survivorship YAML: the packaged default, partial files, and clear errors for mistakes."""

from __future__ import annotations

from pathlib import Path

import pytest

from cdp.customer360 import AttributeRule, load_survivorship
from cdp.customer360.survivorship import GOLDEN_COLUMNS
from cdp.errors import ConfigError


def test_packaged_default_covers_every_golden_column_once() -> None:
    rules = load_survivorship()
    covered = [column for rule in rules.attributes for column in rule.columns]
    assert sorted(covered) == sorted(GOLDEN_COLUMNS)
    assert rules.rule_for("postcode").columns == (
        "address_line1",
        "address_line2",
        "city",
        "state",
        "postcode",
    )
    assert rules.rule_for("email").max_customers_per_value == 5
    assert rules.rule_for("is_deceased").steps[0] == "prefer_true"
    assert rules.household_max_members == 8


def test_a_partial_file_gets_the_generic_rule_for_the_rest(tmp_path: Path) -> None:
    path = tmp_path / "rules.yaml"
    path.write_text(
        "defaults:\n  trust: [crm]\nattributes:\n  email:\n    trust: [web, crm]\n    steps: [recency]\n"
    )
    rules = load_survivorship(path)
    assert rules.rule_for("email") == AttributeRule(
        "email", ("email",), ("email",), ("web", "crm"), ("recency",)
    )
    assert rules.rule_for("city") == AttributeRule(
        "city", ("city",), ("city",), ("crm",), ("trust_order", "recency", "frequency", "completeness")
    )
    assert rules.origin == str(path)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("attributes:\n  email:\n    columns: [e_mail]\n", "e_mail"),
        ("attributes:\n  email:\n    steps: [trust_order, newest]\n", "unknown or repeated steps"),
        ("attributes:\n  email:\n    placeholder_patterns: ['(unclosed']\n", "invalid regex"),
        ("attributes:\n  address:\n    columns: [city]\n    key: [postcode]\n", "key must be"),
        ("attributes:\n  a:\n    columns: [city]\n  b:\n    columns: [city]\n", "filled by both"),
        ("attributes:\n  email:\n    steps: [prefer_true]\n", "prefer_true only applies"),
        ("attributes:\n  email:\n    max_customers_per_value: 0\n", "positive integer"),
        ("attributes:\n  email:\n    trustt: [core]\n", "unknown key"),
        ("households:\n  max_members: many\n", "positive integer"),
        ("version: 2\n", "unsupported survivorship version"),
        ("attributes: [email]\n", "must be a mapping"),
        ("attributes:\n  email: {trust: [core\n", "not valid YAML"),
    ],
)
def test_mistakes_raise_config_error_naming_the_file(tmp_path: Path, text: str, message: str) -> None:
    path = tmp_path / "rules.yaml"
    path.write_text(text)
    with pytest.raises(ConfigError, match=message) as caught:
        load_survivorship(path)
    assert str(path) in str(caught.value)


def test_missing_file_is_a_config_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="cannot read"):
        load_survivorship(tmp_path / "absent.yaml")
