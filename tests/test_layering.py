"""The library must stay usable without the orchestration layer."""

from __future__ import annotations

import pkgutil
import subprocess
import sys
from pathlib import Path

import cdp

LIBRARY_MODULES = sorted(
    module.name
    for module in pkgutil.walk_packages(cdp.__path__, prefix="cdp.")
    # The CLI's `run` command deliberately reaches into `assets` (lazily, inside the command).
    if not module.name.startswith("cdp.cli")
)


def test_library_modules_exist() -> None:
    assert "cdp.pipeline" in LIBRARY_MODULES
    assert "cdp.schemas.canonical" in LIBRARY_MODULES


def test_importing_every_library_module_never_loads_dagster() -> None:
    code = (
        "import importlib, sys\n"
        f"for name in {LIBRARY_MODULES!r}:\n"
        "    importlib.import_module(name)\n"
        "loaded = sorted(m for m in sys.modules if m == 'dagster' or m.startswith(('dagster.', 'assets')))\n"
        "print(','.join(loaded))\n"
    )
    completed = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True,
        cwd=Path(__file__).resolve().parent.parent,
    )
    assert completed.stdout.strip() == ""


def test_no_source_file_in_cdp_mentions_a_dagster_import() -> None:
    root = Path(cdp.__file__).parent
    offenders = [
        str(path.relative_to(root))
        for path in root.rglob("*.py")
        if any(
            line.lstrip().startswith(("import dagster", "from dagster"))
            for line in path.read_text().splitlines()
        )
    ]
    assert offenders == []
