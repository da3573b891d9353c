"""Phone numbers: E.164 normalisation with phonenumbers, Mexican ``+521`` folding (SPEC PHN-006)."""

from __future__ import annotations

import re

import phonenumbers

from entrycore.judged import Judged

# Whitespace and the punctuation phonenumbers itself ignores inside numbers (its VALID_PUNCTUATION, less the
# extension mark "x"): dashes of every width, brackets, dots, slashes, tildes, invisible separators.
_PUNCTUATION = re.compile(
    r"[\s\-\u2010-\u2015\u2212\u30fc\uff0d-\uff0f\u00ad\u200b\u2060()\uff08\uff09\uff3b\uff3d.\[\]/~\u2053\u223c\uff5e]"
)
_MEXICAN_MOBILE = re.compile(r"^\+521(\d{10})$")
_E164 = re.compile(r"^\+[1-9][0-9]{6,14}$")
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
    return _judged((text, region))


def _judge(asked: tuple[str, str]) -> str:
    text, region = asked
    folded = fold_mexican(text.strip())
    try:
        number = phonenumbers.parse(folded, region.upper())
    except phonenumbers.NumberParseException as exc:
        raise InvalidPhone(str(exc)) from None
    if not phonenumbers.is_valid_number(number):
        raise InvalidPhone("not a valid phone number")
    e164 = fold_mexican(phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164))
    if not _E164.match(e164):  # phonenumbers accepts some national numbers longer than E.164's 15 digits
        raise InvalidPhone("not an E.164 phone number")
    return e164


# An E.164 number is its own normal form in every region (it names its country).
_judged = Judged[tuple[str, str]](_judge, fixed_point=lambda _: True, key_of=lambda answer, asked: (answer, asked[1]))
