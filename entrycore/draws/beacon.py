"""drand beacons (SPEC §12): which round comes when, what it signs, and the BLS check of its signature.

Scheme ``bls-unchained-g1-rfc9380``: round r's signature is a 48-byte compressed G1 point signing
SHA-256(r as 8 bytes big-endian), hashed to G1 under RFC 9380 with the domain tag below; the chain's public key is
a 96-byte compressed G2 point; the round's randomness is SHA-256(signature). The check is the pairing equation
e(signature, g2) = e(H(message), public key), computed offline with py_ecc (pure Python: every CPython the
project supports), after checking that both points are on their curves and in the prime-order subgroup.
"""

from __future__ import annotations

import hashlib
import math
import sys

import attrs

_RECURSION_LIMIT = sys.getrecursionlimit()
from py_ecc.bls.hash_to_curve import hash_to_G1  # noqa: E402 - see below
from py_ecc.bls.point_compression import decompress_G1, decompress_G2  # noqa: E402
from py_ecc.fields import optimized_bls12_381_FQ12 as FQ12  # noqa: E402
from py_ecc.optimized_bls12_381.optimized_curve import G2, curve_order, is_inf, multiply, neg  # noqa: E402
from py_ecc.optimized_bls12_381.optimized_pairing import final_exponentiate, pairing  # noqa: E402

# Importing py_ecc raises the interpreter's recursion limit to 100,000 for all code (py_ecc/__init__.py). Deep
# recursion then overflows the C stack instead of raising RecursionError: a JSON body nested two million deep would
# crash the process rather than be answered 400 (tests/integration/test_http_hostile.py). What py_ecc does here
# recurses about 256 deep (a scalar multiplication by bits), so the limit goes back to what it was.
if sys.getrecursionlimit() != _RECURSION_LIMIT:
    sys.setrecursionlimit(_RECURSION_LIMIT)

DST = b"BLS_SIG_BLS12381G1_XMD:SHA-256_SSWU_RO_NUL_"
SIGNATURE_BYTES = 48
PUBLIC_KEY_BYTES = 96


@attrs.frozen
class Chain:
    """A drand chain of this scheme: its public key, the Unix time of round 1 and the seconds between rounds."""

    public_key: bytes
    genesis: int
    period: int
    chain_hash: str  # the relay's name for the chain: GET {relay}/{chain_hash}/public/{round}

    @classmethod
    def named(cls, public_key_hex: str, genesis: int, period: int) -> Chain:
        """Another chain than quicknet (tests, private deployments). Its relay name is SHA-256 of its key."""
        key = bytes.fromhex(public_key_hex)
        if len(key) != PUBLIC_KEY_BYTES or genesis < 0 or period < 1:
            raise ValueError("a chain is a 96-byte G2 public key (hex), a genesis time >= 0 and a period >= 1 s")
        return cls(key, genesis, period, hashlib.sha256(key).hexdigest())

    @property
    def is_quicknet(self) -> bool:
        return self.public_key == QUICKNET.public_key

    def round_time(self, round_number: int) -> int:
        """Unix time at which ``round_number`` is published."""
        return self.genesis + (round_number - 1) * self.period

    def first_round_at_or_after(self, unix_time: float) -> int:
        """The first round whose time is ``unix_time`` or later."""
        return max(1, math.ceil((unix_time - self.genesis) / self.period) + 1)

    def verifies(self, round_number: int, signature: bytes) -> bool:
        """Whether ``signature`` is this chain's signature of ``round_number``."""
        return verify(self.public_key, round_message(round_number), signature)


QUICKNET = Chain(
    public_key=bytes.fromhex(
        "83cf0f2896adee7eb8b5f01fcad3912212c437e0073e911fb90022d3e760183c8c4b450b6a0a6c3ac6a5776a2d1064510d1fec7"
        "58c921cc22b0e17e63aaf4bcb5ed66304de9cf809bd274ca73bab4af5a6e9c76a4bc09e76eae8991ef5ece45a"
    ),
    genesis=1692803367,
    period=3,
    chain_hash="52db9ba70e0cc0f6eaf7803dd07447a1f5477735fd3f661792ba94600c84e971",
)


def round_message(round_number: int) -> bytes:
    """What round ``round_number`` signs: SHA-256 of the round as 8 bytes big-endian."""
    return hashlib.sha256(round_number.to_bytes(8, "big")).digest()


def randomness(signature: bytes) -> bytes:
    """A round's randomness: SHA-256 of its signature bytes."""
    return hashlib.sha256(signature).digest()


def verify(public_key: bytes, message: bytes, signature: bytes) -> bool:
    """The BLS check of a G1 signature under a G2 public key (RFC 9380 hash to G1, min-signature scheme)."""
    if len(signature) != SIGNATURE_BYTES or len(public_key) != PUBLIC_KEY_BYTES:
        return False
    try:
        point = decompress_G1(int.from_bytes(signature, "big"))  # type: ignore[arg-type]
        key = decompress_G2((int.from_bytes(public_key[:48], "big"), int.from_bytes(public_key[48:], "big")))  # type: ignore[arg-type]
    except (ValueError, TypeError):
        return False  # not a point of the curve, or a badly flagged encoding
    if (
        is_inf(point)
        or is_inf(key)
        or not is_inf(multiply(point, curve_order))
        or not is_inf(multiply(key, curve_order))
    ):
        return False  # the point at infinity, or outside the prime-order subgroup
    hashed = hash_to_G1(message, DST, hashlib.sha256)  # type: ignore[arg-type]  # py_ecc types it as a hash object
    product = pairing(G2, point, final_exponentiate=False) * pairing(neg(key), hashed, final_exponentiate=False)
    return bool(final_exponentiate(product) == FQ12.one())
