"""Bearer-token verification with pyjwt (API.md §1): algorithm allow-list, ``exp`` required."""

from __future__ import annotations

from typing import Any

import attrs
import jwt
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.hazmat.primitives.serialization import load_pem_public_key

from entrycore.errors import Unauthorized


@attrs.frozen
class TokenVerifier:
    """Verifies bearer tokens: HS256 with a shared secret, or RS256/ES256 with a PEM public key."""

    key: Any = attrs.field(repr=False)
    algorithms: tuple[str, ...]
    audience: str | None = None
    issuer: str | None = None

    @classmethod
    def for_secret(cls, secret: str, audience: str | None = None, issuer: str | None = None) -> TokenVerifier:
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
        if not header or not header.startswith("Bearer "):
            raise Unauthorized("A bearer token is required.")
        token = header[len("Bearer ") :].strip()
        required = ["exp"] + (["aud"] if self.audience else []) + (["iss"] if self.issuer else [])
        try:
            claims = jwt.decode(
                token,
                self.key,
                algorithms=list(self.algorithms),
                audience=self.audience,
                issuer=self.issuer,
                options={"require": required, "verify_aud": self.audience is not None},
            )
        except (jwt.PyJWTError, ValueError, TypeError):
            raise Unauthorized("The bearer token is invalid or expired.") from None
        subject = claims.get("sub", claims.get("userId"))
        if not isinstance(subject, str) or not subject:
            raise Unauthorized("The bearer token names no user.")
        return subject, claims.get("isSupreme") is True
