"""Outcome of the quality gates: one row per expectation, in a shape that logs and asset checks can use."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path


@dataclass(frozen=True)
class ExpectationOutcome:
    """The result of one expectation.

    Attributes:
        suite: Suite name (``customer_360`` or ``identity``).
        expectation: The check's name, e.g. ``customer_360.customer_id_unique``.
        column: The column (or ``a,b`` columns) checked, None for table-level checks.
        success: Whether it passed.
        observed: Short observed value, e.g. ``"3 unexpected of 100000 (0.00%)"``.
        details: Why it failed, or a sample of offending keys (never PII values).
    """

    suite: str
    expectation: str
    column: str | None
    success: bool
    observed: str
    details: str = ""

    def __str__(self) -> str:
        status = "ok" if self.success else "FAILED"
        where = f" [{self.column}]" if self.column else ""
        extra = f": {self.details}" if self.details and not self.success else ""
        return f"{status} {self.expectation}{where}: {self.observed}{extra}"


@dataclass
class QualityReport:
    """Every expectation outcome of one :func:`cdp.quality.validate_tables` call.

    Attributes:
        success: True when every expectation passed.
        results: All outcomes, failures included.
        skipped: Optional checks left out because their column does not exist, with the reason.
        docs_index: The Data Docs ``index.html`` written, if any.
        seconds: Wall time of the validation.
    """

    success: bool
    results: list[ExpectationOutcome]
    skipped: list[str] = field(default_factory=list)
    docs_index: Path | None = None
    seconds: float = 0.0

    def failures(self) -> list[ExpectationOutcome]:
        """The outcomes that did not pass."""
        return [outcome for outcome in self.results if not outcome.success]

    def summary(self) -> str:
        """A few lines for logs and CLI output: counts, then each failure."""
        failed = self.failures()
        head = (
            f"{len(self.results) - len(failed)}/{len(self.results)} expectations passed"
            f"{f', {len(self.skipped)} skipped' if self.skipped else ''} in {self.seconds:.1f}s"
        )
        return "\n".join([head, *(f"  {outcome}" for outcome in failed)])
