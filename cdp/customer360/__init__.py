"""The customer 360: golden records with per-attribute lineage, holdings, engagement, consent, households.

Survivorship is declared in YAML (``survivorship.yaml`` ships as the default); every golden value
has one lineage row naming the source record it came from and the rule step that chose it.
"""

from __future__ import annotations

from cdp.customer360.build import Customer360Result, build_customer_360
from cdp.customer360.golden import build_golden_records
from cdp.customer360.survivorship import AttributeRule, SurvivorshipRules, load_survivorship

__all__ = [
    "AttributeRule",
    "Customer360Result",
    "SurvivorshipRules",
    "build_customer_360",
    "build_golden_records",
    "load_survivorship",
]
