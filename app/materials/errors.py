from __future__ import annotations

from app.errors import AppError
from app.i18n import Text


class UnsupportedMaterial(AppError):
    status = 415
    code = "UNSUPPORTED_MATERIAL_TYPE"
    title = Text("只接受 PDF、JPEG 或 PNG 文件", "Only PDF, JPEG or PNG files are accepted")


class UploadQuotaExceeded(AppError):
    status = 429
    code = "UPLOAD_QUOTA_EXCEEDED"
    title = Text("未使用的上传文件已达上限", "Your uploads not yet used by an application reached their limit")
