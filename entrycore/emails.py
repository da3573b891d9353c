"""Email addresses: syntax-only validation with email-validator (no DNS), stored lower-cased (ENT-006)."""

from __future__ import annotations

import email_validator

from entrycore.judged import Judged


class InvalidEmail(ValueError):
    """The text is not a syntactically valid email address."""


def normalize_email(text: str) -> str:
    """Trimmed, validated for syntax, lower-cased; raises InvalidEmail."""
    if not isinstance(text, str):
        raise InvalidEmail("not a string")
    return _judged(text)


def _judge(text: str) -> str:
    trimmed = text.strip()
    try:
        email_validator.validate_email(trimmed, check_deliverability=False, test_environment=False)
    except email_validator.EmailNotValidError as exc:
        raise InvalidEmail(str(exc)) from None
    return trimmed.lower()


# An ASCII address lower-cased is its own normal form (a Unicode one might not be: "İ".lower() is two characters).
_judged = Judged[str](_judge, fixed_point=str.isascii, key_of=lambda answer, _: answer)
