"""Phone tokens (API.md §1): HS256 JWTs issued after the SMS one-time code, checked per SPEC PHN-002/009."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import jwt

from entrycore.errors import InvalidPhoneToken
from entrycore.phones import InvalidPhone, normalize_phone

ALGORITHMS = ["HS256"]


def verify_phone_token(
    token: Any, secret: str, *, campaign_id: str, phone: str | None, user_id: str, region: str, now: datetime
) -> None:
    """Raises InvalidPhoneToken unless ``token`` is a valid, unexpired phone token for this campaign, the
    entry's current phone (after normalisation) and, when it names a subject, this fan."""
    if not isinstance(token, str) or not token or len(token) > 8192:
        raise InvalidPhoneToken("The phone token is missing or malformed.")
    try:
        # exp is checked against the Clock below, not the wall clock, so tests stay deterministic.
        claims = jwt.decode(
            token,
            secret,
            algorithms=ALGORITHMS,
            options={"require": ["exp", "phone", "campaignId"], "verify_exp": False, "verify_iat": False},
        )
    except (jwt.PyJWTError, ValueError, TypeError):
        raise InvalidPhoneToken("The phone token is invalid.") from None
    expiry = claims.get("exp")
    if not isinstance(expiry, int | float) or isinstance(expiry, bool) or expiry <= now.timestamp():
        raise InvalidPhoneToken("The phone token has expired.")
    if claims.get("campaignId") != campaign_id:
        raise InvalidPhoneToken("The phone token is for another campaign.")
    subject = claims.get("sub")
    if subject is not None and subject != user_id:
        raise InvalidPhoneToken("The phone token is for another fan.")
    claimed_phone = claims.get("phone")
    if not isinstance(claimed_phone, str):
        raise InvalidPhoneToken("The phone token names no valid phone.")
    try:
        token_phone = normalize_phone(claimed_phone, region)
    except InvalidPhone:
        raise InvalidPhoneToken("The phone token names no valid phone.") from None
    if phone is None or token_phone != phone:
        raise InvalidPhoneToken("The phone token is for another phone number.")
