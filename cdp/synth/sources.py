"""The ``sources.yaml`` that maps the generated extracts onto the canonical tables
(format: docs/contracts.md). Every value is a column of the extract or a DuckDB expression over
its VARCHAR columns; the code tables below are shared with the generators, so the mapping and the
data cannot disagree.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import yaml

from cdp.synth.cashflow import CATEGORY_CODES
from cdp.synth.extracts import SYSTEM_FILES

CORE_ACCOUNT_TYPES = {"DDA": "checking", "SAV": "savings", "CD": "cd"}
CORE_ACCOUNT_STATUS = {"O": "open", "C": "closed"}
CARD_STATUS = {"A": "open", "C": "closed", "CO": "charged_off"}
CARD_TXN_TYPES = {"PUR": "purchase", "REF": "purchase", "PMT": "card_payment", "INT": "fee", "FEE": "fee"}
MORTGAGE_PRODUCTS = {"FIXED30": "fixed_30", "FIXED15": "fixed_15", "FIXED20": "fixed_20", "ARM51": "arm_5_1"}
MORTGAGE_STATUS = {
    "Paid Off": "closed",
    "Foreclosure": "foreclosure",
    "Delinquent": "open",
    "Current": "open",
}
BRANCH_PURPOSES = {"MKT": "marketing", "PRE": "credit_offers", "PRF": "profiling", "3PS": "third_party"}
EVENT_NAMES = {
    "LOGIN": "login",
    "PAGE_VIEW": "page_view",
    "APPLICATION_START": "application_started",
    "APPLICATION_ABANDON": "application_abandoned",
    "APPLICATION_SUBMIT": "application_submitted",
}
ISO_UTC = "%Y-%m-%dT%H:%M:%SZ"


def sql_case(column: str, codes: Mapping[str, str]) -> str:
    """``CASE column WHEN 'code' THEN 'value' ... END`` for a fixed code table."""
    arms = " ".join(f"WHEN '{code}' THEN '{value}'" for code, value in codes.items())
    return f"CASE {column} {arms} END"


def _mailing_or_property(part: str) -> str:
    return f"CASE WHEN MailingStreet IS NULL THEN Property{part} ELSE Mailing{part} END"


PARTY_FIELDS: dict[str, dict[str, str]] = {
    "core_customers": {
        "first_name": "first_nm",
        "middle_name": "mid_init",
        "last_name": "last_nm",
        "date_of_birth": "CAST(strptime(birth_dt, '%m/%d/%Y') AS DATE)",
        "national_id": "ssn",
        "address_line1": "concat_ws(' ', house_no, street)",
        "address_line2": "apt",
        "city": "city",
        "state": "state",
        "postcode": "zip",
        "country": "'US'",
        "phone": "coalesce(mobile_phone, home_phone)",
        "email": "email_addr",
        "customer_since": "CAST(strptime(cust_open_dt, '%m/%d/%Y') AS DATE)",
        "updated_at": "CAST(last_maint_dt AS DATE)",
        "is_deceased": "deceased_ind = 'Y'",
        "do_not_contact": "dnc_flag = 'Y'",
    },
    "card_holders": {
        "full_name": "EMBOSS_NAME",
        "first_name": "split_part(EMBOSS_NAME, ' ', 1)",
        "middle_name": (
            "CASE WHEN len(string_split(EMBOSS_NAME, ' ')) > 2 THEN string_split(EMBOSS_NAME, ' ')[2] END"
        ),
        "last_name": "string_split(EMBOSS_NAME, ' ')[-1]",
        "date_of_birth": "CAST(strptime(DOB, '%Y%m%d') AS DATE)",
        "address_line1": "ADDR_LINE_1",
        "address_line2": "ADDR_LINE_2",
        "city": "CITY",
        "state": "STATE",
        "postcode": "left(ZIP, 5)",
        "country": "'US'",
        "phone": "PHONE",
        "email": "EMAIL",
        "customer_since": "CAST(strptime(SETUP_DATE, '%Y%m%d') AS DATE)",
        "updated_at": "CAST(strptime(MAINT_DATE, '%Y%m%d') AS DATE)",
    },
    "mortgage_borrowers": {
        "first_name": "FirstName",
        "middle_name": "MiddleName",
        "last_name": "LastName",
        "date_of_birth": "CAST(DateOfBirth AS DATE)",
        "national_id_last4": "SSNLast4",
        "address_line1": "coalesce(MailingStreet, PropertyStreet)",
        "address_line2": _mailing_or_property("Unit"),
        "city": _mailing_or_property("City"),
        "state": _mailing_or_property("State"),
        "postcode": _mailing_or_property("Zip"),
        "country": "'US'",
        "phone": "coalesce(CellPhone, HomePhone)",
        "email": "EmailAddress",
        "customer_since": "CAST(CreatedDate AS DATE)",
        "updated_at": "CAST(LastModified AS DATE)",
    },
    "digital_users": {
        "first_name": "given_name",
        "last_name": "family_name",
        "email": "login_email",
        "phone": "mobile",
        "date_of_birth": "CAST(birth_date AS DATE)",
        "postcode": "zip_code",
        "country": "'US'",
        "customer_since": f"CAST(strptime(registered_at, '{ISO_UTC}') AS DATE)",
        "updated_at": f"CAST(strptime(profile_updated_at, '{ISO_UTC}') AS DATE)",
    },
}
#: party table -> (system, file stem, record id column, delete marker condition).
PARTIES = {
    "core_customers": ("core", "customers", "cif_no", "record_status = 'D'"),
    "card_holders": ("card", "cardholders", "HOLDER_ID", "RECORD_STATUS = 'D'"),
    "mortgage_borrowers": ("mortgage", "borrowers", "BorrowerID", "RecordStatus = 'Deleted'"),
    "digital_users": ("digital", "users", "user_id", "account_state = 'deleted'"),
}


def _accounts() -> list[dict[str, Any]]:
    return [
        {
            "name": "core_accounts",
            "system": "core",
            "stem": "accounts",
            "record_id": "acct_no",
            "fields": {
                "product_family": "'deposit'",
                "product_type": sql_case("acct_type", CORE_ACCOUNT_TYPES),
                "currency": "currency_cd",
                "balance": "CAST(cur_bal AS DOUBLE)",
                "interest_rate": "CAST(int_rate AS DOUBLE)",
                "term_months": "CAST(term_mo AS BIGINT)",
                "opened_date": "CAST(open_dt AS DATE)",
                "closed_date": "CAST(close_dt AS DATE)",
                "status": sql_case("acct_status", CORE_ACCOUNT_STATUS),
            },
            "holders": [
                {"party": "core_customers", "key": "cif_no", "role": "'primary'"},
                {"party": "core_customers", "key": "joint_cif_no", "role": "'joint'"},
            ],
        },
        {
            "name": "card_accounts",
            "system": "card",
            "stem": "accounts",
            "record_id": "ACCT_NBR",
            "fields": {
                "product_family": "'card'",
                "product_type": "'credit_card'",
                "currency": "'USD'",
                "balance": "CAST(CUR_BALANCE AS DOUBLE)",
                "credit_limit": "CAST(CREDIT_LIMIT AS DOUBLE)",
                "days_past_due": "CAST(DAYS_PAST_DUE AS BIGINT)",
                "opened_date": "CAST(strptime(OPEN_DATE, '%Y%m%d') AS DATE)",
                "closed_date": "CAST(strptime(CLOSE_DATE, '%Y%m%d') AS DATE)",
                "status": sql_case("STATUS_CD", CARD_STATUS),
            },
            "holders": [
                {"party": "card_holders", "key": "HOLDER_ID", "role": "'primary'"},
                {"party": "card_holders", "key": "AUTH_USER_ID", "role": "'authorized_user'"},
            ],
        },
        {
            "name": "mortgage_loans",
            "system": "mortgage",
            "stem": "loans",
            "record_id": "LoanNumber",
            "fields": {
                "product_family": "'mortgage'",
                "product_type": sql_case("ProductCode", MORTGAGE_PRODUCTS),
                "currency": "'USD'",
                "principal": "CAST(OriginalPrincipal AS DOUBLE)",
                "balance": "CAST(CurrentUPB AS DOUBLE)",
                "interest_rate": "CAST(NoteRate AS DOUBLE)",
                "term_months": "CAST(TermMonths AS BIGINT)",
                "days_past_due": "CAST(DaysDelinquent AS BIGINT)",
                "opened_date": "CAST(OriginationDate AS DATE)",
                "status": sql_case("LoanStatus", MORTGAGE_STATUS),
            },
            "holders": [
                {"party": "mortgage_borrowers", "key": "PrimaryBorrowerID", "role": "'primary'"},
                {"party": "mortgage_borrowers", "key": "CoBorrowerID", "role": "'co_borrower'"},
            ],
        },
    ]


def _activity() -> dict[str, list[dict[str, Any]]]:
    return {
        "transactions": [
            {
                "name": "core_transactions",
                "system": "core",
                "stem": "transactions",
                "parquet": True,
                "record_id": "txn_id",
                "account": "core_accounts",
                "fields": {
                    "account_id": "acct_no",
                    "posted_date": "CAST(post_dt AS DATE)",
                    "amount": "CASE dr_cr WHEN 'D' THEN -CAST(amt AS DOUBLE) ELSE CAST(amt AS DOUBLE) END",
                    "category": sql_case("txn_cat", CATEGORY_CODES),
                    "counterparty": "cpty_name",
                },
            },
            {
                "name": "card_transactions",
                "system": "card",
                "stem": "transactions",
                "parquet": True,
                "record_id": "TXN_REF",
                "account": "card_accounts",
                "fields": {
                    "account_id": "ACCT_NBR",
                    "posted_date": "CAST(POST_DATE AS DATE)",
                    "amount": "-CAST(AMOUNT_CENTS AS DOUBLE) / 100",
                    "category": sql_case("TXN_TYPE", CARD_TXN_TYPES),
                    "counterparty": "MERCHANT_NAME",
                    "merchant_category": "MCC_DESC",
                },
            },
        ],
        "events": [
            {
                "name": "digital_events",
                "system": "digital",
                "stem": "events",
                "parquet": True,
                "record_id": "event_id",
                "party": "digital_users",
                "fields": {
                    "party_record_id": "user_id",
                    "event_time": "CAST(event_ts AS TIMESTAMP)",
                    "event_type": sql_case("event_name", EVENT_NAMES),
                    "page": "page_path",
                    "channel": "channel",
                    "device_id": "device_id",
                },
            },
        ],
        "consents": [
            {
                "name": "core_branch_consents",
                "system": "core",
                "stem": "branch_consents",
                "party": "core_customers",
                "fields": {
                    "party_record_id": "cif",
                    "purpose": sql_case("purpose_cd", BRANCH_PURPOSES),
                    "channel": "lower(channel_cd)",
                    "granted": "consent_yn = 'Y'",
                    "updated_at": "strptime(signed_dt, '%m/%d/%Y')",
                },
            },
            {
                "name": "digital_consents",
                "system": "digital",
                "stem": "consents",
                "party": "digital_users",
                "fields": {
                    "party_record_id": "user_id",
                    "purpose": "purpose",
                    "channel": "channel",
                    "granted": "opt_in = 'true'",
                    "updated_at": f"strptime(changed_at, '{ISO_UTC}')",
                },
            },
        ],
    }


def _entry(spec: dict[str, Any], prefix: str) -> dict[str, Any]:
    system, stem = spec["system"], spec["stem"]
    parquet = spec.get("parquet", False)
    ext = "parquet" if parquet else SYSTEM_FILES[system]["ext"]
    entry: dict[str, Any] = {
        "name": spec["name"],
        "system": system,
        "path": f"{prefix}{system}/{stem}_*.{ext}",
        "format": "parquet" if parquet else "csv",
    }
    if not parquet:
        entry["csv"] = {
            "delimiter": SYSTEM_FILES[system]["delimiter"],
            "encoding": SYSTEM_FILES[system]["encoding"],
        }
    for key in ("record_id", "account", "party", "deleted_when"):
        if key in spec:
            entry[key] = spec[key]
    entry["fields"] = spec["fields"]
    if "holders" in spec:
        entry["holders"] = spec["holders"]
    return entry


def sources_config(*, landing: bool, activity: bool = True) -> dict[str, Any]:
    """The source config as a dict; paths point under ``landing/`` for batch deliveries, and
    transactions and events are declared only when ``activity`` history was generated."""
    prefix = "landing/" if landing else ""
    parties = [
        _entry(
            {
                "name": name,
                "system": system,
                "stem": stem,
                "record_id": record_id,
                "deleted_when": deleted,
                "fields": PARTY_FIELDS[name],
            },
            prefix,
        )
        for name, (system, stem, record_id, deleted) in PARTIES.items()
    ]
    config: dict[str, Any] = {
        "version": 1,
        "parties": parties,
        "accounts": [_entry(spec, prefix) for spec in _accounts()],
    }
    for section, specs in _activity().items():
        if activity or section == "consents":
            config[section] = [_entry(spec, prefix) for spec in specs]
    return config


def sources_yaml(*, landing: bool, header: str, activity: bool = True) -> str:
    """The config rendered as YAML, with a comment header."""
    config = sources_config(landing=landing, activity=activity)
    body = str(yaml.safe_dump(config, sort_keys=False, width=10_000, allow_unicode=True))
    return "".join(f"# {line}\n" for line in header.splitlines()) + body
