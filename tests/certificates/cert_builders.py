"""Documents for the certificate tests (a uniquely named module: `conftest` names clash across packages)."""

from __future__ import annotations

from datetime import date
from pathlib import Path

from app.certificates.rendering import CertificateDocument

WQY_FONT = Path("/usr/share/fonts/truetype/wqy/wqy-microhei.ttc")
BASE_URL = "http://127.0.0.1:8000"

_SERVICES = {
    "residence-permit": {
        "title": "上海市居住证",
        "serial": "JZZ-2026-00012345",
        "code": "7KQM-3XPT-9HWD",
        "facts": (("居住地址", "上海市长宁区虹桥路1号5号楼301室"),),
        "body": "兹证明持证人在上海市长宁区虹桥路1号5号楼301室居住，已办理居住登记满六个月，"
        "符合《上海市居住证管理办法》规定的条件，准予发放上海市居住证。",
        "expires": date(2027, 1, 4),
    },
    "no-criminal-record-certificate": {
        "title": "无犯罪记录证明",
        "serial": "WFZ-2026-00000042",
        "code": "M4TR-8VNC-2QXE",
        "facts": (("用途", "就业"),),
        "body": "经查询，截至出具之日，未发现持证人在我国境内有犯罪记录。本证明仅用于就业。",
        "expires": date(2026, 4, 4),
    },
    "household-registration-certificate": {
        "title": "户籍证明",
        "serial": "HJZ-2026-00000007",
        "code": "ZP6K-W3HY-4NRB",
        "facts": (("户籍地址", "上海市黄浦区南京东路100弄2号"), ("与户主关系", "之子")),
        "body": "兹证明持证人户籍登记于上海市黄浦区南京东路100弄2号，与户主关系为之子。特此证明。",
        "expires": date(2026, 4, 4),
    },
}

SERVICES = tuple(_SERVICES)


def make_document(service: str = "residence-permit", *, holder_name: str = "张三丰") -> CertificateDocument:
    spec = _SERVICES[service]
    return CertificateDocument(
        service=service,
        title=spec["title"],
        holder_name=holder_name,
        holder_id_number="330106198803120150",
        facts=spec["facts"],
        body=spec["body"],
        issued_on=date(2026, 1, 5),
        expires_on=spec["expires"],
        serial=spec["serial"],
        verification_code=spec["code"],
        verify_url=f"{BASE_URL}/verify/{spec['code']}",
        issuing_authority="上海市公安局",
    )
