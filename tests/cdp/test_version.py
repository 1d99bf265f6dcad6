"""The code version: a digest of cdp's modules and rule files that changes with any of them."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from cdp import version


def _package(root: Path) -> Path:
    (root / "stage").mkdir(parents=True)
    (root / "__init__.py").write_text("")
    (root / "stage" / "build.py").write_text("RULE = 1\n")
    (root / "stage" / "rules.yaml").write_text("max: 3\n")
    (root / "notes.txt").write_text("not code\n")
    return root


def _version_of(package: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    monkeypatch.setattr(version, "_PACKAGE", package)
    version.code_version.cache_clear()
    try:
        return version.code_version()
    finally:
        version.code_version.cache_clear()


def test_the_installed_code_has_a_short_stable_version() -> None:
    assert re.fullmatch(r"[0-9a-f]{12}", version.code_version())
    assert version.code_version() == version.code_version()


def test_any_module_or_rule_file_change_changes_the_version(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    package = _package(tmp_path / "cdp")
    original = _version_of(package, monkeypatch)
    (package / "notes.txt").write_text("edited\n")
    assert _version_of(package, monkeypatch) == original
    (package / "stage" / "rules.yaml").write_text("max: 4\n")
    after_rules = _version_of(package, monkeypatch)
    assert after_rules != original
    (package / "stage" / "build.py").write_text("RULE = 2\n")
    assert _version_of(package, monkeypatch) not in {original, after_rules}
    # A module moved to another place is other code too.
    (package / "stage" / "build.py").rename(package / "build.py")
    assert len({original, after_rules, _version_of(package, monkeypatch)}) == 3
