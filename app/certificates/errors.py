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
