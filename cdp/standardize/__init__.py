"""Standardization: mapped source records -> canonical records in matching form.

Ingestion renames each extract's columns to canonical field names and tokenizes national IDs;
the frame functions here normalize every value and return exactly the contract of the canonical
table (``cdp.schemas.canonical``). The expression builders are public so that other stages
normalize ad-hoc values (a search box, an override file) the same way.

Conventions are in docs/contracts.md, "Normalized text conventions". Everything runs as Polars
expressions; the few Python-level steps (unidecode, ``phonenumbers`` for non-US numbers) run once
per distinct value or character.
"""

from __future__ import annotations

from cdp.standardize.activity import (
    standardize_account_holders,
    standardize_accounts,
    standardize_consents,
    standardize_events,
    standardize_transactions,
)
from cdp.standardize.addresses import normalized_address, normalized_city, normalized_postcode
from cdp.standardize.codes import normalized_code, parse_bool, parsed_amount, parsed_integer
from cdp.standardize.dates import parsed_date, parsed_datetime
from cdp.standardize.emails import normalized_email
from cdp.standardize.names import normalized_full_name, normalized_name, split_full_name
from cdp.standardize.parties import standardize_parties
from cdp.standardize.phones import e164_phone
from cdp.standardize.regions import normalized_country, normalized_state

__all__ = [
    "e164_phone",
    "normalized_address",
    "normalized_city",
    "normalized_code",
    "normalized_country",
    "normalized_email",
    "normalized_full_name",
    "normalized_name",
    "normalized_postcode",
    "normalized_state",
    "parse_bool",
    "parsed_amount",
    "parsed_date",
    "parsed_datetime",
    "parsed_integer",
    "split_full_name",
    "standardize_account_holders",
    "standardize_accounts",
    "standardize_consents",
    "standardize_events",
    "standardize_parties",
    "standardize_transactions",
]
