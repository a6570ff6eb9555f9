"""`cityservices demo`: the whole story of the README, told against a live service.

One certificate of each of the eight services: a citizen proves his address and is issued a residence
permit, asks for a no-criminal-record certificate, renews the permit and then moves it to his new
address (each new permit supersedes the one before); a Shanghai-hukou citizen gets a
household-registration certificate and a kinship certificate about his son and, his hukou transfer
being a matter for a window, books a slot at the nearest one, where a clerk marks him arrived; a clerk
files a temporary identity certificate at the window and approves a residence registration from the
review queue; the
citizen shares his permit with an employer through a link and keeps it in his wallet as an SD-JWT VC; the
eight PDFs are downloaded and verified as anyone holding them would (the replaced permits verify as
superseded, naming their successor); an auditor checks the request log; the citizen sees who
consulted his data.

It talks HTTP only (httpx), like any client would. Against a service already answering at
`--base-url` it mints development tokens from that service's DATA_DIR (`--data-dir`); otherwise it
starts its own `cityservices serve` on a free loopback port, on the embedded defaults, in a
temporary DATA_DIR, and stops it at the end.
"""

from __future__ import annotations

import asyncio
import io
import json
import os
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
from rich.console import Console
from rich.panel import Panel
from rich.progress import BarColumn, MofNCompleteColumn, Progress, SpinnerColumn, TextColumn, TimeElapsedColumn
from rich.table import Table

from app.clock import SHANGHAI
from app.config import Settings, load_settings

DEFAULT_BASE_URL = "http://127.0.0.1:8000"
DEFAULT_OUT_DIR = Path("demo-output")
STATION = "310105-HQLB"
STARTUP_TIMEOUT_S = 90.0
DECISION_TIMEOUT_S = 120.0
RATE_LIMIT_RETRIES = 2
MAX_RETRY_AFTER_S = 65.0
# Statuses after which an application is no longer being worked on by the service itself.
DECIDED = {"issued", "needs_review", "rejected", "withdrawn"}


@dataclass(frozen=True)
class Person:
    id_number: str
    name: str


# From the bundled demo dataset (integrations/datasets/README.md).
ZHANG_WEI = Person("330106198803120150", "张伟")
ZHANG_WEI_ADDRESS = "上海市长宁区虹桥路1号5号楼301室"
ZHANG_WEI_NEW_ADDRESS = "上海市长宁区古北路1000弄8号1203室"
SHEN_GUOQIANG = Person("31010119650815031X", "沈国强")
SHEN_HAO = Person("31010119930610057X", "沈浩")
LI_NA = Person("340104199205200242", "李娜")
WANG_FANG = Person("320102199107110642", "王芳")
WANG_FANG_ADDRESS = "上海市静安区延安中路1000号2号楼1502室"


class DemoError(Exception):
    """A step did not go as the story says; the message says which and why."""


# -- a temporary service ----------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def settings_env_names() -> set[str]:
    """Every environment variable Settings reads (so a temporary service can run on pure defaults)."""
    return {name.upper() for name in Settings.model_fields}


def answers_healthz(base_url: str, *, timeout: float = 1.0) -> bool:
    try:
        return httpx.get(f"{base_url.rstrip('/')}/healthz", timeout=timeout).status_code == 200
    except httpx.HTTPError:
        return False


def _tail(path: Path, lines: int = 30) -> str:
    try:
        return "\n".join(path.read_text(encoding="utf-8", errors="replace").splitlines()[-lines:])
    except OSError:
        return ""


