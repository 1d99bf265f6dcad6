"""Point-in-time customer features and life-event signals for decisioning.

``build_customer_features`` turns the canonical tables into ``customer_features`` (cash flow,
salary, scheduled payments, balances and risk, relationship and engagement) and
``customer_life_events`` (new job, salary stopped, move, large deposit, mortgage intent,
approaching retirement), each explainable from the rows that produced it.
"""

from __future__ import annotations

from cdp.features.build import FeatureResult, build_customer_features
from cdp.features.columns import FEATURE_COLUMNS, LIFE_EVENT_COLUMNS

__all__ = ["FEATURE_COLUMNS", "LIFE_EVENT_COLUMNS", "FeatureResult", "build_customer_features"]
