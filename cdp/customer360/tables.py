"""Descriptions of the tables the customer 360 stage publishes (for docs/data_dictionary.md)."""

from __future__ import annotations

from cdp.schemas.docs import TableDoc

_GOLDEN = "Golden value (survivorship rule in survivorship.yaml; source in customer_attribute_lineage)"

CUSTOMER_360 = TableDoc(
    name="customer_360",
    description=(
        "The one view of each customer that analysts, decisioning and compliance read: the golden "
        "record survived from all the customer's source records, their identifiers, open product "
        "holdings across lines of business, relationship tenure, digital engagement, household and "
        "a consent summary. Text attributes keep the normalized matching form of std_parties "
        "(lower-case names, E.164 phone); full_name is display-cased. Name parts come from one "
        "record, and the address (line 1, line 2, city, state, postcode) from one record, so values "
        "of different records are never mixed. Masked views drop national_id_token."
    ),
    grain="One row per customer_id (every customer in identity_clusters).",
    contains_pii=True,
    columns={
        "customer_id": "Stable customer id from identity resolution (primary key).",
        "first_name": f"{_GOLDEN}: first name, normalized lower-case ASCII; same record as last_name.",
        "middle_name": f"{_GOLDEN}: middle name or initial, from the same record as first/last name.",
        "last_name": f"{_GOLDEN}: last name, normalized lower-case ASCII.",
        "full_name": f"{_GOLDEN}: display-cased name ('John A Smith') of the winning name record.",
        "date_of_birth": f"{_GOLDEN}: date of birth.",
        "email": f"{_GOLDEN}: email; placeholders (pattern list, or shared by many customers) never win.",
        "phone": f"{_GOLDEN}: phone in E.164; placeholders never win.",
        "address_line1": f"{_GOLDEN}: street line; the whole address block comes from one record.",
        "address_line2": f"{_GOLDEN}: unit / apartment line of the same address record.",
        "city": f"{_GOLDEN}: city of the same address record.",
        "state": f"{_GOLDEN}: 2-letter state of the same address record.",
        "postcode": f"{_GOLDEN}: 5-digit ZIP of the same address record.",
        "country": f"{_GOLDEN}: ISO-3166 alpha-2 country.",
        "national_id_token": f"{_GOLDEN}: HMAC token of the national ID (never the raw ID); "
        "for matching and compliance only.",
        "is_deceased": f"{_GOLDEN}: true if any record says deceased (prefer_true); null when none says.",
        "do_not_contact": f"{_GOLDEN}: true if any record asks not to be contacted (prefer_true).",
        "identifiers": "Every party record of the customer as 'source:record_id', sorted.",
        "n_source_records": "Number of party records resolved to the customer.",
        "systems": "Distinct source systems (core, card, mortgage, digital ...) holding a record, sorted.",
        "deposit_accounts": "Open deposit accounts held (primary, joint ...; authorized users excluded).",
        "deposit_balance": "Sum of balances of open deposit accounts (0 when none).",
        "card_accounts": "Open card accounts held.",
        "card_balance": "Sum of balances owed on open card accounts.",
        "card_limit": "Sum of credit limits of open card accounts.",
        "card_utilization": "card_balance / card_limit; null without a positive limit.",
        "mortgage_accounts": "Open mortgage accounts held (borrower or co-borrower).",
        "mortgage_balance": "Sum of outstanding balances of open mortgages.",
        "loan_accounts": "Open (non-mortgage) loan accounts held.",
        "loan_balance": "Sum of outstanding balances of open loans.",
        "max_days_past_due_card": "Largest days past due over open card accounts; null without cards.",
        "max_days_in_arrears_mortgage": "Largest days past due over open mortgages; null without one.",
        "in_arrears": "True when any open account has days_past_due > 0, or any account was charged off "
        "or written off (the debt is still owed).",
        "product_families": "Distinct product families of open accounts (card, deposit ...), sorted.",
        "n_products": "Open accounts held (an account held through several records counts once).",
        "relationship_start_date": "Earliest customer_since of the records or opened_date of any held "
        "account (closed ones included).",
        "tenure_months": "Whole months from relationship_start_date to the run's as-of date.",
        "digital_registered": "The customer has a record in a digital party source (one that emits "
        "events, or of system 'digital').",
        "last_login_at": "Latest login event on or before the as-of date.",
        "logins_30d": "Login events in the 30 days ending on the as-of date (inclusive).",
        "logins_90d": "Login events in the 90 days ending on the as-of date (inclusive).",
        "age": "Whole years from the golden date_of_birth to the as-of date.",
        "household_id": "Household of the golden address (see households); null for no or oversized address.",
        "household_size": "Customers in that household.",
        "n_consents_granted": "Number of (purpose, channel) pairs whose current decision is granted; the "
        "per-pair state is in customer_consent, and a pair without a decision there is not consented.",
        "consents_granted": "Granted pairs as 'purpose:channel' ('any' for a purpose-wide consent), sorted.",
    },
)

