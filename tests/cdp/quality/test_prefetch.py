"""The background Great Expectations import must not starve the step that started it."""

from __future__ import annotations

import importlib.abc
import importlib.machinery
import sys
import types
from collections.abc import Iterator

import pytest

from cdp.quality import gx_runner


class _RecordingFinder(importlib.abc.MetaPathFinder, importlib.abc.Loader):
    """Stands in for great_expectations and records the switch interval its import ran under."""

    def __init__(self) -> None:
        self.intervals: list[float] = []

    def find_spec(self, name, path, target=None):  # noqa: ANN001, ANN201
        if name == "great_expectations" or name.startswith("great_expectations."):
            return importlib.machinery.ModuleSpec(name, self, is_package=True)
        return None

    def create_module(self, spec):  # noqa: ANN001, ANN201
        return types.ModuleType(spec.name)

    def exec_module(self, module) -> None:  # noqa: ANN001
        module.__path__ = []
        self.intervals.append(sys.getswitchinterval())


def _gx_module_names() -> list[str]:
    return [name for name in sys.modules if name.split(".")[0] == "great_expectations"]


@pytest.fixture
def gx_unimported(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """great_expectations out of sys.modules for the test; afterwards whatever the test imported
    under that name is dropped and the real modules come back (monkeypatch restores them)."""
    for name in _gx_module_names():
        monkeypatch.delitem(sys.modules, name)
    yield
    for name in _gx_module_names():
        del sys.modules[name]


@pytest.mark.usefixtures("gx_unimported")
def test_background_import_runs_with_short_switch_interval_and_restores_it(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    finder = _RecordingFinder()
    monkeypatch.setattr(sys, "meta_path", [finder, *sys.meta_path])
    before = sys.getswitchinterval()

    gx_runner._import_great_expectations()

    assert finder.intervals, "the import did not run"
    assert max(finder.intervals) <= gx_runner._PREFETCH_SWITCH_INTERVAL < before
    assert sys.getswitchinterval() == before


@pytest.mark.usefixtures("gx_unimported")
def test_failed_background_import_still_restores_switch_interval(monkeypatch: pytest.MonkeyPatch) -> None:
    # None in sys.modules makes the import raise ImportError, as a broken install would.
    monkeypatch.setitem(sys.modules, "great_expectations", None)
    before = sys.getswitchinterval()

    gx_runner._import_great_expectations()

    assert sys.getswitchinterval() == before
