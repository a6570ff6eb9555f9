from __future__ import annotations

from app.errors import Conflict, NotFound
from app.i18n import Text


class CertificateNotFound(NotFound):
    code = "CERTIFICATE_NOT_FOUND"
    title = Text("未找到该证明", "No such certificate")


class AlreadyRevoked(Conflict):
    code = "ALREADY_REVOKED"
    title = Text("该证明已被撤销", "The certificate is already revoked")


class AlreadySuperseded(Conflict):
    code = "CERTIFICATE_SUPERSEDED"
    title = Text("该证明已被补发的证明取代", "The certificate has been replaced by a re-issued one")

    def __init__(self, superseded_by: str | None = None) -> None:
        detail = None
        if superseded_by:
            detail = Text(f"请对新证明 {superseded_by} 操作", f"Act on the new certificate, {superseded_by}")
        super().__init__(detail)


class CertificateExpired(Conflict):
    code = "CERTIFICATE_EXPIRED"
    title = Text("该证明已过期，不能补发，请重新申请", "The certificate has expired: apply again instead of re-issuing")


class CertificateNotInForce(Conflict):
    """A share or a wallet credential asked of a certificate that is revoked, replaced or expired."""

    code = "CERTIFICATE_NOT_VALID"
    title = Text("该证明已撤销、已补发或已过期，不能分享或存入卡包", "The certificate is revoked, replaced or expired")

    def __init__(self, status: str) -> None:
        super().__init__(Text(f"证明状态：{status}", f"The certificate's status is {status}"))