CUSTOMER_ATTRIBUTE_LINEAGE = TableDoc(
    name="customer_attribute_lineage",
    description=(
        "Where each golden value came from and why it won. Filter on customer_id and attribute to "
        "answer 'where did this email come from?'. Block attributes (name parts, address) share one "
        "source record."
    ),
    grain="One row per customer_id and golden attribute with a non-null value.",
    contains_pii=True,
    columns={
        "customer_id": "Customer (customer_360.customer_id).",
        "attribute": "Golden column name (email, address_line1 ...).",
        "value": "The golden value rendered as text (dates ISO, flags true/false).",
        "source": "Party table of the winning record (source config name).",
        "record_id": "Key of the winning record in that table.",
        "source_system": "System label of the winning record (core, card, mortgage, digital ...).",
        "source_file": "Extract file the winning record was read from.",
        "source_row": "Row of that file (1-based, header = 1 for CSV).",
        "value_date": "The winning record's updated_at, or null when the source gives none.",
        "rule": "Step that chose this record over the best record with a different value: prefer_true | "
        "trust_order | recency | frequency | completeness | tie_break (source, record_id order); "
        "only_value when all candidate records agree.",
    },
)

CUSTOMER_SOURCE_RECORDS = TableDoc(
    name="customer_source_records",
    description="Every party record key of each customer: the join path from the 360 back to the sources.",
    grain="One row per party record (source, record_id) that belongs to a customer.",
    columns={
        "customer_id": "Customer the record resolved to.",
        "source": "Party table (source config name).",
        "record_id": "Record key in that table.",
        "source_system": "System label of the source.",
    },
)

CUSTOMER_CONSENT = TableDoc(
    name="customer_consent",
    description=(
        "Current consent state per customer, purpose and channel: the latest decision across all "
        "the customer's records and consent sources (a refusal wins a timestamp tie, and a decision "
        "recorded by date only ties with every decision of its day; decisions are "
        "not cut at the as-of date, so a withdrawal counts as soon as it is known). A customer, "
        "purpose and channel without a row has no consent."
    ),
    grain="One row per customer_id, purpose and channel with at least one decision.",
    columns={
        "customer_id": "Customer.",
        "purpose": "marketing | credit_offers | profiling | third_party ...",
        "channel": "email | sms | mail | phone | app ...; null when the decision covers the whole purpose.",
        "granted": "The current decision: true granted, false refused or withdrawn.",
        "updated_at": "When that decision was made.",
        "source": "Party table of the record the decision was given under.",
        "record_id": "Key of that party record.",
        "consent_source": "Consent table the decision was read from.",
        "source_file": "Extract file of the decision.",
        "source_row": "Row of that file.",
    },
)

HOUSEHOLDS = TableDoc(
    name="households",
    description=(
        "Customers at the same normalized golden address (address_line1 + 5-digit postcode; line 2 "
        "is ignored). Missing and placeholder addresses form no household, nor do addresses shared by "
        "more customers than survivorship.yaml's households.max_members (default 8). The id is an "
        "opaque, deterministic hash of the address key."
    ),
    grain="One row per customer that belongs to a household.",
    columns={
        "household_id": "'HH' + 16 hex digits of the SHA-256 of the address key.",
        "customer_id": "Member customer.",
        "household_size": "Number of customers in the household.",
    },
)

TABLE_DOCS: tuple[TableDoc, ...] = (
    CUSTOMER_360,
    CUSTOMER_ATTRIBUTE_LINEAGE,
    CUSTOMER_SOURCE_RECORDS,
    CUSTOMER_CONSENT,
    HOUSEHOLDS,
)
