"""The keyed subject hash is what the request log is searched by: its output must never change, or every
event stored before the change could no longer be found by the person it is about."""

from __future__ import annotations

import hashlib
import hmac

from app.identity.subjects import SubjectHasher

KEY = b"0123456789abcdef" * 4


def test_the_subject_hash_is_hmac_sha256_of_the_normalised_id_number_pinned():
    hasher = SubjectHasher(KEY)
    assert hasher.hash("33010619880312015X") == "28175220a2f97a178c784caec6383520bf98568a45a30a5577c45526619af3ac"
    assert hasher.hash(" 33010619880312015x ") == hasher.hash("33010619880312015X")  # stripped, upper-cased
    assert hasher.hash("330106198803120150") == "3ba3776a3f52092696d0aad1d7fdb46ae0b83400a8965511a68a3822a5c9aac3"


def test_the_subject_hash_agrees_with_the_hmac_object_it_replaced():
    hasher = SubjectHasher(KEY)
    for id_number in ("110101199003078888", "31010119851212001X", "x"):
        assert hasher.hash(id_number) == hmac.new(KEY, id_number.upper().encode(), hashlib.sha256).hexdigest()


def test_remembered_hashes_are_the_hashes():
    hasher = SubjectHasher(KEY)
    fresh = [f"1101011990030{i:05d}" for i in range(5000)]  # more than are remembered: forgotten, made again
    for _ in range(2):
        for id_number in fresh[::97]:
            assert hasher.hash(id_number) == hmac.new(KEY, id_number.encode(), hashlib.sha256).hexdigest()
        for id_number in fresh:
            hasher.hash(id_number)
