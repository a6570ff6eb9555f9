"""Our SD-JWT and Token Status List encodings against the examples printed in the IETF drafts, so that a
wallet or verifier built on another implementation reads what we write."""

from __future__ import annotations

import json

import pytest

from app.credentials import sdjwt, statuslist
from app.credentials.encoding import b64url_decode

# SD-JWT: the disclosure of `family_name` = "Möbius" and its digest, as the draft gives them.
DRAFT_DISCLOSURE = "WyI2cU1RdlJMNWhhaiIsICJmYW1pbHlfbmFtZSIsICJNw7ZiaXVzIl0"
DRAFT_DIGEST = "uutlBuYeMDyjLLTpf6Jxi7yNkEF35jdyWMn9U7b_RYY"
# Token Status List: the 1-bit example list and the statuses it holds at indices 0..15.
DRAFT_LST = "eNrbuRgAAhcBXQ"
DRAFT_STATUSES = [1, 0, 0, 1, 1, 1, 0, 1, 1, 1, 0, 0, 0, 1, 0, 1]


def test_a_disclosure_digest_is_the_drafts():
    assert sdjwt.digest(DRAFT_DISCLOSURE) == DRAFT_DIGEST
    salt, name, value = json.loads(b64url_decode(DRAFT_DISCLOSURE))
    assert (name, value) == ("family_name", "Möbius")
    assert sdjwt.disclose({"_sd": [DRAFT_DIGEST], "_sd_alg": "sha-256"}, [DRAFT_DISCLOSURE]) == {
        "family_name": "Möbius"
    }


def test_the_drafts_status_list_reads_as_the_draft_says():
    assert [statuslist.status_at(DRAFT_LST, i) for i in range(16)] == DRAFT_STATUSES


def test_our_status_list_encodes_the_drafts_example_bit_for_bit():
    ours = statuslist.encode([i for i, bit in enumerate(DRAFT_STATUSES) if bit], size=16)
    assert [statuslist.status_at(ours, i) for i in range(16)] == DRAFT_STATUSES
    with pytest.raises(IndexError):
        statuslist.status_at(ours, 16)


def test_a_salt_carries_128_bits_and_no_two_disclosures_of_one_value_are_alike():
    first, second = sdjwt.make_disclosure("holder_name", "张伟"), sdjwt.make_disclosure("holder_name", "张伟")
    assert first != second and sdjwt.digest(first) != sdjwt.digest(second)
    salt = json.loads(b64url_decode(first))[0]
    assert len(b64url_decode(salt)) * 8 == 128
