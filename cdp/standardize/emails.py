"""Email addresses in matching form: trimmed, lower-case, ``+tag`` removed, syntax-checked.

Placeholders such as ``noemail@bank.com`` are syntactically valid and kept here: whether a value
is a placeholder is decided from the data (how many people share it) in the resolve stage.
"""

from __future__ import annotations

import polars as pl

from cdp.standardize._text import staged

_ATOM = r"[a-z0-9!#$%&'*/=?^_`{|}~-]+"
_LABEL = r"[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?"
#: Dot-atom local part @ dotted domain with an alphabetic top-level label (RFC 5322, no quoting).
EMAIL_PATTERN = rf"^{_ATOM}(?:\.{_ATOM})*@(?:{_LABEL}\.)+[a-z]{{2,63}}$"


def normalized_email(col: str | pl.Expr) -> pl.Expr:
    """An email address in matching form, or null when it is not a syntactically valid address.

    Args:
        col: Column name or string expression.

    Returns:
        Trimmed, lower-case address with any ``+tag`` removed from the local part
        ("John.Smith+promo@Mail.com" -> "john.smith@mail.com"); ``mailto:`` prefixes are dropped.

    Example:
        >>> df = pl.DataFrame({"email": [" John+News@Example.COM ", "noemail@bank.com", "a@@b", "", None]})
        >>> df.select(normalized_email("email"))["email"].to_list()
        ['john@example.com', 'noemail@bank.com', None, None, None]
    """
    text = pl.col("value").str.strip_chars().str.to_lowercase().str.strip_prefix("mailto:")
    untagged = pl.col("untagged")
    return staged(
        col,
        [
            {"untagged": text.str.replace(r"^([^@+]+)\+[^@]*@", "${1}@")},
            {"result": pl.when(untagged.str.contains(EMAIL_PATTERN)).then(untagged)},
        ],
        return_dtype=pl.String(),
    )
