"""Phone numbers: E.164 normalisation with phonenumbers, Mexican ``+521`` folding (SPEC PHN-006)."""

from __future__ import annotations

import re

import phonenumbers

_PUNCTUATION = re.compile(r"[\s().\-/]")
_MEXICAN_MOBILE = re.compile(r"^\+521(\d{10})$")
MAX_PHONE_INPUT = 40


class InvalidPhone(ValueError):
    """The text is not a valid phone number."""


def fold_mexican(text: str) -> str:
    """``+521`` + 10 digits → ``+52`` + those digits, after removing spaces and punctuation."""
    compact = _PUNCTUATION.sub("", text)
    match = _MEXICAN_MOBILE.match(compact)
    return f"+52{match.group(1)}" if match else text


def normalize_phone(text: str, region: str = "US") -> str:
    """The E.164 form of ``text`` (national formats read in ``region``); raises InvalidPhone."""
    if not isinstance(text, str) or not text.strip() or len(text) > MAX_PHONE_INPUT:
        raise InvalidPhone("not a phone number")
    folded = fold_mexican(text.strip())
    try:
        number = phonenumbers.parse(folded, region.upper())
    except phonenumbers.NumberParseException as exc:
        raise InvalidPhone(str(exc)) from None
    if not phonenumbers.is_valid_number(number):
        raise InvalidPhone("not a valid phone number")
    e164 = phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)
    return fold_mexican(e164)


def mask_phone(phone: str | None) -> str:
    """``+1212*****23``: enough to tell numbers apart in logs, not enough to call (SPEC OPS-001)."""
    if not phone:
        return ""
    keep_head = 5 if len(phone) > 9 else 2
    return phone[:keep_head] + "*" * max(len(phone) - keep_head - 2, 0) + phone[-2:]
