"""A drand chain of the tests' own (SPEC §12: a future quicknet round's signature cannot be had offline): a secret
key, its G2 public key, and rounds signed under the quicknet scheme (bls-unchained-g1-rfc9380), so draws can be
revealed with a beacon round in tests. The signing lives here only: the service never signs."""

# isort: skip_file
from __future__ import annotations

import hashlib

# First: entrycore.draws.beacon imports py_ecc and puts back the recursion limit py_ecc's import raises.
from entrycore.draws.beacon import DST, Chain, round_message

from py_ecc.bls.hash_to_curve import hash_to_G1
from py_ecc.bls.point_compression import compress_G1, compress_G2
from py_ecc.optimized_bls12_381.optimized_curve import G2, multiply


class TestChain:
    __test__ = False  # not a pytest class

    def __init__(self, secret: int = 0x5EC2E7, genesis: int = 1_700_000_000, period: int = 3) -> None:
        self.secret = secret
        z1, z2 = compress_G2(multiply(G2, secret))
        self.public_key_hex = (z1.to_bytes(48, "big") + z2.to_bytes(48, "big")).hex()
        self.chain = Chain.named(self.public_key_hex, genesis, period)

    @property
    def setting(self) -> str:
        """The ``ENTRY_DRAND_CHAIN`` value naming this chain."""
        return f"{self.public_key_hex}:{self.chain.genesis}:{self.chain.period}"

    def sign(self, round_number: int) -> bytes:
        point = multiply(hash_to_G1(round_message(round_number), DST, hashlib.sha256), self.secret)  # type: ignore[arg-type]
        return int(compress_G1(point)).to_bytes(48, "big")
