from __future__ import annotations

from app.errors import AppError
from app.i18n import Text


class MaterialTooLarge(AppError):
    status = 413
    code = "MATERIAL_TOO_LARGE"
    title = Text("文件超过 10 MiB", "The file is larger than 10 MiB")


class UnsupportedMaterial(AppError):
    status = 415
    code = "UNSUPPORTED_MATERIAL_TYPE"
    title = Text("只接受 PDF、JPEG 或 PNG 文件", "Only PDF, JPEG or PNG files are accepted")


class UploadQuotaExceeded(AppError):
    status = 429
    code = "UPLOAD_QUOTA_EXCEEDED"
    title = Text("未使用的上传文件已达上限", "Your uploads not yet used by an application reached their limit")


class NotMultipart(AppError):
    status = 415
    code = "MULTIPART_REQUIRED"
    title = Text("请以 multipart/form-data 上传文件", "Upload the file as multipart/form-data")


class MalformedUpload(AppError):
    status = 400
    code = "MALFORMED_UPLOAD"
    title = Text("上传内容格式错误", "The upload is malformed")
