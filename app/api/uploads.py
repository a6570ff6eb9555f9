"""Reading one multipart file part from the request stream, refusing oversize bodies while reading."""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from python_multipart.multipart import MultipartParser, parse_options_header
from starlette.exceptions import HTTPException
from starlette.requests import ClientDisconnect, Request

from app.errors import AppError
from app.i18n import Text


class MaterialTooLarge(AppError):
    status = 413
    code = "MATERIAL_TOO_LARGE"
    title = Text("文件超过 10 MiB", "The file is larger than 10 MiB")


class NotMultipart(AppError):
    status = 415
    code = "MULTIPART_REQUIRED"
    title = Text("请以 multipart/form-data 上传文件", "Upload the file as multipart/form-data")


class MalformedUpload(AppError):
    status = 400
    code = "MALFORMED_UPLOAD"
    title = Text("上传内容格式错误", "The upload is malformed")


MAX_FILE_BYTES = 10 * 1024 * 1024
_ENVELOPE_ALLOWANCE = 64 * 1024  # multipart headers, boundaries and a few small fields


@dataclass
class _Part:
    headers: dict[bytes, bytes] = field(default_factory=dict)
    data: bytearray = field(default_factory=bytearray)


@dataclass(frozen=True)
class UploadedFile:
    content: bytes
    filename: str | None


# The request body of a route that reads its file with `read_file_part` (it takes the raw stream, so
# FastAPI cannot describe it): `openapi_extra=MULTIPART_FILE_BODY` documents the one `file` field.
MULTIPART_FILE_BODY: dict[str, object] = {
    "requestBody": {
        "required": True,
        "content": {
            "multipart/form-data": {
                "schema": {
                    "type": "object",
                    "required": ["file"],
                    "properties": {"file": {"type": "string", "format": "binary"}},
                }
            }
        },
    }
}

_SAFE_FILENAME = re.compile(r"[^\w.\-\u4e00-\u9fff ]+")


def safe_filename(raw: str | None) -> str | None:
    """Kept for display only: no path, no control or header-breaking characters, bounded."""
    if not raw:
        return None
    name = raw.replace("\\", "/").rsplit("/", 1)[-1]
    name = _SAFE_FILENAME.sub("_", name).strip(" .")[:120]
    return name or None


async def read_file_part(
    request: Request, *, field_name: str = "file", max_bytes: int = MAX_FILE_BYTES
) -> UploadedFile:
    content_type, params = parse_options_header(request.headers.get("content-type", ""))
    boundary = params.get(b"boundary")
    if content_type != b"multipart/form-data" or not boundary:
        raise NotMultipart()
    declared = request.headers.get("content-length")
    if declared and declared.isdigit() and int(declared) > max_bytes + _ENVELOPE_ALLOWANCE:
        raise MaterialTooLarge()

    parts: list[_Part] = []
    header: dict[str, bytes] = {"field": b"", "value": b""}

    def on_part_begin() -> None:
        parts.append(_Part())

    def on_header_field(data: bytes, start: int, end: int) -> None:
        header["field"] += data[start:end]

    def on_header_value(data: bytes, start: int, end: int) -> None:
        header["value"] += data[start:end]

    def on_header_end() -> None:
        parts[-1].headers[header["field"].lower()] = header["value"]
        header["field"] = header["value"] = b""

    def on_part_data(data: bytes, start: int, end: int) -> None:
        part = parts[-1]
        part.data += data[start:end]
        if len(part.data) > max_bytes:
            raise MaterialTooLarge()

    parser = MultipartParser(
        boundary,
        {
            "on_part_begin": on_part_begin,
            "on_header_field": on_header_field,
            "on_header_value": on_header_value,
            "on_header_end": on_header_end,
            "on_part_data": on_part_data,
        },
    )
    received = 0
    try:
        async for chunk in request.stream():
            received += len(chunk)
            if received > max_bytes + _ENVELOPE_ALLOWANCE:
                raise MaterialTooLarge()
            parser.write(chunk)
        parser.finalize()
    except (MaterialTooLarge, ClientDisconnect, HTTPException):  # HTTPException: the body timed out (408)
        raise
    except Exception as exc:  # the parser's own errors: malformed input, whatever its shape
        raise MalformedUpload() from exc

    for part in parts:
        disposition, options = parse_options_header(part.headers.get(b"content-disposition", b""))
        if disposition == b"form-data" and options.get(b"name") == field_name.encode():
            raw_name = options.get(b"filename")
            filename = raw_name.decode("utf-8", "replace") if raw_name else None
            return UploadedFile(content=bytes(part.data), filename=safe_filename(filename))
    raise MalformedUpload(f"no `{field_name}` part in the upload")