@contextmanager
def temporary_service(data_dir: Path, *, log_path: Path, startup_timeout: float = STARTUP_TIMEOUT_S) -> Iterator[str]:
    """Run `cityservices serve` on a free loopback port with DATA_DIR=`data_dir` and nothing else
    configured; yield its base URL once /healthz answers; stop it on the way out, whatever happens."""
    port = free_port()
    base_url = f"http://127.0.0.1:{port}"
    project_root = Path(__file__).resolve().parent.parent
    env = {key: value for key, value in os.environ.items() if key.upper() not in settings_env_names()}
    env.update(
        DATA_DIR=str(data_dir),
        PUBLIC_BASE_URL=base_url,
        PYTHONPATH=os.pathsep.join(filter(None, [str(project_root), os.environ.get("PYTHONPATH")])),
    )
    data_dir.mkdir(parents=True, exist_ok=True)
    with open(log_path, "wb") as log:
        process = subprocess.Popen(
            [sys.executable, "-m", "app.cli", "serve", "--host", "127.0.0.1", "--port", str(port)],
            cwd=data_dir,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        try:
            deadline = time.monotonic() + startup_timeout
            while not answers_healthz(base_url, timeout=0.5):
                if process.poll() is not None:
                    raise DemoError(
                        f"the temporary service exited with status {process.returncode}:\n{_tail(log_path)}"
                    )
                if time.monotonic() > deadline:
                    raise DemoError(
                        f"the temporary service did not answer /healthz within {startup_timeout:.0f} s:\n"
                        f"{_tail(log_path)}"
                    )
                time.sleep(0.1)
            yield base_url
        finally:
            if process.poll() is None:
                process.terminate()
                try:
                    process.wait(timeout=15)
                except subprocess.TimeoutExpired:
                    process.kill()
                    process.wait(timeout=5)


# -- a small proof of address, made on the fly -------------------------------------------------------


def proof_of_address_pdf(person: Person, address: str) -> bytes:
    """A one-page PDF (readable Chinese, reportlab's built-in CID font) standing in for a lease."""
    from reportlab.lib.pagesizes import A4
    from reportlab.pdfbase import pdfmetrics
    from reportlab.pdfbase.cidfonts import UnicodeCIDFont
    from reportlab.pdfgen import canvas

    pdfmetrics.registerFont(UnicodeCIDFont("STSong-Light"))
    buffer = io.BytesIO()
    page = canvas.Canvas(buffer, pagesize=A4)
    page.setTitle("居住地址证明（演示材料）")
    page.setFont("STSong-Light", 20)
    page.drawString(72, 760, "居住地址证明（演示材料）")
    page.setFont("STSong-Light", 12)
    for offset, line in enumerate(
        (
            f"姓名：{person.name}",
            f"身份证号码：{person.id_number}",
            f"居住地址：{address}",
            "本文件由 cityservices demo 生成，仅用于演示。",
        )
    ):
        page.drawString(72, 720 - offset * 22, line)
    page.showPage()
    page.save()
    return buffer.getvalue()


# -- the API, as a client sees it ------------------------------------------------------------------


def _problem(response: httpx.Response) -> str:
    try:
        body = response.json()
    except ValueError:
        return response.text[:300] or response.reason_phrase
    if isinstance(body, dict) and "title" in body:
        text = f"{body.get('code', '')} {body.get('title', '')}".strip()
        if body.get("detail") and body.get("detail") != body.get("title"):
            text += f" — {body['detail']}"
        if body.get("errors"):
            text += f" {json.dumps(body['errors'], ensure_ascii=False)[:300]}"
        return text
    return json.dumps(body, ensure_ascii=False)[:300]


@dataclass
class Api:
    base_url: str
    data_dir: Path
    issuer: str
    audience: str
    http: httpx.Client = field(init=False)

    def __post_init__(self) -> None:
        self.http = httpx.Client(base_url=self.base_url, timeout=60.0, headers={"Accept-Language": "zh-CN"})

    def close(self) -> None:
        self.http.close()

    def bearer(
        self, *, role: str, person: Person | None = None, name: str | None = None, station_id: str | None = None
    ) -> dict[str, str]:
        from app.auth.dev_keys import DEV_STAFF_ID_NUMBER, mint_dev_token

        token = mint_dev_token(
            self.data_dir,
            issuer=self.issuer,
            audience=self.audience,
            roles=[role],
            # Staff are persons too: the development staff member, as `cityservices token` gives them.
            id_number=person.id_number if person else (DEV_STAFF_ID_NUMBER if role != "citizen" else None),
            name=person.name if person else name,
            station_id=station_id,
        )
        return {"Authorization": f"Bearer {token}"}

    def call(self, method: str, path: str, *, expect: tuple[int, ...] = (200,), **kwargs: Any) -> httpx.Response:
        for _ in range(RATE_LIMIT_RETRIES + 1):
            try:
                response = self.http.request(method, path, **kwargs)
            except httpx.HTTPError as exc:
                raise DemoError(f"{method} {path}: {type(exc).__name__}: {exc}") from exc
            wait = _retry_after(response)
            if wait is None or 429 in expect:
                break
            # The public verification is rate-limited per address; a demo run again at once meets the
            # limit. Wait as told, like any polite client.
            time.sleep(wait)
        if response.status_code not in expect:
            hint = ""
            if response.status_code == 401:
                hint = (
                    f"\nThe service refused a development token minted from {self.data_dir}: pass "
                    "--data-dir with the DATA_DIR the service runs with (and the same AUTH_ISSUER/AUTH_AUDIENCE)."
                )
            raise DemoError(f"{method} {path} answered {response.status_code}: {_problem(response)}{hint}")
        return response


def _retry_after(response: httpx.Response) -> float | None:
    """Seconds to wait before trying a 429 again, if the service said and it is not long."""
    if response.status_code != 429:
        return None
    try:
        seconds = float(response.headers.get("Retry-After", ""))
    except ValueError:
        return None
    return seconds if 0 <= seconds <= MAX_RETRY_AFTER_S else None


# -- the story ------------------------------------------------------------------------------------


@dataclass
class Issued:
    service: str
    holder: str
    serial: str
    verification_code: str
    owner_headers: dict[str, str]
    file: Path | None = None
    verification_url: str = ""
    signature_intact: bool | None = None
    superseded_by: str | None = None  # set when a later certificate in this demo replaced it


@dataclass
class Story:
    api: Api
    console: Console
    out_dir: Path
    public_base_url: str
    started_at: datetime = field(default_factory=lambda: datetime.now(UTC))
    issued: list[Issued] = field(default_factory=list)
    step_number: int = 0

    # - narration -

    def step(self, title: str) -> None:
        self.step_number += 1
        self.console.rule(f"[bold cyan]{self.step_number}. {title}", align="left")

    def ok(self, text: str) -> None:
        self.console.print(f"  [green]✓[/green] {text}")

    def note(self, text: str) -> None:
        self.console.print(f"  [dim]{text}[/dim]")

    # - helpers -

    def file_application(
        self, headers: dict[str, str], body: dict[str, Any], *, what: str, refusals: tuple[str, ...] = ()
    ) -> dict[str, Any]:
        """File and wait for the decision; a 409 whose code is in `refusals` is returned as its problem."""
        with self.console.status(f"  {what}: the service consults the agencies and decides…", spinner="dots"):
            response = self.api.call(
                "POST",
                "/v1/applications",
                expect=(201, 202, 409) if refusals else (201, 202),
                json=body,
                headers={**headers, "Idempotency-Key": uuid.uuid4().hex},
            )
            application: dict[str, Any] = response.json()
            if response.status_code == 409:
                if application.get("code") in refusals:
                    return application
                raise DemoError(f"POST /v1/applications answered 409: {_problem(response)}")
            if application["status"] not in DECIDED:
                application = self._await_decision(headers, application)
        self.note(f"POST /v1/applications → {response.status_code}, application {application['id']}")
        for check in application.get("checks", []):
            mark = {"pass": "[green]pass[/green]", "fail": "[red]fail[/red]"}.get(
                check["outcome"], "[yellow]?[/yellow]"
            )
            self.note(f"  {check['agency']:<8} {check['code']:<24} {mark}  {check['detail']['zh']}")
        return application

    def _await_decision(self, headers: dict[str, str], application: dict[str, Any]) -> dict[str, Any]:
        """An agency is slow or down (202 pending_agency): the worker retries; wait for its decision."""
        deadline = time.monotonic() + DECISION_TIMEOUT_S
        while application["status"] not in DECIDED:
            if time.monotonic() > deadline:
                raise DemoError(
                    f"application {application['id']} still {application['status']} after {DECISION_TIMEOUT_S:.0f} s: "
                    "an agency is not answering; the worker keeps retrying (docs/runbook.md, agency outage)"
                )
            time.sleep(1.0)
            application = self.api.call("GET", f"/v1/applications/{application['id']}", headers=headers).json()
        return application

    def expect_issued(self, application: dict[str, Any], *, who: Person, owner_headers: dict[str, str]) -> Issued:
        if application["status"] != "issued" or not application.get("certificate"):
            reasons = ", ".join(r["code"] for r in application.get("reasons", [])) or "no reason given"
            raise DemoError(
                f"{who.name}'s {application['service']} was {application['status']} ({reasons}), not issued"
            )
        certificate = application["certificate"]
        issued = Issued(
            service=application["service"],
            holder=who.name,
            serial=certificate["serial"],
            verification_code=certificate["verification_code"],
            owner_headers=owner_headers,
        )
        self.issued.append(issued)
        self.ok(
            f"issued: [bold]{issued.serial}[/bold], verification code {issued.verification_code}, "
            f"valid until {certificate['expires_at'][:10]}"
        )
        return issued

    # - the steps -

    def catalogue(self) -> None:
        self.step("The catalogue (public)")
        services = self.api.call("GET", "/v1/services").json()["items"]
        for service in services:
            where = " — at a window" if service["processing_mode"] == "window" else ""
            self.ok(f"{service['code']}: {service['name']['zh']} ({service['name']['en']}){where}")

    def residence_permit(self) -> tuple[dict[str, str], Issued]:
        self.step(f"{ZHANG_WEI.name} uploads a proof of address and asks for a residence permit")
        citizen = self.api.bearer(role="citizen", person=ZHANG_WEI)
        proof = proof_of_address_pdf(ZHANG_WEI, ZHANG_WEI_ADDRESS)
        material = self.api.call(
            "POST",
            "/v1/materials",
            expect=(201,),
            headers=citizen,
            files={"file": ("居住地址证明.pdf", proof, "application/pdf")},
        ).json()
        self.ok(
            f"proof of address uploaded: {material['media_type']}, {material['size']} bytes, material {material['id']}"
        )
        application = self.file_application(
            citizen,
            {
                "service": "residence-permit",
                "details": {"address": ZHANG_WEI_ADDRESS, "material_ids": [material["id"]]},
            },
            what="residence permit",
            refusals=("CERTIFICATE_STILL_VALID",),
        )
        if application.get("code") == "CERTIFICATE_STILL_VALID":
            # Run before on this service (or after the README's walk-through): he already holds one, and
            # the city issues no second. The story goes on with his: renewed, then moved, as below.
            return citizen, self._permit_held(citizen, application["serial"])
        return citizen, self.expect_issued(application, who=ZHANG_WEI, owner_headers=citizen)

    def _permit_held(self, citizen: dict[str, str], serial: str) -> Issued:
        record = self.api.call("GET", f"/v1/certificates/{serial}", headers=citizen).json()
        self.ok(
            f"he already holds residence permit [bold]{serial}[/bold] (from an earlier run on this service): "
            "a second one is refused (409 CERTIFICATE_STILL_VALID), so the story goes on with the one he holds"
        )
        held = Issued(
            service=record["service"],
            holder=ZHANG_WEI.name,
            serial=serial,
            verification_code=record["verification_code"],
            owner_headers=citizen,
        )
        self.issued.append(held)
        return held

    def no_criminal_record(self, citizen: dict[str, str]) -> None:
        self.step(f"{ZHANG_WEI.name} asks for a no-criminal-record certificate (employment)")
        application = self.file_application(
            citizen,
            {"service": "no-criminal-record-certificate", "details": {"purpose": "employment"}},
            what="no-criminal-record certificate",
        )
        self.expect_issued(application, who=ZHANG_WEI, owner_headers=citizen)

    def household_registration(self) -> None:
        self.step(f"{SHEN_GUOQIANG.name} (Shanghai hukou) asks for a household-registration certificate")
        citizen = self.api.bearer(role="citizen", person=SHEN_GUOQIANG)
        application = self.file_application(
            citizen,
            {"service": "household-registration-certificate", "details": {"purpose": "子女入学"}},
            what="household-registration certificate",
        )
        self.expect_issued(application, who=SHEN_GUOQIANG, owner_headers=citizen)

    def kinship(self) -> None:
        self.step(f"{SHEN_GUOQIANG.name} asks for a kinship certificate about his son {SHEN_HAO.name}")
        citizen = self.api.bearer(role="citizen", person=SHEN_GUOQIANG)
        application = self.file_application(
            citizen,
            {
                "service": "kinship-certificate",
                "details": {"relative_id_number": SHEN_HAO.id_number, "purpose": "办理继承公证"},
            },
            what="kinship certificate",
        )
        self.expect_issued(application, who=SHEN_GUOQIANG, owner_headers=citizen)

    def window_visit(self) -> None:
        self.step(f"{SHEN_GUOQIANG.name} moves his hukou (户口迁移): done at a window, so he books one")
        citizen = self.api.bearer(role="citizen", person=SHEN_GUOQIANG)
        refused = self.api.call(
            "POST",
            "/v1/applications",
            expect=(409,),
            headers=citizen,
            json={"service": "hukou-transfer", "details": {"district": "黄浦区"}},
        ).json()
        if refused.get("code") != "WINDOW_ONLY_SERVICE" or not refused.get("stations"):
            raise DemoError(f"filing a hukou transfer online answered {refused}, not WINDOW_ONLY_SERVICE")
        nearest = "、".join(station["name"] for station in refused["stations"])
        self.ok(f"409 WINDOW_ONLY_SERVICE: {refused['title']}; nearest in 黄浦区: {nearest}")
        station, line = refused["stations"][0], refused["line"]
        start = self._first_free_slot(station["id"], line)
        appointment = self.api.call(
            "POST",
            "/v1/appointments",
            expect=(201,),
            headers=citizen,
            json={"station_id": station["id"], "line": line, "start": start},
        ).json()
        self.ok(f"booked {station['name']} ({station['id']}), {start[:10]} {start[11:16]}–{appointment['end'][11:16]}")
        clerk = self.api.bearer(role="clerk", name="窗口民警", station_id=station["id"])
        day = self.api.call(
            "GET", f"/v1/stations/{station['id']}/appointments", headers=clerk, params={"date": start[:10]}
        ).json()["items"]
        if appointment["id"] not in {a["id"] for a in day}:
            raise DemoError(f"appointment {appointment['id']} is not in {station['id']}'s list for {start[:10]}")
        arrived = self.api.call("POST", f"/v1/appointments/{appointment['id']}/arrival", headers=clerk).json()
        if arrived["status"] != "arrived":
            raise DemoError(f"marking the arrival answered {arrived['status']}, not arrived")
        self.ok(f"a clerk at {station['id']} marks him arrived (the day's list: {len(day)})")

    def _first_free_slot(self, station_id: str, line: str) -> str:
        """The first slot with a free place, from now on (a slot that has begun shows no free place)."""
        today = datetime.now(UTC).astimezone(SHANGHAI).date()
        for ahead in range(0, 15):
            day = (today + timedelta(days=ahead)).isoformat()
            slots = self.api.call("GET", f"/v1/stations/{station_id}/slots", params={"date": day, "line": line}).json()[
                "items"
            ]
            free = [slot["start"] for slot in slots if slot["free"] > 0]
            if free:
                return str(free[0])
        raise DemoError(f"no free slot at {station_id} in the next two weeks")

    def renewal(self, citizen: dict[str, str], permit: Issued) -> Issued:
        self.step(f"{ZHANG_WEI.name} renews his residence permit {permit.serial} (签注)")
        application = self.file_application(
            citizen,
            {"service": "residence-permit-renewal", "details": {"certificate_serial": permit.serial}},
            what="residence permit renewal",
        )
        renewed = self.expect_issued(application, who=ZHANG_WEI, owner_headers=citizen)
        permit.superseded_by = renewed.serial
        self.ok(f"{permit.serial} is now superseded by {renewed.serial}; the new one runs a year from the old expiry")
        return renewed

    def address_change(self, citizen: dict[str, str], permit: Issued) -> Issued:
        self.step(f"{ZHANG_WEI.name} moves to {ZHANG_WEI_NEW_ADDRESS} and changes his permit's address")
        proof = proof_of_address_pdf(ZHANG_WEI, ZHANG_WEI_NEW_ADDRESS)
        material = self.api.call(
            "POST",
            "/v1/materials",
            expect=(201,),
            headers=citizen,
            files={"file": ("新租赁合同.pdf", proof, "application/pdf")},
        ).json()
        application = self.file_application(
            citizen,
            {
                "service": "residence-permit-address-change",
                "details": {
                    "certificate_serial": permit.serial,
                    "address": ZHANG_WEI_NEW_ADDRESS,
                    "material_ids": [material["id"]],
                },
            },
            what="residence permit change of address",
        )
        moved = self.expect_issued(application, who=ZHANG_WEI, owner_headers=citizen)
        permit.superseded_by = moved.serial
        self.ok(f"{permit.serial} is now superseded by {moved.serial}, with the same expiry")
        return moved

    def share_and_wallet(self, citizen: dict[str, str], permit: Issued) -> None:
        self.step(f"{ZHANG_WEI.name} shares his permit with an employer, and keeps it in his wallet")
        share = self.api.call(
            "POST",
            f"/v1/certificates/{permit.serial}/shares",
            expect=(201,),
            headers=citizen,
            json={
                "recipient": "上海某科技有限公司 人事部",
                "expires_in_days": 14,
                "fields": ["service", "holder_name", "id_number_masked", "expires_at"],
                "notify": True,
            },
        ).json()
        path = share["url"].removeprefix(self.public_base_url)
        seen = self.api.call("GET", path).json()
        if seen["status"] != "valid" or ZHANG_WEI.id_number in json.dumps(seen):
            raise DemoError(f"the share link answered {seen}")
        self.ok(f"share link for {share['recipient']} until {share['expires_at'][:10]}: {share['url']}")
        self.ok(f"the recipient sees status {seen['status']} and only {', '.join(seen['fields'])} (no PDF)")

        credential = self.api.call("GET", f"/v1/certificates/{permit.serial}/credential", headers=citizen).text
        self.out_dir.mkdir(parents=True, exist_ok=True)
        (self.out_dir / f"credential-{permit.serial}.sd-jwt").write_text(credential + "\n", encoding="ascii")
        from app.credentials import sdjwt

        shown = sdjwt.present(credential, keep={"holder_name", "expires_at"})
        check = asyncio.run(self._verify_credential(shown))
        if not check.valid:
            raise DemoError(f"the wallet credential did not verify: {check.problem} {check.detail}")
        self.ok(
            f"wallet credential (SD-JWT VC, {check.vct}) saved; shown with only holder_name and expires_at it "
            f"verifies: signature, disclosures, expiry, status list ({check.status})"
        )
        self.note(
            f"verify it yourself: cityservices verify-credential {self.out_dir}/credential-{permit.serial}.sd-jwt "
            f"--issuer {self.public_base_url}"
        )

    async def _verify_credential(self, presentation: str) -> Any:
        from app.credentials.verifier import verify_credential

        async with httpx.AsyncClient(timeout=30.0) as http:
            return await verify_credential(presentation, http=http, trusted_issuers=[self.public_base_url])

    def window_filing(self, clerk: dict[str, str]) -> None:
        self.step(
            f"A clerk at window {STATION} files a temporary identity certificate for {LI_NA.name}, "
            "who lost her card and stands there"
        )
        application = self.file_application(
            clerk,
            {
                "service": "temporary-identity-certificate",
                "details": {"reason": "card_lost"},
                "applicant": {"id_number": LI_NA.id_number, "name": LI_NA.name},
            },
            what="temporary identity certificate at the window",
        )
        if application["channel"] != "window" or application["station_id"] != STATION:
            raise DemoError(
                f"a window filing came back as channel {application['channel']!r}, "
                f"station {application['station_id']!r}"
            )
        self.ok(
            f"channel window, station {application['station_id']}; it belongs to {LI_NA.name}, "
            "who sees it in her own list"
        )
        self.expect_issued(application, who=LI_NA, owner_headers=clerk)

    def review_queue(self, clerk: dict[str, str]) -> None:
        self.step(f"{WANG_FANG.name}'s residence registration goes to a clerk, who approves it")
        citizen = self.api.bearer(role="citizen", person=WANG_FANG)
        proof = proof_of_address_pdf(WANG_FANG, WANG_FANG_ADDRESS)
        material = self.api.call(
            "POST",
            "/v1/materials",
            expect=(201,),
            headers=citizen,
            files={"file": ("租赁合同.pdf", proof, "application/pdf")},
        ).json()
        application = self.file_application(
            citizen,
            {
                "service": "residence-registration",
                "details": {"address": WANG_FANG_ADDRESS, "material_ids": [material["id"]]},
            },
            what="residence registration",
        )
        codes = [reason["code"] for reason in application.get("reasons", [])]
        if application["status"] != "needs_review" or "NO_HOUSING_RECORD" not in codes:
            raise DemoError(
                f"{WANG_FANG.name}'s residence registration was {application['status']} {codes}, "
                "expected needs_review NO_HOUSING_RECORD"
            )
        for reason in application["reasons"]:
            self.ok(f"needs_review: {reason['code']} — {reason['message']['zh']}")

        queue = self._find_in_queue(clerk, application["id"])
        self.ok(f"the clerk finds it in the review queue ({queue} waiting, oldest first)")
        reason = "租赁合同已续签，窗口核验原件无误 / renewed lease checked in person"
        decided = self.api.call(
            "POST",
            f"/v1/applications/{application['id']}/decision",
            headers=clerk,
            json={"outcome": "approve", "reason": reason},
        ).json()
        self.ok(f"approved with the reason “{reason}”")
        self.expect_issued(decided, who=WANG_FANG, owner_headers=citizen)

    def _find_in_queue(self, clerk: dict[str, str], application_id: str) -> int:
        """Page through the queue (oldest first) as a clerk would; return how many cases wait."""
        waiting, found, cursor = 0, False, None
        while True:
            params: dict[str, Any] = {"limit": 100, **({"cursor": cursor} if cursor else {})}
            page = self.api.call("GET", "/v1/review-queue", headers=clerk, params=params).json()
            waiting += len(page["items"])
            found = found or any(item["id"] == application_id for item in page["items"])
            cursor = page.get("next_cursor")
            if not cursor:
                break
        if not found:
            raise DemoError(f"application {application_id} is not in the review queue")
        return waiting

    def download_and_verify(self) -> None:
        self.step("The PDFs: downloaded, then verified as anyone holding one would (public)")
        self.out_dir.mkdir(parents=True, exist_ok=True)
        columns = (
            SpinnerColumn(),
            TextColumn("{task.description}"),
            BarColumn(),
            MofNCompleteColumn(),
            TimeElapsedColumn(),
        )
        with Progress(*columns, console=self.console, transient=True) as progress:
            task = progress.add_task("  downloading and verifying", total=len(self.issued))
            for issued in self.issued:
                progress.update(task, description=f"  {issued.serial}")
                self._download_and_verify(issued)
                progress.advance(task)
        table = Table(title="Issued in this demo", show_lines=False)
        for column in ("holder", "service", "serial", "signature", "status", "file"):
            table.add_column(column)
        for issued in self.issued:
            status = f"superseded by {issued.superseded_by}" if issued.superseded_by else "valid"
            table.add_row(
                issued.holder,
                issued.service,
                issued.serial,
                "intact" if issued.signature_intact else "BROKEN",
                status,
                issued.file.name if issued.file else "-",
            )
        self.console.print(table)

    def _download_and_verify(self, issued: Issued) -> None:
        response = self.api.call("GET", f"/v1/certificates/{issued.serial}/pdf", headers=issued.owner_headers)
        if not response.content.startswith(b"%PDF-") or b"/ByteRange" not in response.content:
            raise DemoError(f"{issued.serial}: the download is not a signed PDF")
        issued.file = self.out_dir / f"{issued.service}-{issued.serial}.pdf"
        issued.file.write_bytes(response.content)
        check = self.api.call(
            "POST", "/v1/verify", files={"file": (issued.file.name, response.content, "application/pdf")}
        ).json()
        if not (check["signature_intact"] and check["on_record"] and check["serial"] == issued.serial):
            raise DemoError(f"{issued.serial}: POST /v1/verify answered {check}")
        issued.signature_intact = True
        record = self.api.call("GET", f"/v1/verify/{issued.verification_code}").json()
        expected = ("superseded", issued.superseded_by) if issued.superseded_by else ("valid", None)
        if (record["status"], record.get("superseded_by")) != expected:
            raise DemoError(
                f"{issued.serial}: GET /v1/verify/{issued.verification_code} says {record['status']} "
                f"(superseded by {record.get('superseded_by')}), expected {expected[0]}"
            )
        page = self.api.call("GET", f"/verify/{issued.verification_code}")
        if "text/html" not in page.headers.get("content-type", ""):
            raise DemoError(f"{issued.serial}: the public verification page is not HTML")
        issued.verification_url = f"{self.public_base_url}/verify/{issued.verification_code}"

    def audit(self) -> None:
        self.step("An auditor verifies the request log")
        auditor = self.api.bearer(role="auditor", name="审计员")
        chain = self.api.call("GET", "/v1/audit/verify", headers=auditor).json()
        if not chain["intact"]:
            raise DemoError(
                f"the audit chain is broken at event {chain['first_bad_event']} (docs/runbook.md, audit-chain break)"
            )
        self.ok(f"chain intact: {chain['events_checked']} events recomputed")
        since = (self.started_at - timedelta(seconds=5)).isoformat()
        events = self.api.call(
            "GET",
            "/v1/audit/events",
            headers=auditor,
            params={
                "subject_id_number": ZHANG_WEI.id_number,
                "purpose": "演示：查看张伟的数据被谁查阅",
                "since": since,
                "limit": 8,
            },
        ).json()["items"]
        table = Table(title=f"Events about {ZHANG_WEI.name} (searched by keyed hash; id numbers are never stored)")
        for column in ("seq", "time (UTC)", "kind", "action", "by", "outcome"):
            table.add_column(column)
        for event in events:
            by = event.get("actor_role") or "-"
            if event.get("actor_station"):
                by += f"@{event['actor_station']}"
            table.add_row(
                str(event["seq"]),
                str(event["occurred_at"])[11:19],
                event["kind"],
                event["action"],
                by,
                str(event["outcome"]),
            )
        self.console.print(table)
        clerk_events = self.api.call(
            "GET",
            "/v1/audit/events",
            headers=auditor,
            params={"role": "clerk", "since": since, "limit": 100},
        ).json()["items"]
        decisions = [e for e in clerk_events if str(e["action"]).startswith("application.decision")]
        if not decisions:
            raise DemoError("the clerk's decision is not in the request log")
        self.ok(
            f"the clerk's decision is on record: event {decisions[-1]['seq']} {decisions[-1]['action']} "
            f"by {decisions[-1]['actor_role']}@{decisions[-1]['actor_station']}"
        )

    def data_access(self) -> None:
        self.step(f"{ZHANG_WEI.name} asks who consulted his data (GET /v1/me/data-access)")
        citizen = self.api.bearer(role="citizen", person=ZHANG_WEI)
        items = self.api.call("GET", "/v1/me/data-access", headers=citizen, params={"limit": 10}).json()["items"]
        if not items:
            raise DemoError("GET /v1/me/data-access listed nothing, though agencies were consulted")
        table = Table(title="Newest first")
        for column in ("time (UTC)", "kind", "what", "on behalf of", "by"):
            table.add_column(column)
        for item in items:
            what = item.get("dataset") and f"{item['agency']}: {item['dataset']}" or item["action"]
            by = (item.get("by_role") or "-") + (f"@{item['by_station']}" if item.get("by_station") else "")
            # A share link's use names whom the holder shared with.
            whom = item.get("on_behalf_of") or item.get("recipient") or "-"
            table.add_row(str(item["at"])[11:19], item["kind"], what, whom, by)
        self.console.print(table)

    def summary(self, *, temporary: bool) -> None:
        lines = []
        for issued in self.issued:
            lines.append(f"[bold]{issued.file}[/bold]\n  {issued.holder} · {issued.serial} · {issued.verification_url}")
        if temporary:
            lines.append(
                "[dim]The verification pages answered while the demo's temporary service ran; "
                "run `cityservices serve` and then `cityservices demo` for codes that stay verifiable.[/dim]"
            )
        self.console.print(
            Panel(
                "\n".join(lines), title=f"Done: {len(self.issued)} signed PDFs in {self.out_dir}", border_style="green"
            )
        )
        summary = [
            {
                "service": i.service,
                "holder": i.holder,
                "serial": i.serial,
                "verification_code": i.verification_code,
                "verification_url": i.verification_url,
                "file": i.file.name if i.file else None,
                "superseded_by": i.superseded_by,
            }
            for i in self.issued
        ]
        (self.out_dir / "summary.json").write_text(
            json.dumps(summary, ensure_ascii=False, indent=2) + "\n", encoding="utf-8"
        )

    def run(self, *, temporary: bool) -> None:
        self.catalogue()
        citizen, permit = self.residence_permit()
        self.no_criminal_record(citizen)
        self.household_registration()
        self.kinship()
        self.window_visit()
        clerk = self.api.bearer(role="clerk", name="窗口民警", station_id=STATION)
        self.window_filing(clerk)
        self.review_queue(clerk)
        renewed = self.renewal(citizen, permit)
        moved = self.address_change(citizen, renewed)
        self.share_and_wallet(citizen, moved)
        self.download_and_verify()
        self.audit()
        self.data_access()
        self.summary(temporary=temporary)


# -- the command --------------------------------------------------------------------------------


def _tell(console: Console, api: Api, out_dir: Path, *, public_base_url: str, temporary: bool) -> None:
    try:
        Story(api=api, console=console, out_dir=out_dir, public_base_url=public_base_url).run(temporary=temporary)
    finally:
        api.close()


def run(
    *,
    base_url: str = DEFAULT_BASE_URL,
    out_dir: Path = DEFAULT_OUT_DIR,
    data_dir: Path | None = None,
    temporary: bool = False,
    console: Console | None = None,
) -> int:
    """The demo; returns the exit status (0 when every step went as the story says)."""
    console = console or Console(highlight=False)
    base_url = base_url.rstrip("/")
    out_dir = Path(out_dir).resolve()
    started = time.monotonic()
    try:
        if not temporary and answers_healthz(base_url):
            settings = load_settings()
            data_dir = Path(data_dir) if data_dir is not None else settings.data_dir
            if settings.is_production or not settings.dev_auth:
                raise DemoError(
                    "the demo mints development tokens; this environment configures a JWKS or ENVIRONMENT=production"
                )
            if not (data_dir / "auth-dev-jwks.json").is_file():
                raise DemoError(
                    f"{data_dir} holds no development keys: pass --data-dir with the DATA_DIR "
                    f"the service at {base_url} runs with"
                )
            console.print(
                Panel(
                    f"Using the service at [bold]{base_url}[/bold] (tokens from {data_dir})\n"
                    f"PDFs go to [bold]{out_dir}[/bold]",
                    title="cityservices demo",
                )
            )
            api = Api(base_url, data_dir, settings.auth_issuer, settings.auth_audience)
            _tell(console, api, out_dir, public_base_url=base_url, temporary=False)
        else:
            defaults = Settings.model_fields
            with ExitStack() as stack:
                workdir = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="cityservices-demo-")))
                service_dir = workdir / "data"
                with console.status(
                    "Starting a temporary service (`cityservices serve`, embedded defaults)…", spinner="dots"
                ):
                    url = stack.enter_context(temporary_service(service_dir, log_path=workdir / "serve.log"))
                lead = "Started" if temporary else f"Nothing answers at {base_url}; started"
                console.print(
                    Panel(
                        f"{lead} a temporary service at [bold]{url}[/bold] (DATA_DIR {service_dir}); "
                        f"it stops at the end.\nPDFs go to [bold]{out_dir}[/bold]",
                        title="cityservices demo",
                    )
                )
                api = Api(
                    url, service_dir, str(defaults["auth_issuer"].default), str(defaults["auth_audience"].default)
                )
                _tell(console, api, out_dir, public_base_url=url, temporary=True)
    except DemoError as exc:
        console.print(f"[bold red]✗ demo failed:[/bold red] {exc}")
        return 1
    except KeyboardInterrupt:
        console.print("[yellow]interrupted[/yellow]")
        return 130
    console.print(f"[green]✓[/green] the whole story in {time.monotonic() - started:.1f} s")
    return 0
