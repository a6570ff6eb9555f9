"""A pyHanko signer that keeps its key parsed and writes the PAdES B-B CMS from a DER template: the two
costs of a signature that do not change between documents (docs/scaling.md)."""

from __future__ import annotations

from asn1crypto import algos, cms
from asn1crypto import x509 as asn1_x509
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa
from pyhanko.keys.internal import translate_pyca_cryptography_key_to_asn1
from pyhanko.sign import signers
from pyhanko.sign.general import as_signing_certificate_v2, get_pyca_cryptography_hash
from pyhanko.sign.signers.pdf_cms import PdfCMSSignedAttributes
from pyhanko_certvalidator.registry import SimpleCertificateStore

SigningKey = ec.EllipticCurvePrivateKey | rsa.RSAPrivateKey


def _der(tag: int, content: bytes) -> bytes:
    """One DER TLV: definite length, short form below 128 bytes."""
    n = len(content)
    if n < 0x80:
        return bytes((tag, n)) + content
    size = n.to_bytes((n.bit_length() + 7) // 8, "big")
    return bytes((tag, 0x80 | len(size))) + size + content


_INTEGER_1 = b"\x02\x01\x01"  # CMSVersion v1
_OID_SIGNED_DATA = b"\x06\x09\x2a\x86\x48\x86\xf7\x0d\x01\x07\x02"  # 1.2.840.113549.1.7.2


class _CmsTemplate:
    """The PAdES B-B CMS SignedData that pyHanko would build, kept as DER with two holes.

    For one signer everything but the document digest and the signature value is the same each
    time, yet pyHanko rebuilds it all through asn1crypto objects (most of ~20 ms per signature).
    Here the constant parts are encoded once, by asn1crypto and pyHanko's own helpers; per document
    only the signed attributes are joined and the outer lengths written. The output is byte-identical
    to pyHanko's for deterministic (RSA PKCS#1 v1.5) signatures; a test holds it to that.
    """

    def __init__(self, *, chain: list[asn1_x509.Certificate], signature_algorithm: algos.SignedDigestAlgorithm) -> None:
        cert = chain[0]
        digest_algorithm = algos.DigestAlgorithm({"algorithm": "sha256"})
        self.digest_algorithm = digest_algorithm.dump()
        self.signature_algorithm = signature_algorithm.dump()
        sid = cms.SignerIdentifier(
            {"issuer_and_serial_number": {"issuer": cert.issuer, "serial_number": cert.serial_number}}
        )
        self.sid = sid.dump()
        self.content_type_attr = cms.CMSAttribute({"type": "content_type", "values": ["data"]}).dump()
        self.signing_cert_attr = cms.CMSAttribute(
            {"type": "signing_certificate_v2", "values": [as_signing_certificate_v2(cert)]}
        ).dump()
        placeholder = b"\x00" * 32
        md_attr = cms.CMSAttribute({"type": "message_digest", "values": [placeholder]}).dump()
        assert md_attr.endswith(placeholder)
        self.message_digest_prefix = md_attr[: -len(placeholder)]
        # DER orders SET OF members by their encodings (what asn1crypto does for pyHanko's set).
        certificates = sorted(c.dump() for c in chain)
        self.signed_data_head = (
            _INTEGER_1
            + _der(0x31, self.digest_algorithm)
            + cms.EncapsulatedContentInfo({"content_type": "data"}).dump()
            + _der(0xA0, b"".join(certificates))  # certificates [0] IMPLICIT
        )

    def signed_attributes(self, document_digest: bytes) -> bytes:
        """The content of the SET OF Attribute: tagged SET (0x31) to sign, [0] IMPLICIT (0xA0) to embed."""
        if len(document_digest) != 32:
            raise ValueError("expected a SHA-256 digest")
        attrs = sorted((self.content_type_attr, self.message_digest_prefix + document_digest, self.signing_cert_attr))
        return b"".join(attrs)

    def content_info(self, signed_attributes: bytes, signature: bytes) -> bytes:
        signer_info = _der(
            0x30,
            _INTEGER_1
            + self.sid
            + self.digest_algorithm
            + _der(0xA0, signed_attributes)
            + self.signature_algorithm
            + _der(0x04, signature),
        )
        signed_data = _der(0x30, self.signed_data_head + _der(0x31, signer_info))
        return _der(0x30, _OID_SIGNED_DATA + _der(0xA0, signed_data))


class CachedKeySigner(signers.SimpleSigner):
    """SimpleSigner that keeps the parsed private key and builds the CMS from a DER template.

    Why: pyHanko's SimpleSigner.sign_raw re-parses the key for every signature (docs/scaling.md: ~28 ms per
    RSA-2048 load), and its CMS assembly through asn1crypto costs ~20 ms though almost nothing in it
    changes. Anything beyond the plain PAdES B-B case (timestamps, revocation info, other digests,
    dry runs) is left to pyHanko.
    """

    def __init__(self, *, key: SigningKey, chain: list[asn1_x509.Certificate], fast_cms: bool = True) -> None:
        self._key = key
        registry = SimpleCertificateStore()
        registry.register_multiple(chain[1:])
        super().__init__(
            signing_key=translate_pyca_cryptography_key_to_asn1(key),
            signing_cert=chain[0],
            cert_registry=registry,
        )
        self.template = (
            _CmsTemplate(chain=chain, signature_algorithm=self.get_signature_mechanism_for_digest("sha256"))
            if fast_cms
            else None
        )

    def sign_raw(self, data: bytes, digest_algorithm: str) -> bytes:
        mechanism = self.get_signature_mechanism_for_digest(digest_algorithm).signature_algo
        hash_algo = get_pyca_cryptography_hash(digest_algorithm)
        if mechanism == "ecdsa" and isinstance(self._key, ec.EllipticCurvePrivateKey):
            return self._key.sign(data, ec.ECDSA(hash_algo))
        if mechanism == "rsassa_pkcs1v15" and isinstance(self._key, rsa.RSAPrivateKey):
            return self._key.sign(data, padding.PKCS1v15(), hash_algo)
        return super().sign_raw(data, digest_algorithm)

    async def async_sign(
        self,
        data_digest: bytes,
        digest_algorithm: str,
        dry_run: bool = False,
        use_pades: bool = False,
        timestamper: object = None,
        signed_attr_settings: PdfCMSSignedAttributes | None = None,
        is_pdf_sig: bool = True,
        encap_content_info: object = None,
    ) -> bytes | cms.ContentInfo:
        settings = signed_attr_settings
        plain_pades = (
            self.template is not None
            and digest_algorithm == "sha256"
            and use_pades
            and is_pdf_sig
            and not dry_run
            and timestamper is None
            and encap_content_info is None
            and (
                settings is None
                or (
                    getattr(settings, "adobe_revinfo_attr", None) is None
                    and getattr(settings, "cades_signed_attrs", None) is None
                )
            )
        )
        if not plain_pades:
            return await super().async_sign(
                data_digest,
                digest_algorithm,
                dry_run=dry_run,
                use_pades=use_pades,
                timestamper=timestamper,
                signed_attr_settings=signed_attr_settings,
                is_pdf_sig=is_pdf_sig,
                encap_content_info=encap_content_info,
            )
        assert self.template is not None
        attributes = self.template.signed_attributes(data_digest)
        signature = self.sign_raw(_der(0x31, attributes), digest_algorithm)
        return self.template.content_info(attributes, signature)
