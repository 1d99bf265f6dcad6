"""Column contracts of the canonical (standardized) tables that every stage after ingest reads.

Each mapping gives the exact column order and Polars dtype. Stage code builds frames with
``conform(frame, PARTY_COLUMNS)`` so that a missing optional column becomes a typed null column
and the order is always the same; the pandera models in ``cdp.schemas`` check values.

A record's key is ``(source, record_id)`` everywhere: ``source`` is the party table's name in the
source config, ``record_id`` that table's own key rendered as text.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import overload

import polars as pl

#: Canonical party fields that a source config may map (issue 2), plus the optional flags
#: that compliance needs.
PARTY_FIELDS: tuple[str, ...] = (
    "first_name",
    "middle_name",
    "last_name",
    "full_name",
    "date_of_birth",
    "email",
    "phone",
    "address_line1",
    "address_line2",
    "city",
    "state",
    "postcode",
    "country",
    "national_id",
    "national_id_last4",
    "customer_since",
    "updated_at",
    "is_deceased",
    "do_not_contact",
)

#: std_parties: one row per accepted party record. Text columns are normalized for matching:
#: names lower-case ASCII without punctuation, email lower-case, phone E.164, address lower-case
#: with standard abbreviations, state and country upper-case codes. Raw national IDs never
#: appear: only keyed HMAC tokens.
PARTY_COLUMNS: Mapping[str, pl.DataType] = {
    "source": pl.String(),
    "record_id": pl.String(),
    "source_system": pl.String(),
    "first_name": pl.String(),
    "middle_name": pl.String(),
    "last_name": pl.String(),
    "full_name": pl.String(),
    "date_of_birth": pl.Date(),
    "email": pl.String(),
    "phone": pl.String(),
    "address_line1": pl.String(),
    "address_line2": pl.String(),
    "city": pl.String(),
    "state": pl.String(),
    "postcode": pl.String(),
    "country": pl.String(),
    "national_id_token": pl.String(),
    "national_id_last4_token": pl.String(),
    "customer_since": pl.Date(),
    "updated_at": pl.Date(),
    "is_deceased": pl.Boolean(),
    "do_not_contact": pl.Boolean(),
    "source_file": pl.String(),
    "source_row": pl.Int64(),
}

#: std_accounts: one row per product account (deposit, card, mortgage, loan).
ACCOUNT_COLUMNS: Mapping[str, pl.DataType] = {
    "source": pl.String(),
    "account_id": pl.String(),
    "source_system": pl.String(),
    "product_family": pl.String(),  # deposit | card | mortgage | loan
    "product_type": pl.String(),  # checking | savings | cd | credit_card | fixed_30 ...
    "currency": pl.String(),
    "balance": pl.Float64(),
    "credit_limit": pl.Float64(),
    "principal": pl.Float64(),
    "interest_rate": pl.Float64(),
    "term_months": pl.Int64(),
    "days_past_due": pl.Int64(),
    "opened_date": pl.Date(),
    "closed_date": pl.Date(),
    "status": pl.String(),  # open | closed | charged_off ...
    "source_file": pl.String(),
    "source_row": pl.Int64(),
}

#: std_account_holders: which party record holds which account, and in what role.
ACCOUNT_HOLDER_COLUMNS: Mapping[str, pl.DataType] = {
    "account_source": pl.String(),
    "account_id": pl.String(),
    "party_source": pl.String(),
    "party_record_id": pl.String(),
    "role": pl.String(),  # primary | joint | co_borrower | authorized_user
}

#: std_transactions: signed amounts, positive = money into the customer's account.
TRANSACTION_COLUMNS: Mapping[str, pl.DataType] = {
    "source": pl.String(),
    "transaction_id": pl.String(),
    "account_source": pl.String(),
    "account_id": pl.String(),
    "posted_date": pl.Date(),
    "amount": pl.Float64(),
    # salary | rent | mortgage_payment | bill | card_payment | transfer | purchase | deposit | fee | other
    "category": pl.String(),
    "counterparty": pl.String(),  # payer / payee name, e.g. the employer for salary credits
    "merchant_category": pl.String(),  # card transactions: MCC description
    "source_file": pl.String(),
    "source_row": pl.Int64(),
}

#: std_events: digital engagement events per party record.
EVENT_COLUMNS: Mapping[str, pl.DataType] = {
    "source": pl.String(),
    "event_id": pl.String(),
    "party_source": pl.String(),
    "party_record_id": pl.String(),
    "event_time": pl.Datetime("us"),
    # login | page_view | application_started | application_abandoned | application_submitted
    "event_type": pl.String(),
    "page": pl.String(),  # e.g. /mortgages/rates
    "channel": pl.String(),  # app | web
    "device_id": pl.String(),
    "source_file": pl.String(),
    "source_row": pl.Int64(),
}

#: std_consents: every consent decision with its timestamp; the current state is the latest.
CONSENT_COLUMNS: Mapping[str, pl.DataType] = {
    "source": pl.String(),
    "party_source": pl.String(),
    "party_record_id": pl.String(),
    "purpose": pl.String(),  # marketing | credit_offers | profiling | third_party
    "channel": pl.String(),  # email | sms | mail | phone | app
    "granted": pl.Boolean(),
    "updated_at": pl.Datetime("us"),
    "source_file": pl.String(),
    "source_row": pl.Int64(),
}

#: rejects: one row per contract violation. No raw values are kept, so no PII leaks here.
REJECT_COLUMNS: Mapping[str, pl.DataType] = {
    "source": pl.String(),
    "file": pl.String(),
    "line": pl.Int64(),  # 1-based line in the file, header = line 1 for csv
    "column": pl.String(),
    "reason": pl.String(),
}

#: ingest_reconciliation: per file, rows_read = rows_accepted + rows_rejected.
RECONCILIATION_COLUMNS: Mapping[str, pl.DataType] = {
    "source": pl.String(),
    "file": pl.String(),
    "rows_read": pl.Int64(),
    "rows_accepted": pl.Int64(),
    "rows_rejected": pl.Int64(),
}

#: identity_clusters: exactly one row per accepted party record.
CLUSTER_COLUMNS: Mapping[str, pl.DataType] = {
    "source": pl.String(),
    "record_id": pl.String(),
    "customer_id": pl.String(),
}

#: erased_customers: customer IDs that held a record named in the erasure register. Kept (IDs are
#: opaque, no PII) so that no export or segment can ever reach the person again.
ERASED_CUSTOMER_COLUMNS: Mapping[str, pl.DataType] = {
    "customer_id": pl.String(),
    "erased_records": pl.Int64(),
    "first_erased_run_id": pl.String(),
    "first_erased_at": pl.Datetime("us"),
}


@overload
def conform(frame: pl.DataFrame, columns: Mapping[str, pl.DataType]) -> pl.DataFrame: ...
@overload
def conform(frame: pl.LazyFrame, columns: Mapping[str, pl.DataType]) -> pl.LazyFrame: ...
def conform(
    frame: pl.DataFrame | pl.LazyFrame, columns: Mapping[str, pl.DataType]
) -> pl.DataFrame | pl.LazyFrame:
    """Return ``frame`` (eager or lazy) with exactly ``columns``, in order, cast to their dtypes.

    Missing columns are added as typed nulls; extra columns are dropped.

    Example:
        >>> conform(pl.DataFrame({"record_id": ["1"], "source": ["core"]}), CLUSTER_COLUMNS)
        shape: (1, 3)
        ┌────────┬───────────┬─────────────┐
        │ source ┆ record_id ┆ customer_id │
        │ ---    ┆ ---       ┆ ---         │
        │ str    ┆ str       ┆ str         │
        ╞════════╪═══════════╪═════════════╡
        │ core   ┆ 1         ┆ null        │
        └────────┴───────────┴─────────────┘
    """
    present = set(frame.collect_schema().names())
    return frame.select(
        [
            (pl.col(name) if name in present else pl.lit(None)).cast(dtype).alias(name)
            for name, dtype in columns.items()
        ]
    )


def empty_frame(columns: Mapping[str, pl.DataType]) -> pl.DataFrame:
    """An empty frame with the given contract, for sources that supply nothing."""
    return pl.DataFrame(schema=dict(columns))
