"""The columns segment rules may use, and the membership table contracts."""

from __future__ import annotations

from collections.abc import Mapping

import polars as pl

from cdp.features.columns import FEATURE_COLUMNS

#: The customer_360 columns segments rely on (the golden record publishes more).
CUSTOMER_360_COLUMNS: Mapping[str, pl.DataType] = {
    "customer_id": pl.String(),
    "first_name": pl.String(),
    "last_name": pl.String(),
    "full_name": pl.String(),
    "date_of_birth": pl.Date(),
    "age": pl.Int64(),
    "email": pl.String(),
    "phone": pl.String(),
    "address_line1": pl.String(),
    "address_line2": pl.String(),
    "city": pl.String(),
    "state": pl.String(),
    "postcode": pl.String(),
    "is_deceased": pl.Boolean(),
    "do_not_contact": pl.Boolean(),
    "in_arrears": pl.Boolean(),
    "n_products": pl.Int64(),
    "tenure_months": pl.Int64(),
}

#: Every column a rule may reference when it is checked at load time: the 360 and the features.
KNOWN_COLUMNS: Mapping[str, pl.DataType] = {**CUSTOMER_360_COLUMNS, **FEATURE_COLUMNS}

#: Current membership, the output of ``evaluate_segments``.
CURRENT_MEMBERSHIP_COLUMNS: Mapping[str, pl.DataType] = {
    "segment": pl.String(),
    "segment_version": pl.Int64(),
    "customer_id": pl.String(),
}

#: segment_membership: one row per stay of a customer in a segment version.
MEMBERSHIP_COLUMNS: Mapping[str, pl.DataType] = {
    **CURRENT_MEMBERSHIP_COLUMNS,
    "entered_on": pl.Date(),
    "exited_on": pl.Date(),
    "entered_run_id": pl.String(),
    "exited_run_id": pl.String(),
}
