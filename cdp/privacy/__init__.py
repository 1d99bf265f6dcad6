"""Privacy controls applied at ingestion: national-ID tokens and the right-to-erasure register."""

from __future__ import annotations

from cdp.privacy.erasure import ErasureRegister, load_erasure_register, suppress_erased
from cdp.privacy.tokens import national_id_last4_token, national_id_token, token_key, tokenize_series

__all__ = [
    "ErasureRegister",
    "load_erasure_register",
    "national_id_last4_token",
    "national_id_token",
    "suppress_erased",
    "token_key",
    "tokenize_series",
]
