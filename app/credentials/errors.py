from __future__ import annotations

from app.errors import NotFound, ValidationFailed
from app.i18n import Text


class StatusListNotFound(NotFound):
    code = "STATUS_LIST_NOT_FOUND"
    title = Text("未找到该状态列表", "No such status list")


class InvalidHolderKey(ValidationFailed):
    code = "INVALID_HOLDER_KEY"
    title = Text("持有人公钥无效", "The holder's public key is not usable")
