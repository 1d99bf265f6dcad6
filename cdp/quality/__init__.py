"""Great Expectations quality gates on the identity tables and the customer 360.

Suites (see :mod:`cdp.quality.suites`):

- ``identity``: every accepted party record (``std_parties``) is in exactly one customer: the key
  ``(source, record_id)`` is unique in ``identity_clusters``, the row counts match, no party record
  is unclustered and no cluster row lacks a party record; national IDs appear only as tokens.
- ``customer_360``: ``customer_id`` present and unique; every clustered customer has a 360 row and
  every 360 row has records; value ranges (age, balances finite, card utilization, logins 30d <= 90d,
  counts not negative) on whichever of those columns exist; ``last_name`` mostly present.
"""

from __future__ import annotations

from cdp.quality.gx_runner import prefetch_great_expectations
from cdp.quality.report import ExpectationOutcome, QualityReport
from cdp.quality.suites import SUITES, Check, suite_checks
from cdp.quality.validate import validate_tables

__all__ = [
    "SUITES",
    "Check",
    "ExpectationOutcome",
    "QualityReport",
    "prefetch_great_expectations",
    "suite_checks",
    "validate_tables",
]
