from __future__ import annotations

from typing import ClassVar

from app.errors import AppError, Forbidden, NotFound
from app.i18n import Text


class ShareNotFound(NotFound):
    code = "SHARE_NOT_FOUND"
    title = Text("未找到该分享链接", "No such share")


class ShareGone(AppError):
    """The holder revoked the link, or it expired: it existed, and answers so (410), never the data."""

    status: ClassVar[int] = 410
    code = "SHARE_GONE"
    title = Text("该分享链接已被撤销或已过期", "This share was revoked or has expired")


class PdfNotShared(Forbidden):
    code = "SHARE_PDF_NOT_SHARED"
    title = Text("持证人未分享全部信息，不能下载 PDF", "The holder did not share every field, so the PDF is not shared")
