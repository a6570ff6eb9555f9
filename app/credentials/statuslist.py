"""IETF Token Status List, with one bit per credential: 0 valid, 1 invalid (revoked or superseded).

The list is a byte array in which index 0 is the least significant bit of the first byte, compressed with
DEFLATE in the ZLIB format and base64url-encoded (`lst`). A verifier fetches the whole list and reads its
credential's bit there, so the service never learns which credential is being checked.
"""

from __future__ import annotations

import zlib
from collections.abc import Iterable

from app.credentials.encoding import b64url, b64url_decode

VALID, INVALID = 0, 1
# 2^17 indices (16 KiB before compression); a list is filled to half at most, at random indices, so an
# index says nothing about when or to whom a credential was issued.
LIST_SIZE = 1 << 17
FILL_LIMIT = LIST_SIZE // 2
TOKEN_TYPE = "statuslist+jwt"
MEDIA_TYPE = "application/statuslist+jwt"
# How long a verifier may keep a fetched list before fetching it again (the token's `ttl`, in seconds).
TTL_SECONDS = 60


def encode(invalid: Iterable[int], *, size: int = LIST_SIZE) -> str:
    bits = bytearray(size // 8)
    for index in invalid:
        bits[index // 8] |= 1 << (index % 8)
    return b64url(zlib.compress(bytes(bits), level=9))


def status_at(lst: str, index: int, *, bits: int = 1) -> int:
    """The status value at `index` in an encoded list (1, 2, 4 or 8 bits per entry)."""
    if bits not in (1, 2, 4, 8):
        raise ValueError(f"unsupported bits per status: {bits}")
    data = zlib.decompress(b64url_decode(lst))
    position = index * bits
    if index < 0 or position // 8 >= len(data):
        raise IndexError("the index lies outside the status list")
    return (data[position // 8] >> (position % 8)) & ((1 << bits) - 1)
