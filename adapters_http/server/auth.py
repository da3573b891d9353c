"""Bearer-token verification with pyjwt (API.md §1): algorithm allow-list, ``exp`` required."""

from __future__ import annotations

import math
import time
from typing import Any

import attrs
import jwt
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.hazmat.primitives.serialization import load_pem_public_key
from jwt.algorithms import HMACAlgorithm

from entrycore.errors import Unauthorized

MAX_CACHED_TOKENS = 100_000
MAX_SUBJECT = 200  # characters of a user id


@attrs.frozen
class TokenVerifier:
    """Verifies bearer tokens: HS256 with a shared secret, or RS256/ES256 with a PEM public key."""

    key: Any = attrs.field(repr=False)
    algorithms: tuple[str, ...]
    audience: str | None = None
    issuer: str | None = None
    # Verified tokens (token → user, supreme, exp): a fan's app sends the same token with every request, and
    # signature checking is the largest cost of a GET. Only successes are kept, until their own exp.
    _verified: dict[str, tuple[str, bool, float]] = attrs.field(factory=dict, repr=False, eq=False)

    _decoder: jwt.PyJWT = attrs.field(factory=jwt.PyJWT, repr=False, eq=False)

    @classmethod
    def for_secret(cls, secret: str, audience: str | None = None, issuer: str | None = None) -> TokenVerifier:
        """Raises ValueError for a secret pyjwt refuses as an HMAC key (e.g. one that looks like a PEM key)."""
        try:
            HMACAlgorithm(HMACAlgorithm.SHA256).prepare_key(secret)  # pyjwt's public check, once, at start
        except jwt.InvalidKeyError as exc:
            raise ValueError(f"not usable as an HS256 secret: {exc}") from None
        return cls(key=secret, algorithms=("HS256",), audience=audience, issuer=issuer)

    @classmethod
    def for_public_key(cls, pem: str, audience: str | None = None, issuer: str | None = None) -> TokenVerifier:
        """The key type decides the one allowed family; raises ValueError for other key types."""
        key = load_pem_public_key(pem.encode())
        if isinstance(key, rsa.RSAPublicKey):
            algorithm = "RS256"
        elif isinstance(key, ec.EllipticCurvePublicKey):
            algorithm = "ES256"
        else:
            raise ValueError("the public key must be an RSA or EC (P-256) key")
        return cls(key=key, algorithms=(algorithm,), audience=audience, issuer=issuer)

    def verify(self, header: str | None) -> tuple[str, bool]:
        """``(user id, is supreme)`` from an ``Authorization: Bearer …`` header; raises Unauthorized."""
        scheme, _, token = (header or "").strip().partition(" ")
        token = token.strip()
        if scheme.lower() != "bearer" or not token:  # the scheme is case-insensitive (RFC 7235)
            raise Unauthorized("A bearer token is required.")
        known = self._verified.get(token)
        if known is not None and known[2] > time.time():
            return known[0], known[1]
        required = ["exp"] + (["aud"] if self.audience else []) + (["iss"] if self.issuer else [])
        try:
            claims = self._decoder.decode(
                token,
                self.key,
                algorithms=list(self.algorithms),
                audience=self.audience,
                issuer=self.issuer,
                options={"require": required, "verify_aud": self.audience is not None},
            )
        except (jwt.PyJWTError, ValueError, TypeError):
            raise Unauthorized("The bearer token is invalid or expired.") from None
        if any(name in claims and not _numeric_date(claims[name]) for name in ("exp", "iat", "nbf")):
            raise Unauthorized("The bearer token is invalid or expired.")  # pyjwt reads "1796…" as a number
        subject = claims.get("sub", claims.get("userId"))
        if not isinstance(subject, str) or not 1 <= len(subject) <= MAX_SUBJECT or not subject.isprintable():
            # A user id travels into keys, headers and partition keys: no control characters, no lone
            # surrogates (isprintable refuses both), and a bounded length.
            raise Unauthorized("The bearer token names no user.")
        supreme = claims.get("isSupreme") is True
        if len(self._verified) >= MAX_CACHED_TOKENS:
            self._verified.clear()  # crude but O(1) and thread-safe; refills from live traffic
        self._verified[token] = (subject, supreme, float(claims["exp"]))
        return subject, supreme


def _numeric_date(value: object) -> bool:
    """A JWT time claim is a JSON number (RFC 7519 §2 NumericDate): not a string of digits, not a boolean, and
    one a float holds (a 400-digit integer passes pyjwt and overflowed here)."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        return False
    try:
        return math.isfinite(float(value))
    except OverflowError:
        return False
