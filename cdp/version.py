"""Which cdp code built a table.

A daily run reuses what the previous run published (identity state, customer 360 rows, segment
stays) only when the same code made it: after an upgrade, the first run rebuilds each stage in
full, whatever else is unchanged, and its run log says so.
"""

from __future__ import annotations

import hashlib
from functools import lru_cache
from pathlib import Path

_PACKAGE = Path(__file__).resolve().parent
#: What counts as cdp's code: its modules and the rule files packaged beside them.
_CODE_SUFFIXES = (".py", ".yaml")


@lru_cache(maxsize=1)
def code_version() -> str:
    """A short digest of every module and packaged rule file of the cdp that is running.

    Any change counts (a safe over-approximation: a comment edit also rebuilds once).

    Example:
        >>> len(code_version())
        12
    """
    digest = hashlib.sha256()
    files = sorted(
        path
        for path in _PACKAGE.rglob("*")
        if path.suffix in _CODE_SUFFIXES and "__pycache__" not in path.parts and path.is_file()
    )
    for path in files:
        digest.update(path.relative_to(_PACKAGE).as_posix().encode())
        digest.update(b"\0")
        digest.update(path.read_bytes())
    return digest.hexdigest()[:12]
