"""Builders for tests: small functions that do one thing through the public API."""

from __future__ import annotations

import hashlib
import io
from datetime import date, timedelta
from typing import Any

import httpx

from app.identity.id_number import check_digit


def pdf_document(*, catalog: bytes = b"", extra_objects: tuple[bytes, ...] = (), note: bytes = b"") -> bytes:
    """A small, well-formed one-page PDF (a cross-reference table that holds), written by hand so that a
    test can add exactly what it means to (an /OpenAction, an embedded file...)."""
    objects = (
        b"<</Type/Catalog/Pages 2 0 R" + catalog + b">>",
        b"<</Type/Pages/Kids[3 0 R]/Count 1>>",
        b"<</Type/Page/Parent 2 0 R/MediaBox[0 0 595 842]/Resources<<>>>>",
        *extra_objects,
    )
    out = bytearray(b"%PDF-1.7\n" + (b"% " + note + b"\n" if note else b""))
    offsets = []
    for number, body in enumerate(objects, start=1):
        offsets.append(len(out))
        out += b"%d 0 obj\n%s\nendobj\n" % (number, body)
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
    out += b"".join(b"%010d 00000 n \n" % offset for offset in offsets)
    out += b"trailer\n<</Size %d/Root 1 0 R>>\nstartxref\n%d\n%%%%EOF\n" % (len(objects) + 1, xref)
    return bytes(out)


def jpeg_image(size: tuple[int, int] = (8, 8), *, comment: bytes | None = None) -> bytes:
    """A real JPEG (Pillow), with a COM segment if asked."""
    from PIL import Image

    buffer = io.BytesIO()
    extra = {"comment": comment} if comment is not None else {}
    Image.new("RGB", size, (200, 30, 30)).save(buffer, format="JPEG", **extra)
    return buffer.getvalue()


def png_image(size: tuple[int, int] = (8, 8), *, chunks: tuple[tuple[bytes, bytes], ...] = ()) -> bytes:
    """A real PNG (Pillow), with extra chunks (type, data) if asked."""
    from PIL import Image
    from PIL.PngImagePlugin import PngInfo

    info = PngInfo()
    for kind, data in chunks:
        info.add(kind, data)
    buffer = io.BytesIO()
    Image.new("RGBA", size, (30, 120, 200, 255)).save(buffer, format="PNG", pnginfo=info)
    return buffer.getvalue()


PDF_PROOF = pdf_document()
ZHANG_WEI = ("330106198803120150", "张伟", "上海市长宁区虹桥路1号5号楼301室")
LI_NA = ("340104199205200242", "李娜", "上海市徐汇区漕溪北路88号12楼1203室")
SHEN_GUOQIANG = ("31010119650815031X", "沈国强")
WANG_FANG = ("320102199107110642", "王芳", "上海市静安区延安中路1000号2号楼1502室")  # NO_HOUSING_RECORD
WU_JIANGUO = ("310107197511200333", "吴建国")  # criminal record
UNKNOWN_ID = "320581199505051235"


def staff_id_number(sub: str) -> str:
    """A staff member's own id number, one per account name (docs/api.md#staff-are-persons): valid GB
    11643, born 1960-1987 in Changning district, none of the demo dataset's people."""
    n = int.from_bytes(hashlib.sha256(sub.encode()).digest()[:8], "big")
    born = date(1960, 1, 1) + timedelta(days=n % 10_000)
    first17 = f"310105{born:%Y%m%d}{(n // 10_000) % 900 + 100:03d}"
    return first17 + check_digit(first17)


async def upload_proof(client: httpx.AsyncClient, headers: dict[str, str], content: bytes = PDF_PROOF) -> str:
    response = await client.post(
        "/v1/materials", headers=headers, files={"file": ("proof.pdf", content, "application/pdf")}
    )
    assert response.status_code == 201, response.text
    return str(response.json()["id"])


def residence_permit(address: str, material_ids: list[str]) -> dict[str, Any]:
    return {"service": "residence-permit", "details": {"address": address, "material_ids": material_ids}}


def no_criminal_record(purpose: str = "employment", note: str | None = None) -> dict[str, Any]:
    details: dict[str, Any] = {"purpose": purpose}
    if note is not None:
        details["purpose_note"] = note
    return {"service": "no-criminal-record-certificate", "details": details}


def household_registration(purpose: str = "办理子女入学") -> dict[str, Any]:
    return {"service": "household-registration-certificate", "details": {"purpose": purpose}}


def residence_registration(address: str, material_ids: list[str]) -> dict[str, Any]:
    return {"service": "residence-registration", "details": {"address": address, "material_ids": material_ids}}


def kinship(relative_id_number: str, purpose: str = "办理继承公证") -> dict[str, Any]:
    return {"service": "kinship-certificate", "details": {"relative_id_number": relative_id_number, "purpose": purpose}}


def temporary_identity(reason: str = "card_lost") -> dict[str, Any]:
    return {"service": "temporary-identity-certificate", "details": {"reason": reason}}


def renewal(serial: str) -> dict[str, Any]:
    return {"service": "residence-permit-renewal", "details": {"certificate_serial": serial}}


def address_change(serial: str, address: str, material_ids: list[str]) -> dict[str, Any]:
    return {
        "service": "residence-permit-address-change",
        "details": {"certificate_serial": serial, "address": address, "material_ids": material_ids},
    }


async def file(
    client: httpx.AsyncClient, headers: dict[str, str], body: dict[str, Any], **kwargs: Any
) -> httpx.Response:
    return await client.post("/v1/applications", headers=headers, json=body, **kwargs)


async def file_residence_permit(client: httpx.AsyncClient, headers: dict[str, str], address: str) -> httpx.Response:
    material = await upload_proof(client, headers)
    return await file(client, headers, residence_permit(address, [material]))
