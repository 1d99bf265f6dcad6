from __future__ import annotations

import pytest

from cdp.synth import GenerationSummary, generate_bank


@pytest.fixture(scope="session")
def bank(tmp_path_factory: pytest.TempPathFactory) -> GenerationSummary:
    """One generated bank shared by the read-only tests (single files, two months of history)."""
    return generate_bank(tmp_path_factory.mktemp("bank"), persons=1200, seed=11, months=2)


@pytest.fixture(scope="session")
def batched(tmp_path_factory: pytest.TempPathFactory) -> GenerationSummary:
    """A bank delivered as four weekly batches."""
    return generate_bank(tmp_path_factory.mktemp("batched"), persons=800, seed=5, months=1, batches=4)
