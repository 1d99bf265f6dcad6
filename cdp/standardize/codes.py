"""Flags, amounts and coded values (product families, roles, event types, consent purposes).

Codes become lower-case ``snake_case`` and known synonyms map onto the canonical vocabularies
listed in ``cdp/schemas/canonical.py``; an unknown code is kept (normalized), never dropped, so
that a new source value shows up downstream instead of silently vanishing.
"""

from __future__ import annotations

from collections.abc import Mapping

import polars as pl

from cdp.standardize._text import staged

TRUE_VALUES: tuple[str, ...] = ("y", "yes", "true", "t", "1", "1.0", "on")
FALSE_VALUES: tuple[str, ...] = ("n", "no", "false", "f", "0", "0.0", "off")

PRODUCT_FAMILIES: dict[str, str] = {
    "deposits": "deposit", "dep": "deposit", "dda": "deposit", "checking": "deposit", "savings": "deposit",
    "cards": "card", "credit_card": "card", "creditcard": "card", "cc": "card", "debit_card": "card",
    "mortgages": "mortgage", "mtg": "mortgage", "home_loan": "mortgage", "heloc": "mortgage",
    "loans": "loan", "lending": "loan", "personal_loan": "loan", "auto_loan": "loan",
    "installment": "loan", "consumer_loan": "loan",
}
PRODUCT_TYPES: dict[str, str] = {
    "chk": "checking", "dda": "checking", "sav": "savings", "savings_account": "savings",
    "certificate_of_deposit": "cd", "money_market": "mmda", "cc": "credit_card", "creditcard": "credit_card",
}
ACCOUNT_STATUSES: dict[str, str] = {
    "active": "open", "opened": "open", "current": "open", "closed_by_customer": "closed",
    "chargeoff": "charged_off", "charge_off": "charged_off", "chargedoff": "charged_off", "co": "charged_off",
}
HOLDER_ROLES: dict[str, str] = {
    "owner": "primary", "primary_owner": "primary", "primary_holder": "primary", "borrower": "primary",
    "joint_owner": "joint", "joint_holder": "joint", "secondary": "joint",
    "coborrower": "co_borrower", "co_applicant": "co_borrower", "coapplicant": "co_borrower",
    "authorized": "authorized_user", "authorised_user": "authorized_user", "au": "authorized_user",
}
TRANSACTION_CATEGORIES: dict[str, str] = {
    "payroll": "salary", "wages": "salary", "salary_credit": "salary",
    "mortgage": "mortgage_payment", "mtg_pmt": "mortgage_payment", "mortgage_pmt": "mortgage_payment",
    "bills": "bill", "bill_pay": "bill", "billpay": "bill", "utilities": "bill", "utility": "bill",
    "cc_payment": "card_payment", "credit_card_payment": "card_payment", "card_pmt": "card_payment",
    "xfer": "transfer", "trf": "transfer", "transfers": "transfer",
    "pos": "purchase", "purchases": "purchase", "dep": "deposit", "deposits": "deposit",
    "fees": "fee", "service_charge": "fee",
}
EVENT_TYPES: dict[str, str] = {
    "log_in": "login", "signin": "login", "sign_in": "login", "logon": "login",
    "pageview": "page_view", "view": "page_view", "page": "page_view",
    "app_start": "application_started", "application_start": "application_started",
    "apply_start": "application_started", "app_started": "application_started",
    "app_abandon": "application_abandoned", "application_abandon": "application_abandoned",
    "app_abandoned": "application_abandoned",
    "app_submit": "application_submitted", "application_submit": "application_submitted",
    "app_submitted": "application_submitted",
}
EVENT_CHANNELS: dict[str, str] = {
    "mobile": "app", "mobile_app": "app", "ios": "app", "android": "app",
    "online": "web", "browser": "web", "desktop": "web", "website": "web", "www": "web",
}
CONSENT_PURPOSES: dict[str, str] = {
    "mktg": "marketing", "direct_marketing": "marketing",
    "credit_offer": "credit_offers", "prescreen": "credit_offers", "prescreened_offers": "credit_offers",
    "profile": "profiling", "third_party_sharing": "third_party", "thirdparty": "third_party",
    "3rd_party": "third_party",
}
CONSENT_CHANNELS: dict[str, str] = {
    "e_mail": "email", "text": "sms", "text_message": "sms", "post": "mail", "postal": "mail",
    "direct_mail": "mail", "telephone": "phone", "call": "phone", "voice": "phone", "push": "app",
    "in_app": "app", "mobile_app": "app",
}


