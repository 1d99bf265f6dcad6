"""Descriptions of the ingestion tables and ``erased_customers`` (for docs/data_dictionary.md)."""

from __future__ import annotations

from cdp.schemas.docs import TableDoc

_PROVENANCE = {
    "source": "Config entry (source name) the row was read from.",
    "source_file": "Extract file, relative to the source config.",
    "source_row": "1-based line (csv, header = line 1) or row number (parquet) in that file.",
}

TABLE_DOCS: tuple[TableDoc, ...] = (
    TableDoc(
        name="std_parties",
        description=(
            "Canonical party records from every party source. Names are lower-case ASCII without "
            "punctuation, email lower-case, phone E.164, addresses with USPS abbreviations; placeholder "
            "dates of birth (1900-01-01) are null. Raw national IDs never appear: only keyed HMAC tokens."
        ),
        grain="One row per accepted party record (source, record_id) after upserts, deletions and erasure.",
        columns={
            **_PROVENANCE,
            "record_id": "The record's key in its source (the config's record_id column).",
            "source_system": "core | card | mortgage | digital (the system the source belongs to).",
            "first_name": "Normalized first (given) name.",
            "middle_name": "Normalized middle name or initial.",
            "last_name": "Normalized last (family) name.",
            "full_name": "first middle last, normalized.",
            "date_of_birth": "Date of birth; null when missing, invalid or a placeholder.",
            "email": "Lower-case email without +tag.",
            "phone": "Phone in E.164 (+15551234567).",
            "address_line1": "Street line, normalized.",
            "address_line2": "Unit / apartment line, normalized.",
            "city": "City, normalized.",
            "state": "Two-letter state code.",
            "postcode": "5-digit ZIP (other countries: upper-case local code).",
            "country": "ISO 3166 alpha-2 country code.",
            "national_id_token": "HMAC token of the full national ID (never the ID itself); null if invalid.",
            "national_id_last4_token": "HMAC token of the national ID's last 4 digits (mortgage system).",
            "customer_since": "When the source says the relationship began.",
            "updated_at": "Last maintenance date of the record in its source.",
            "is_deceased": "The source flags the person as deceased.",
            "do_not_contact": "The source flags the person as do-not-contact.",
        },
        contains_pii=True,
    ),
    TableDoc(
        name="std_accounts",
        description="Product accounts of every line of business, with balances, limits and delinquency.",
        grain="One row per account (source, account_id).",
        columns={
            **_PROVENANCE,
            "account_id": "The account's key in its source.",
            "source_system": "core | card | mortgage.",
            "product_family": "deposit | card | mortgage | loan.",
            "product_type": "checking | savings | cd | credit_card | fixed_30 ...",
            "currency": "ISO 4217 currency code.",
            "balance": "Current balance (cards and loans: amount owed).",
            "credit_limit": "Card credit limit.",
            "principal": "Original loan principal.",
            "interest_rate": "Interest rate in percent.",
            "term_months": "Loan term in months.",
            "days_past_due": "Days past due (cards) or in arrears (mortgages); 0 when current.",
            "opened_date": "Date the account was opened.",
            "closed_date": "Date the account was closed; null while open.",
            "status": "open | closed | charged_off ...",
        },
    ),
    TableDoc(
        name="std_account_holders",
        description="Which party record holds which account, and in what role.",
        grain="One row per (account, party record, role).",
        columns={
            "account_source": "Source of the account (std_accounts.source).",
            "account_id": "The account (std_accounts.account_id).",
            "party_source": "Source of the holder's party record.",
            "party_record_id": "The holder's party record id.",
            "role": "primary | joint | co_borrower | authorized_user.",
        },
    ),
    TableDoc(
        name="std_transactions",
        description="Posted account transactions; amount is positive for money into the customer's account.",
        grain="One row per transaction (source, transaction_id).",
        columns={
            **_PROVENANCE,
            "transaction_id": "The transaction's key in its source.",
            "account_source": "Source of the account.",
            "account_id": "The account the transaction posted to.",
            "posted_date": "Posting date.",
            "amount": "Signed amount: positive = credit to the customer.",
            "category": (
                "salary | rent | mortgage_payment | bill | card_payment | transfer | purchase | deposit | "
                "fee | other."
            ),
            "counterparty": "Payer or payee (the employer for salary credits).",
            "merchant_category": "Card transactions: merchant category description.",
        },
    ),
    TableDoc(
        name="std_events",
        description="Digital engagement events: logins, page views, applications.",
        grain="One row per event (source, event_id).",
        columns={
            **_PROVENANCE,
            "event_id": "The event's key in its source.",
            "party_source": "Source of the party record the event belongs to.",
            "party_record_id": "The party record the event belongs to.",
            "event_time": "When the event happened (UTC).",
            "event_type": (
                "login | page_view | application_started | application_abandoned | application_submitted."
            ),
            "page": "Page path for page views, e.g. /mortgages/rates.",
            "channel": "app | web.",
            "device_id": "Device identifier of the session.",
        },
    ),
    TableDoc(
        name="std_consents",
        description="Every consent decision with its timestamp; customer_consent holds the current state.",
        grain="One row per decision (party record, purpose, channel, updated_at).",
        columns={
            **_PROVENANCE,
            "party_source": "Source of the party record that gave the decision.",
            "party_record_id": "The party record that gave the decision.",
            "purpose": "marketing | credit_offers | profiling | third_party.",
            "channel": "email | sms | mail | phone | app.",
            "granted": "True = consent given, false = refused or withdrawn.",
            "updated_at": "When the decision was made (UTC).",
        },
    ),
    TableDoc(
        name="rejects",
        description=(
            "Quarantined rows: every contract violation with the file, line, column and reason. Raw values "
            "are not kept, so no PII reaches this table. A row with two problems has two reject rows."
        ),
        grain="One row per (rejected row, problem).",
        columns={
            "source": "Config entry the file belongs to.",
            "file": "Extract file, relative to the source config.",
            "line": "1-based line in the file (csv header = line 1).",
            "column": "Source column (or canonical field) at fault.",
            "reason": "What is wrong, e.g. 'missing record_id', 'duplicate record_id', 'expression failed'.",
        },
    ),
    TableDoc(
        name="ingest_reconciliation",
        description="Row counts per extract file; rows_read = rows_accepted + rows_rejected always holds.",
        grain="One row per extract file.",
        columns={
            "source": "Config entry the file belongs to.",
            "file": "Extract file, relative to the source config.",
            "rows_read": "Data rows in the file.",
            "rows_accepted": "Rows that passed the contract (including deletion markers).",
            "rows_rejected": "Rows quarantined in rejects.",
        },
    ),
    TableDoc(
        name="ingest_files",
        description=(
            "Manifest of every extract file ingested so far. A run reads only files not listed here; "
            "landed files are immutable, so a listed file that changed or vanished, a late file sorting "
            "before an ingested one, or a changed mapping or token key makes the run read everything again."
        ),
        grain="One row per ingested extract file.",
        columns={
            "source": "Config entry the file belongs to.",
            "file": "Extract file, relative to the source config (as in rejects and reconciliation).",
            "size_bytes": "File size when ingested.",
            "modified_ns": "File modification time (ns since the epoch) when ingested.",
            "sha256": "SHA-256 of the file's content.",
            "entry_fingerprint": "Keyed digest of the entry's mapping and the token key (no key material).",
            "rows_read": "Data rows in the file.",
            "rows_accepted": "Rows that passed the contract.",
            "rows_rejected": "Rows quarantined in rejects.",
            "ingested_at": "When the file was ingested (UTC).",
        },
    ),
    TableDoc(
        name="erased_customers",
        description=(
            "Customer IDs that held a record named in the erasure register. Their records are removed at "
            "ingestion; the opaque ID stays here so no export or segment list can reach the person again. "
            "A customer that later holds one of an erased customer's other records (a split gave them a "
            "new ID, or a merge took them in) is added too."
        ),
        grain="One row per erased customer ID.",
        columns={
            "customer_id": "The customer ID the erased records belonged to.",
            "erased_records": "How many of its records the register has named (0: added for holding an "
            "erased customer's other records).",
            "first_erased_run_id": "Run that first found the erasure.",
            "first_erased_at": "When that run happened (UTC).",
        },
    ),
    TableDoc(
        name="identity_runs",
        description=(
            "One row per run of the identity stage: whether it resolved only the new and changed records "
            "(incremental) or everything (full), why, and what it touched. A run is incremental when the "
            "previous run published its state with the same linkage model and clustering policy."
        ),
        grain="One row per pipeline run (append-only).",
        columns={
            "run_id": "Pipeline run.",
            "run_time": "When the run resolved identities (UTC).",
            "mode": "full | incremental.",
            "reason": (
                "Why: no previous run, --full-refresh, model, policy or code changed, the population "
                "drifted past the limit since its last full scoring, the last run's linkage state "
                "was not kept or does not fit, state reusable, or nothing to resolve (no party "
                "record or decision changed)."
            ),
            "model_version": "Version (content digest) of the linkage model used.",
            "code_version": "Digest of the cdp code that ran; a change resolves everything again.",
            "decisions_version": (
                "Digest of the steward's must-link and cannot-link pairs in force; with no party record "
                "changed and the same digest, the run reuses the previous state as is."
            ),
            "threshold": "Match probability at which records link.",
            "max_cluster_size": "Over-merge guard: largest customer formed without review.",
            "records": "Accepted party records this run.",
            "new_records": "Records not in the previous run.",
            "changed_records": "Records whose canonical content changed since the previous run.",
            "removed_records": "Records deleted or erased since the previous run.",
            "scored_records": "Records sent to the Splink model this run.",
            "affected_customers": "Customers whose records were re-clustered.",
            "customers": "Customers after the run.",
            "identity_events": "Rows this run added to identity_changes.",
            "unknown_record_decisions": "Steward decisions naming a record that is not on file (in the "
            "review queue as unknown_record).",
            "seconds": "Wall time of the identity stage.",
        },
    ),
    TableDoc(
        name="customer_360_runs",
        description=(
            "One row per run of the customer 360 stage: a full build, or a splice that rebuilt only the "
            "customers the run touched (equal to a full build on the same inputs)."
        ),
        grain="One row per pipeline run (append-only).",
        columns={
            "run_id": "Pipeline run.",
            "run_time": "When the run built the 360 (UTC).",
            "as_of": "Reference date of ages, tenure, engagement windows and open accounts.",
            "mode": "full | incremental.",
            "reason": "Why this mode.",
            "rules_version": "Digest of the survivorship rules; a change forces a full build.",
            "code_version": "Digest of the cdp code that ran; a change forces a full build.",
            "customers": "Customers in customer_360 after the run.",
            "rebuilt_customers": "Customers rebuilt from their records this run.",
            "seconds": "Wall time of the customer 360 stage.",
        },
    ),
)
