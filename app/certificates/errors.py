from __future__ import annotations

from app.errors import Conflict, NotFound
from app.i18n import Text


class CertificateNotFound(NotFound):
    code = "CERTIFICATE_NOT_FOUND"
    title = Text("未找到该证明", "No such certificate")


class AlreadyRevoked(Conflict):
    code = "ALREADY_REVOKED"
    title = Text("该证明已被撤销", "The certificate is already revoked")