def parse_bool(col: str | pl.Expr) -> pl.Expr:
    """A flag from Y/N, yes/no, true/false, T/F, 1/0 (any case); anything else is null.

    Example:
        >>> df = pl.DataFrame({"flag": ["Y", "no", "TRUE", "f", "1", "0", "maybe", None]})
        >>> df.select(parse_bool("flag"))["flag"].to_list()
        [True, False, True, False, True, False, None, None]
    """
    text = pl.col("text")
    flag = pl.when(text.is_in(list(TRUE_VALUES))).then(True).when(text.is_in(list(FALSE_VALUES))).then(False)
    return staged(
        col,
        [{"text": pl.col("value").str.strip_chars().str.to_lowercase()}, {"result": flag}],
        return_dtype=pl.Boolean(),
    )


def normalized_code(col: str | pl.Expr, *, synonyms: Mapping[str, str] | None = None) -> pl.Expr:
    """A code in lower-case snake_case, mapped through ``synonyms`` when it is one of its keys.

    Args:
        col: Column name or expression.
        synonyms: Normalized code -> canonical code; codes not in it are kept as normalized.

    Example:
        >>> df = pl.DataFrame({"evt": ["Page View", "LOG-IN", "app_start", "Something New", " "]})
        >>> df.select(normalized_code("evt", synonyms=EVENT_TYPES))["evt"].to_list()
        ['page_view', 'login', 'application_started', 'something_new', None]
    """
    code = pl.col("code")
    mapped = code.replace(list(synonyms), list(synonyms.values())) if synonyms else code
    snake = pl.col("value").str.to_lowercase().str.replace_all(r"[^a-z0-9]+", "_").str.strip_chars("_")
    return staged(
        col,
        [{"code": snake}, {"result": pl.when(code.str.len_bytes() > 0).then(mapped)}],
        return_dtype=pl.String(),
    )


def parsed_amount(col: str | pl.Expr) -> pl.Expr:
    """A money amount as float: currency symbols or codes, thousands separators and spaces are
    ignored; a leading or trailing minus and ``(12.50)`` are negative.

    Example:
        >>> df = pl.DataFrame({"amt": ["$1,234.50", "(12.50)", "7.25-", "-$3", "EUR 8", "1.5E+3", "n/a"]})
        >>> df.select(parsed_amount("amt"))["amt"].to_list()
        [1234.5, -12.5, -7.25, -3.0, 8.0, 1500.0, None]
    """
    text, value = pl.col("text"), pl.col("number")
    number = text.str.extract(r"((?:\d[\d,]*)?\.?\d+(?:[eE][+-]?\d+)?)", 1).str.replace_all(",", "")
    return staged(
        col,
        [
            {"text": pl.col("value").str.strip_chars()},
            {
                "negative": text.str.contains(r"^-|^\(.*\)$|-$"),
                "number": number.cast(pl.Float64, strict=False),
            },
            {"result": pl.when(pl.col("negative")).then(-value).otherwise(value)},
        ],
        return_dtype=pl.Float64(),
    )


def parsed_integer(col: str | pl.Expr) -> pl.Expr:
    """A whole number ("360", "360.0", "1,200") as Int64; fractions are truncated, junk is null.

    Example:
        >>> df = pl.DataFrame({"n": ["360", "12.0", "1,200", "x"]})
        >>> df.select(parsed_integer("n"))["n"].to_list()
        [360, 12, 1200, None]
    """
    return parsed_amount(col).cast(pl.Int64, strict=False)


def parsed_rate(col: str | pl.Expr) -> pl.Expr:
    """An interest rate as given, with a trailing ``%`` ignored ("4.25%" -> 4.25); no rescaling."""
    rate = pl.col("value").str.strip_chars().str.strip_chars_end("% ").cast(pl.Float64, strict=False)
    return staged(col, [{"result": rate}], return_dtype=pl.Float64())
