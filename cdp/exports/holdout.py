"""Stable, hash-based holdout groups for measuring a campaign's lift.

A customer's group depends only on the campaign id and the customer id: SHA-256 of
``"<campaign_id>:<customer_id>"``, read as a number in [0, 1), is compared with the holdout share.
The same customer is therefore always in the same group for a campaign (across re-exports, runs
and machines, unlike Python's or Polars' process-seeded hashes), while different campaigns draw
independent groups.
"""

from __future__ import annotations

import hashlib

import polars as pl

from cdp.errors import ConfigError

_SCALE = float(2**64)


def holdout_score(campaign_id: str, customer_id: str) -> float:
    """The customer's position in [0, 1) for this campaign.

    Example:
        >>> holdout_score("C1", "cust-1") == holdout_score("C1", "cust-1")
        True
    """
    digest = hashlib.sha256(f"{campaign_id}:{customer_id}".encode()).digest()
    return int.from_bytes(digest[:8], "big") / _SCALE


def in_holdout(customer_ids: pl.Series, *, campaign_id: str | None, pct: float) -> pl.Series:
    """Boolean Series: which customers are held out (not contacted) for this campaign.

    Args:
        customer_ids: Customer ids.
        campaign_id: The campaign; required when ``pct`` > 0.
        pct: Holdout share in percent, 0 <= pct < 100.

    Raises:
        ConfigError: ``pct`` is out of range, or a holdout is asked for without a campaign id.
    """
    check_holdout(campaign_id=campaign_id, pct=pct)
    if pct == 0:
        return pl.Series("holdout", [False] * customer_ids.len(), dtype=pl.Boolean)
    share = pct / 100
    assert campaign_id is not None
    return pl.Series(
        "holdout",
        [
            holdout_score(campaign_id, customer_id) < share
            for customer_id in customer_ids.cast(pl.String).to_list()
        ],
        dtype=pl.Boolean,
    )


def check_holdout(*, campaign_id: str | None, pct: float) -> None:
    """Raise ``ConfigError`` for a holdout share out of range or without a campaign id."""
    if not 0 <= pct < 100:
        raise ConfigError(f"holdout must be a percentage from 0 up to (not including) 100, got {pct}")
    if pct > 0 and not campaign_id:
        raise ConfigError("a holdout needs a campaign id (--campaign), so the same customers stay held out")
