"""A year of a city's use, written with COPY into a database at the Alembic head, for bench/growth.py.

- applications: N, filed over the 365 days before today (Shanghai), more on weekdays and in office hours;
  eight services; 75 % online, 25 % at one of 309 stations' windows; applicants drawn from 0.4 N people,
  a twentieth of whom file a tenth of the applications. Statuses: about a quarter issued (the certificates'
  share), the rest rejected or withdrawn; open ones (review, materials, waiting on an agency) only among
  the last weeks' filings, at most one per person and service (as the database enforces).
- certificates: N / 4, one per issued application; 1 % re-issued (the first superseded), a new residence
  permit supersedes its holder's valid one, 0.3 % revoked.
- materials and their links: one proof per filing of a service that asks for one.
- the request log: 10 N events in chain order, the hash chain valid throughout: each filing's upload,
  agency calls, filing, first reads and download; each day's other traffic (citizens reading and listing,
  public verifications, clerks' queues and searches with a consultation per application shown, auditors,
  data access); a checkpoint signed every CHECKPOINT_SECONDS of log time, except over the last `tail`
  events, which `/v1/audit/verify` from the last checkpoint must recompute.

The keys are the service's own from its DATA_DIR (the subject hash's, the signing key), so a service
started on it hashes, verifies and signs alike. Every foreign key holds (checked as rows are loaded). Only
the columns named below are written: a column the schema gains is left to its default or NULL, and one
it gains NOT NULL without a default stops the build, named. Secondary indexes are dropped for the load and
built again after it, as they were; then VACUUM ANALYZE.
"""

from __future__ import annotations

import asyncio
import base64
import json
import random
import time
import uuid
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from functools import lru_cache
from pathlib import Path
from typing import Any, NamedTuple

import asyncpg

from app.audit.chain import GENESIS_HASH, event_hash
from app.audit.checkpoints import checkpoint_message
from app.catalogue.decisions import REASON_CODES, Check, Outcome, reason_dict
from app.catalogue.registry import SERVICES
from app.certificates.codes import ALPHABET, LENGTH, serial
from app.certificates.signing import PdfSigner, ensure_dev_signing_material
from app.clock import SHANGHAI
from app.i18n import Text
from app.identity.id_number import check_digit, mask
from app.identity.subjects import SubjectHasher, load_or_create_dev_key
from integrations.datasets.generate import ELSEWHERE, GIVEN, ROADS, SURNAMES
from integrations.datasets.generate import SHANGHAI as DISTRICTS

DAYS = 365
CHECKPOINT_SECONDS = 300  # the worker's AUDIT_CHECKPOINT_SECONDS default
SERVICE_MIX = {
    "residence-permit": 28,
    "no-criminal-record-certificate": 20,
    "residence-registration": 14,
    "household-registration-certificate": 10,
    "temporary-identity-certificate": 10,
    "residence-permit-renewal": 9,
    "kinship-certificate": 5,
    "residence-permit-address-change": 4,
}
PERMITS = {"residence-permit", "residence-permit-renewal", "residence-permit-address-change"}
WITH_PROOF = {"residence-permit", "residence-registration", "residence-permit-address-change"}
_PERSON, _HOUSING = "police:population.person", ("housing:housing.properties", "housing:housing.leases")
_REGISTERED = "police:population.residence-registrations"
AGENCY_CALLS = {  # (agency:dataset) per filing, in the order they are asked
    "residence-permit": (_PERSON, _REGISTERED, *_HOUSING),
    "residence-permit-address-change": (_PERSON, _REGISTERED, *_HOUSING),
    "residence-permit-renewal": (_PERSON, _REGISTERED, _HOUSING[1]),
    "residence-registration": (_PERSON, *_HOUSING),
    "no-criminal-record-certificate": (_PERSON, "police:records.criminal-records"),
    "household-registration-certificate": (_PERSON,),
    "kinship-certificate": (_PERSON, _PERSON),  # the applicant, then the relative
    "temporary-identity-certificate": (_PERSON,),
}
HOURS = (0.2, 0.1, 0.05, 0.05, 0.05, 0.1, 0.3, 0.8, 1.5, 2.5, 3, 3, 2, 2.5, 3, 3, 2.5, 2, 1.5, 1.5, 1.2, 1, 0.7, 0.4)
# The day's other traffic, each kind's weight by the events it makes.
BACKGROUND = {"list": 22, "read": 18, "verify": 14, "download": 6, "data_access": 5, "notifications": 5,
              "queue": 18, "search": 7, "clerk_read": 3, "auditor": 1.5, "stats": 0.5}  # fmt: skip
STAFF_WORK = {"queue", "search", "clerk_read", "auditor", "stats"}
ROUTES = {  # action -> (method, route template) of the requests the log holds
    "material.upload": ("POST", "/v1/materials"),
    "application.file": ("POST", "/v1/applications"),
    "application.read": ("GET", "/v1/applications/{application_id}"),
    "application.list": ("GET", "/v1/applications"),
    "application.review_queue": ("GET", "/v1/review-queue"),
    "application.decision": ("POST", "/v1/applications/{application_id}/decision"),
    "certificate.download": ("GET", "/v1/certificates/{serial}/pdf"),
    "certificate.verify": ("GET", "/v1/verify/{code}"),
    "me.data_access": ("GET", "/v1/me/data-access"),
    "me.notifications": ("GET", "/v1/me/notifications"),
    "audit.events": ("GET", "/v1/audit/events"),
    "stats.read": ("GET", "/v1/stats"),
}
QUEUE_PAGE = 20
SAMPLES = 400

EVENT_COLUMNS = ("occurred_at", "kind", "action", "outcome", "request_id", "actor_sub", "actor_role", "actor_station",
                 "channel", "method", "route", "status_code", "latency_ms", "client_addr", "resource_type",
                 "resource_id", "application_id", "subject_hash", "subject_masked", "agency", "dataset",
                 "on_behalf_of", "details")  # fmt: skip
COLUMNS = {
    "applications": ("id", "service", "status", "channel", "station_id", "applicant_id_number", "applicant_id_hash",
                     "applicant_name", "filed_by_sub", "filed_by_role", "details", "checks", "reasons", "decision",
                     "document_facts", "history", "attempts", "next_attempt_at", "created_at", "updated_at",
                     "decided_at", "version"),
    "materials": ("id", "owner_sub", "media_type", "size", "sha256", "filename", "content", "created_at"),
    "application_materials": ("application_id", "material_id", "attached_at"),
    "certificates": ("serial", "application_id", "service", "verification_code", "holder_name", "holder_id_hash",
                     "holder_id_masked", "facts", "issued_at", "expires_at", "status", "revoked_at",
                     "revocation_reason_code", "revoked_reason", "revoked_by", "superseded_by", "superseded_at",
                     "replaces", "pdf_sha256", "pdf_size", "pdf", "version"),
    "audit_events": (*EVENT_COLUMNS, "seq", "prev_hash", "hash"),
}  # fmt: skip
Row = tuple[Any, ...]


class Person(NamedTuple):
    id_number: str
    name: str
    sub: str
    hash: str
    masked: str


class Actor(NamedTuple):
    person: Person | None  # None: the public
    role: str | None
    station: str | None = None


@dataclass
class Filed:
    """What later traffic needs to know of an application."""

    id: str
    service: str
    person: Person
    online: bool
    station: str | None
    serial: str | None = None
    code: str | None = None


@dataclass
class Built:
    counts: dict[str, int] = field(default_factory=dict)
    seconds: dict[str, float] = field(default_factory=dict)
    samples: dict[str, Any] = field(default_factory=dict)


def stations() -> list[str]:
    """309 ids shaped like `310105-HQLB`, that one among them."""
    rng = random.Random(309)
    districts = [code for code, _ in DISTRICTS] + ["310116", "310118", "310120", "310151"]
    out = {"310105-HQLB"}
    while len(out) < 309:
        out.add(f"{rng.choice(districts)}-{''.join(rng.choices('ABCDEFGHJKLMNPQRSTWXYZ', k=4))}")
    return sorted(out)


class People:
    """Person i, from i alone: a checksum-valid id number (distinct for every i), a name, the identity
    provider's `sub`, and the keyed hash and mask the request log keeps. Staff come after the public."""

    REGIONS = [code for code, _ in DISTRICTS + ELSEWHERE]
    BIRTH_DAYS = 18_000  # born 1950-1999

    def __init__(self, hasher: SubjectHasher, population: int, stations: list[str]) -> None:
        self.hasher = hasher
        self.population = population
        self.stations = {s: i for i, s in enumerate(stations)}
        self.person = lru_cache(maxsize=300_000)(self._person)

    def _person(self, i: int) -> Person:
        regions = len(self.REGIONS)
        born = date(1950, 1, 1) + timedelta(days=(i // regions) % self.BIRTH_DAYS)
        first17 = f"{self.REGIONS[i % regions]}{born:%Y%m%d}{(i // (regions * self.BIRTH_DAYS)) % 1000:03d}"
        id_number = first17 + check_digit(first17)
        name = SURNAMES[(i * 7) % len(SURNAMES)] + GIVEN[(i * 13) % len(GIVEN)] + GIVEN[(i // 7) % len(GIVEN)]
        sub = f"idp-{uuid.UUID(int=(i * 0x9E3779B97F4A7C15) % (1 << 128))}"
        return Person(id_number, name, sub, self.hasher.hash(id_number), mask(id_number))

    def clerk(self, station: str, k: int) -> Person:
        """One of a station's five clerks."""
        return self.person(self.population + 5 * self.stations[station] + k)._replace(sub=f"clerk-{station}-{k}")

    def auditor(self, k: int) -> Person:
        return self.person(self.population + 5 * len(self.stations) + k)._replace(sub=f"auditor-{k}")


class Recent:
    """The last `size` filings, any of them picked in constant time (a deque's middle is not)."""

    def __init__(self, size: int) -> None:
        self.items: list[Filed] = []
        self.size, self.next = size, 0

    def append(self, filed: Filed) -> None:
        if len(self.items) < self.size:
            self.items.append(filed)
        else:
            self.items[self.next] = filed
            self.next = (self.next + 1) % self.size

    def pick(self, rng: random.Random) -> Filed:
        return self.items[rng.randrange(len(self.items))]


class Year:
    """The generator: a day at a time, each day's rows for every table and its events in chain order."""

    def __init__(self, applications: int, *, data_dir: Path, tail: int, seed: int) -> None:
        self.rng = random.Random(seed)
        self.applications = applications
        self.events_target = 10 * applications
        self.issue_share = 0.25 / 1.01  # a quarter of the filings hold a certificate, re-issues included
        self.tail = tail
        self.stations = stations()
        self.people = People(SubjectHasher(load_or_create_dev_key(data_dir)), max(100, applications * 2 // 5), self.stations)  # fmt: skip
        self.end = datetime.now(SHANGHAI).replace(hour=0, minute=0, second=0, microsecond=0).astimezone(UTC)
        self.start = self.end - timedelta(days=DAYS)
        self.recent = Recent(max(1000, applications * 30 // DAYS))  # about a month of filings
        self.open: set[tuple[str, str]] = set()  # (person hash, service) with an open application
        self.permits: dict[str, tuple[str, datetime]] = {}  # person hash -> (serial, expiry) of the valid permit
        self.superseded: list[tuple[str, str, datetime]] = []  # (old serial, new serial, when)
        self.later: dict[int, list[Row]] = {}  # events due on a later day
        self.serials = 0
        self.events = self.seq = 0
        self.head = GENESIS_HASH
        self.checkpoints: list[tuple[int, str, datetime]] = []
        self.samples: dict[str, list[Any]] = {"citizens": [], "codes": []}
        self.counts = dict.fromkeys(("applications", "certificates", "materials"), 0)
        self.addresses = [f"10.{a}.{b}.{c}" for a in range(4) for b in range(16) for c in range(1, 17)]

    # -- small helpers ----------------------------------------------------------------------------

    def uid(self) -> str:
        return str(uuid.UUID(int=self.rng.getrandbits(128), version=4))

    def sha(self) -> str:
        return f"{self.rng.getrandbits(256):064x}"

    def at(self, day_start: datetime, office: bool = False) -> datetime:
        hour = self.rng.randrange(9, 17) if office else self.rng.choices(range(24), HOURS)[0]
        return day_start + timedelta(hours=hour, seconds=self.rng.random() * 3600)

    def before_end(self, at: datetime) -> datetime:
        return min(at, self.end - timedelta(seconds=1))

    def clerk(self, station: str) -> Actor:
        return Actor(self.people.clerk(station, self.rng.randrange(5)), "clerk", station)

    def sample(self, name: str, seen: int, value: Any) -> None:
        """Reservoir sampling: every value seen so far as likely to be kept."""
        kept = self.samples[name]
        if len(kept) < SAMPLES:
            kept.append(value)
        elif (j := self.rng.randrange(seen)) < SAMPLES:
            kept[j] = value

    def event(self, at: datetime, kind: str, action: str, by: Actor, about: Filed | None = None, *,
              subject: Person | None = None, resource: tuple[str, str] | None = None, status: int = 200,
              agency: tuple[str, str, str] | None = None, outcome: str = "success") -> Row:  # fmt: skip
        """One row of EVENT_COLUMNS as the service's AuditLog writes it: a request (with its method and
        route), an agency call or a consultation, by `by`, about the application `about` and its applicant."""
        rng = self.rng
        method, route = ROUTES[action] if kind == "request" else (None, None)
        subject = subject or (about.person if about else None)
        if resource is None and about is not None:
            resource = ("application", about.id)
        person, role, station = by
        return (
            at, kind, action, outcome, f"{rng.getrandbits(128):032x}", person.sub if person else None, role, station,
            ("window" if station else "online") if person else None, method, route, status if method else None,
            round(rng.lognormvariate(2.5 if agency else 1.2, 0.6), 3), rng.choice(self.addresses) if method else None,
            *(resource or (None, None)), about.id if about else None, *(subject[3:] if subject else (None, None)),
            *(agency or (None, None, None)), {"evidence_sha256": self.sha()} if agency else None,
        )  # fmt: skip

    # -- a day ------------------------------------------------------------------------------------

    def day(self, d: int, filings: int) -> dict[str, list[Row]]:
        rows: dict[str, list[Row]] = {table: [] for table in COLUMNS}
        day_start, day_end = self.start + timedelta(days=d), self.start + timedelta(days=d + 1, microseconds=-1)
        events: list[Row] = []
        for _ in range(filings):
            events += self.filing(day_start, rows)
        events += self.later.pop(d, [])  # decisions taken today on earlier (or today's) filings
        budget = self.events_target * self.counts["applications"] / self.applications - self.events - len(events)
        kinds, weights = list(BACKGROUND), list(BACKGROUND.values())
        while budget > 0 and self.recent.items:
            more = self.background(self.rng.choices(kinds, weights)[0], day_start)
            events += more
            budget -= len(more)
        # The log is sealed in commit order: what a filing did just across midnight is sealed with its day.
        events = [e if day_start <= e[0] <= day_end else (min(max(e[0], day_start), day_end), *e[1:]) for e in events]
        events.sort(key=lambda e: e[0])
        rows["audit_events"] = list(self.chain(events, day_start))
        return rows

    def filing(self, day_start: datetime, rows: dict[str, list[Row]]) -> list[Row]:
        rng = self.rng
        service = rng.choices(list(SERVICE_MIX), list(SERVICE_MIX.values()))[0]
        online = rng.random() < 0.75
        frequent = rng.random() < 0.1  # a twentieth of the people file a tenth of the applications
        person = self.people.person(rng.randrange(self.people.population // (20 if frequent else 1)))
        by = Actor(person, "citizen") if online else self.clerk(rng.choice(self.stations))
        created = self.at(day_start, office=not online)
        status = self.status(person, service, self.end - created)
        filed = Filed(self.uid(), service, person, online, by.station)
        events, relative = [], None
        if service in WITH_PROOF:
            material, uploaded = self.uid(), created - timedelta(seconds=rng.uniform(20, 600))
            assert by.person is not None
            rows["materials"].append((material, by.person.sub, "application/pdf", rng.randint(80_000, 2_000_000), self.sha(), "proof.pdf", None, uploaded))  # fmt: skip
            rows["application_materials"].append((filed.id, material, created))
            self.counts["materials"] += 1
            events.append(self.event(uploaded, "request", "material.upload", by, resource=("material", material), status=201))  # fmt: skip
            details: dict[str, Any] = {"address": self.address(), "material_ids": [material]}
        else:
            details, relative = self.details(service, person)
        behalf = "citizen" if online else f"clerk@{by.station}"
        for i, call in enumerate(AGENCY_CALLS[service]):
            agency, dataset = call.split(":")
            outcome = "unavailable" if status == "pending_agency" and i == 0 else "ok"
            events.append(self.event(created + timedelta(milliseconds=50 + 40 * i), "agency_call", f"agency.{agency}.{dataset}", by, filed,
                                     subject=relative if i and relative else None, agency=(agency, dataset, behalf), outcome=outcome))  # fmt: skip
        filed_at = created + timedelta(milliseconds=rng.uniform(300, 2500))
        events.append(self.event(filed_at, "request", "application.file", by, filed, status=202 if status == "pending_agency" else 201))  # fmt: skip
        decided, by_clerk = self.decided(status, created)
        if decided is not None and status == "issued":
            self.issue(filed, decided, rows["certificates"], events)
        if decided is not None and by_clerk:
            self.schedule(self.event(decided, "request", "application.decision", self.clerk(by.station or rng.choice(self.stations)), filed))  # fmt: skip
        if online:
            for _ in range(rng.randint(1, 2)):
                seen = filed_at + timedelta(minutes=rng.expovariate(1 / 30))
                events.append(self.event(seen, "request", "application.read", by, filed))
        rows["applications"].append(self.application_row(filed, by, status, details, created, decided, by_clerk))
        self.counts["applications"] += 1
        self.recent.append(filed)
        self.sample("citizens", self.counts["applications"], [person.id_number, person.name, person.sub])
        return events

    def status(self, person: Person, service: str, age: timedelta) -> str:
        rng, key = self.rng, (person.hash, service)
        if age < timedelta(days=30) and key not in self.open:
            draw = rng.random()
            opened = ("pending_agency" if age < timedelta(days=1) and draw < 0.02 else
                      "needs_review" if draw < 0.05 else "needs_materials" if draw < 0.06 else None)  # fmt: skip
            if opened:
                self.open.add(key)
                return opened
        draw = rng.random()
        return "issued" if draw < self.issue_share else "withdrawn" if draw > 0.93 else "rejected"

    def decided(self, status: str, created: datetime) -> tuple[datetime | None, bool]:
        """When, and whether by a clerk after a review (else by the rules at once, or the applicant)."""
        rng = self.rng
        if status in ("pending_agency", "needs_review", "needs_materials"):
            return None, False
        if status == "withdrawn":
            return self.before_end(created + timedelta(hours=rng.uniform(1, 72))), False
        if rng.random() < 0.1:
            return self.before_end(created + timedelta(days=rng.uniform(0.2, 5))), True
        return created + timedelta(seconds=rng.uniform(0.5, 3)), False

    def issue(self, filed: Filed, at: datetime, certificates: list[Row], events: list[Row]) -> None:
        rng = self.rng
        months = SERVICES[filed.service].validity_months or (1 if filed.service.startswith("temporary") else 12)
        expires = at + timedelta(days=30 * months)
        row = self.certificate_row(filed, at, expires)
        draw = rng.random()
        if draw < 0.003 and filed.service not in PERMITS:
            revoked, by = self.before_end(at + timedelta(days=rng.uniform(1, 90))), f"clerk-{self.stations[0]}-0"
            row = (*row[:10], "revoked", revoked, "DATA_CORRECTED", "信息有误，已更正", by, *row[15:])
        certificates.append(row)
        filed.serial, filed.code = row[0], row[3]
        if filed.online:
            downloaded = at + timedelta(minutes=rng.uniform(0.1, 20))
            events.append(self.event(downloaded, "request", "certificate.download", Actor(filed.person, "citizen"), filed, resource=("certificate", row[0])))  # fmt: skip
        if 0.003 <= draw < 0.013:  # re-issued (补发) later: the first superseded by the second
            again = self.before_end(at + timedelta(days=rng.uniform(1, 60)))
            second = self.certificate_row(filed, again, expires, replaces=row[0])
            self.superseded.append((row[0], second[0], again))
            certificates.append(second)
            filed.serial, filed.code = second[0], second[3]
        if filed.service in PERMITS:  # one valid residence permit per person: a new one supersedes the last
            held = self.permits.get(filed.person.hash)
            if held is not None and held[1] > at:
                self.superseded.append((held[0], filed.serial, at))
            self.permits[filed.person.hash] = (filed.serial, expires)
        self.sample("codes", self.counts["certificates"], filed.code)

    def certificate_row(self, filed: Filed, at: datetime, expires: datetime, replaces: str | None = None) -> Row:
        self.serials += 1
        self.counts["certificates"] += 1
        number = serial(SERVICES[filed.service].serial_prefix, at.astimezone(SHANGHAI).year, self.serials)
        person, day = filed.person, f"{expires.astimezone(SHANGHAI):%Y-%m-%d}"
        facts = json.dumps([["持证人", person.name], ["有效期至", day]], ensure_ascii=False)
        return (number, filed.id, filed.service, "".join(self.rng.choices(ALPHABET, k=LENGTH)), person.name, person.hash,
                person.masked, facts, at, expires, "issued", None, None, None, None, None, None, replaces, self.sha(),
                self.rng.randint(40_000, 60_000), None, 1)  # fmt: skip

    def application_row(self, filed: Filed, by: Actor, status: str, details: dict[str, Any], created: datetime,
                        decided: datetime | None, by_clerk: bool) -> Row:  # fmt: skip
        rng = self.rng
        reason = {"rejected": rng.choice(("IDENTITY_MISMATCH", "RESIDENCE_UNDER_6_MONTHS", "LOCAL_HUKOU")),
                  "needs_review": "NO_HOUSING_RECORD", "needs_materials": "MATERIALS_REQUESTED"}.get(status)  # fmt: skip
        checks = [] if status == "pending_agency" else self.checks(filed.service, failed=reason is not None)
        decision: dict[str, Any] | None = None
        if decided is not None or status in ("needs_review", "needs_materials"):
            who = "clerk" if by_clerk else "applicant" if status == "withdrawn" else "rules"
            decision = {"outcome": status, "by": who, "reason": "材料已核验" if by_clerk else None,
                        "station_id": filed.station if by_clerk else None, "at": (decided or created).isoformat()}  # fmt: skip
        history = [{"from": "submitted", "to": "verifying", "at": created.isoformat(), "by": "applicant"}]
        if decision is not None:
            history.append({"from": "verifying", "to": status, "at": decision["at"], "by": decision["by"]})
        retry = {"pending_agency": timedelta(minutes=rng.uniform(1, 60)), "needs_materials": timedelta(days=30)}.get(status)  # fmt: skip
        person = filed.person
        assert by.person is not None
        return (filed.id, filed.service, status, "online" if filed.online else "window", filed.station, person.id_number,
                person.hash, person.name, by.person.sub, by.role, json.dumps(details, ensure_ascii=False),
                json.dumps(checks, ensure_ascii=False),
                json.dumps([reason_dict(REASON_CODES[reason])] if reason else [], ensure_ascii=False),
                json.dumps(decision, ensure_ascii=False) if decision else None, "{}", json.dumps(history),
                int(status == "pending_agency"), created + retry if retry else None, created, decided or created,
                decided, len(history))  # fmt: skip

    def checks(self, service: str, *, failed: bool) -> list[dict[str, Any]]:
        """The checks as the catalogue writes them (the last one failed when the case was not issued)."""
        calls = AGENCY_CALLS[service]
        out = []
        for i, call in enumerate(calls):
            agency, dataset = call.split(":")
            outcome = Outcome.failed if failed and i == len(calls) - 1 else Outcome.passed
            detail = Text(
                f"{dataset}：{'未通过' if outcome is Outcome.failed else '通过'}", f"{dataset}: {outcome.value}"
            )
            out.append(
                Check(
                    dataset.upper().replace(".", "_").replace("-", "_"), agency, outcome, detail, self.sha()
                ).as_dict()
            )
        return out  # fmt: skip

    def details(self, service: str, person: Person) -> tuple[dict[str, Any], Person | None]:
        """A filing's details (those without a proof), and the relative a kinship filing consults."""
        rng = self.rng
        if service == "kinship-certificate":
            relative = self.people.person(rng.randrange(self.people.population))
            return {"relative_id_number": relative.id_number, "purpose": "继承公证"}, relative
        if service == "no-criminal-record-certificate":
            return {"purpose": rng.choice(("employment", "study", "visa"))}, None
        if service == "household-registration-certificate":
            return {"purpose": rng.choice(("子女入学", "办理签证", "公证"))}, None
        if service == "temporary-identity-certificate":
            return {"reason": rng.choice(("card_lost", "card_expired", "travel"))}, None
        held = self.permits.get(person.hash)
        return {"certificate_serial": held[0] if held else serial("JZZ", 2026, rng.randrange(1, 10**6))}, None

    def address(self) -> str:
        rng = self.rng
        road, number = rng.choice(ROADS), rng.randint(1, 3000)
        return f"上海市{rng.choice(DISTRICTS)[1]}{road}{number}号{rng.randint(1, 20)}号楼{rng.randint(1, 30)}0{rng.randint(1, 6)}室"  # fmt: skip

    def schedule(self, event: Row) -> None:
        d = (event[0] - self.start) // timedelta(days=1)
        self.later.setdefault(d, []).append(event)

    def background(self, kind: str, day_start: datetime) -> list[Row]:
        """One piece of the day's other traffic, about an application of the last weeks."""
        rng = self.rng
        filed = self.recent.pick(rng)
        at, owner = self.at(day_start, office=kind in STAFF_WORK), Actor(filed.person, "citizen")
        if kind == "read" or (kind in ("verify", "download") and filed.serial is None):
            return [self.event(at, "request", "application.read", owner, filed)]
        if kind in ("list", "data_access", "notifications"):
            action = {"list": "application.list", "data_access": "me.data_access", "notifications": "me.notifications"}[kind]  # fmt: skip
            return [self.event(at, "request", action, owner)]
        if kind in ("verify", "download"):
            public = Actor(None, None) if kind == "verify" else owner
            return [self.event(at, "request", f"certificate.{kind}", public, filed, resource=("certificate", filed.serial or ""))]  # fmt: skip
        if kind == "auditor":
            return [self.event(at, "request", "audit.events", Actor(self.people.auditor(rng.randrange(3)), "auditor"), subject=filed.person)]  # fmt: skip
        clerk = self.clerk(filed.station or rng.choice(self.stations))
        if kind == "clerk_read":
            return [self.event(at, "request", "application.read", clerk, filed)]
        if kind == "stats":
            return [self.event(at, "request", "stats.read", clerk)]
        # A page of applications shown to a clerk: one consultation of each applicant's data.
        shown = [filed] if kind == "search" else [self.recent.pick(rng) for _ in range(QUEUE_PAGE)]  # fmt: skip
        action = "application.list" if kind == "search" else "application.review_queue"
        return [self.event(at, "request", action, clerk)] + [self.event(at, "consultation", action, clerk, f) for f in shown]  # fmt: skip

    def chain(self, events: list[Row], day_start: datetime) -> Iterator[Row]:
        """The day's events with their position and hashes, as the sealer links them; a checkpoint candidate
        at every CHECKPOINT_SECONDS boundary the log crossed."""
        boundary = day_start + timedelta(seconds=CHECKPOINT_SECONDS)
        for row in events:
            while row[0] >= boundary:
                if self.seq and (not self.checkpoints or self.checkpoints[-1][0] != self.seq):
                    self.checkpoints.append((self.seq, self.head, boundary))
                boundary += timedelta(seconds=CHECKPOINT_SECONDS)
            self.seq += 1
            fields = dict(zip(EVENT_COLUMNS, row, strict=True))
            fields["seq"] = self.seq
            digest = event_hash(self.head, fields)
            yield (*row[:-1], None if row[-1] is None else json.dumps(row[-1]), self.seq, self.head, digest)
            self.head = digest
        self.events += len(events)


def filings_per_day(total: int, start: datetime) -> list[int]:
    """`total` spread over DAYS: weekdays 1, Saturdays 0.5, Sundays 0.35 (Shanghai)."""
    weekday = (1.0, 1.0, 1.0, 1.0, 1.0, 0.5, 0.35)
    weights = [weekday[(start + timedelta(days=d)).astimezone(SHANGHAI).weekday()] for d in range(DAYS)]
    out, done, running, scale = [], 0, 0.0, total / sum(weights)
    for w in weights:
        running += w * scale
        out.append(round(running) - done)
        done = round(running)
    return out


# -- the database -----------------------------------------------------------------------------------


async def _columns(conn: asyncpg.Connection, table: str, ours: Sequence[str]) -> list[str]:
    """Our columns that the table has; one we do not fill that must be given stops the build."""
    rows = await conn.fetch(
        "SELECT column_name, is_nullable, column_default, is_identity FROM information_schema.columns "
        "WHERE table_schema = 'public' AND table_name = $1",
        table,
    )
    required = [r["column_name"] for r in rows if r["is_nullable"] == "NO" and r["column_default"] is None
                and r["is_identity"] == "NO" and r["column_name"] not in ours]  # fmt: skip
    if required:
        raise RuntimeError(f"{table}: NOT NULL columns without a default that bench/growth_data.py does not fill: {required}")  # fmt: skip
    present = {r["column_name"] for r in rows}
    return [c for c in ours if c in present]


async def _secondary_indexes(conn: asyncpg.Connection) -> list[tuple[str, str]]:
    """(name, definition) of the indexes of the loaded tables that back no constraint."""
    rows = await conn.fetch(
        "SELECT i.indexname, i.indexdef FROM pg_indexes i WHERE i.schemaname = 'public' AND i.tablename = ANY($1) "
        "AND NOT EXISTS (SELECT 1 FROM pg_constraint c WHERE c.conindid = quote_ident(i.indexname)::regclass)",
        list(COLUMNS),
    )
    # A partitioned table's index reads "ON ONLY" in pg_indexes: made so, it would cover no partition and
    # stay invalid, and every search of the request log would scan all of it.
    return [(r["indexname"], r["indexdef"].replace(" ON ONLY ", " ON ", 1)) for r in rows]


async def _month_partitions(conn: asyncpg.Connection, start: datetime, end: datetime) -> None:
    """If the request log is partitioned by a range of time (by month, as issue 29 asks), a partition for
    each month of the year where none holds it yet."""
    key = await conn.fetchval(
        "SELECT pg_get_partkeydef(c.oid) FROM pg_class c JOIN pg_partitioned_table p ON p.partrelid = c.oid "
        "WHERE c.relname = 'audit_events'"
    )
    if not key or not key.upper().startswith("RANGE"):
        return
    month = start.replace(day=1, hour=0, minute=0, second=0, microsecond=0)
    while month < end + timedelta(days=31):
        following = (month + timedelta(days=32)).replace(day=1)
        bounds = f"FROM ('{month.isoformat()}') TO ('{following.isoformat()}')"
        try:
            async with conn.transaction():
                await conn.execute(f"CREATE TABLE IF NOT EXISTS audit_events_{month:%Y_%m} PARTITION OF audit_events FOR VALUES {bounds}")  # fmt: skip
        except asyncpg.PostgresError:
            pass  # a partition of the service's own naming holds that month
        month = following


async def build(pg_url: str, data_dir: Path, applications: int, *, tail: int, seed: int, log: Callable[[str], None]) -> Built:  # fmt: skip
    """Fill the migrated, empty database at `pg_url` with a year of `applications`."""
    built, year = Built(), Year(applications, data_dir=data_dir, tail=tail, seed=seed)
    conn = await asyncpg.connect(pg_url)
    try:
        columns = {table: await _columns(conn, table, ours) for table, ours in COLUMNS.items()}
        keep = {table: [COLUMNS[table].index(c) for c in columns[table]] for table in COLUMNS}
        await _month_partitions(conn, year.start, year.end)
        indexes = await _secondary_indexes(conn)
        for name, _ in indexes:
            await conn.execute(f'DROP INDEX "{name}"')
        started, cpu = time.monotonic(), time.process_time()
        pending: dict[str, list[Row]] = {table: [] for table in COLUMNS}
        for d, filings in enumerate(filings_per_day(applications, year.start)):
            for table, records in year.day(d, filings).items():
                pending[table] += records
            if sum(map(len, pending.values())) >= 50_000 or d == DAYS - 1:  # a few large COPYs, parents first
                for table, records in pending.items():
                    if len(keep[table]) < len(COLUMNS[table]):
                        records = [tuple(r[i] for i in keep[table]) for r in records]
                    if records:
                        await conn.copy_records_to_table(table, records=records, columns=columns[table])
                    pending[table] = []
            if d % 73 == 72:
                log(f"  day {d + 1}/{DAYS}: {year.counts['applications']:,} applications, {year.events:,} events")
        # The generator's CPU (it runs here) apart from the rest of the load's wall time (the server's COPY).
        built.seconds = {
            "generate_cpu": round(time.process_time() - cpu, 1),
            "load": round(time.monotonic() - started, 1),
        }
        t = time.monotonic()
        await conn.execute("SET maintenance_work_mem = '256MB'")
        for _, definition in indexes:
            await conn.execute(definition)
        built.seconds["indexes"] = round(time.monotonic() - t, 1)
        await _finish(conn, year, data_dir)
        # What the sealer keeps as it seals (app/audit/hours.py): the load wrote its events sealed.
        await conn.execute(
            "INSERT INTO audit_seq_hours (hour, first_seq, last_seq) SELECT date_trunc('hour', occurred_at), "
            "min(seq), max(seq) FROM audit_events WHERE seq IS NOT NULL GROUP BY 1"
        )
        t = time.monotonic()
        await conn.execute("VACUUM ANALYZE")
        built.seconds["vacuum_analyze"] = round(time.monotonic() - t, 1)
    finally:
        await conn.close()
    last = year.checkpoints[-1][0] if year.checkpoints else 0
    built.counts = year.counts | {"events": year.events, "checkpoints": len(year.checkpoints), "tail": year.seq - last}
    built.samples = year.samples | {"start": year.start.isoformat(), "end": year.end.isoformat(),
                                    "clerk": list(year.people.clerk("310105-HQLB", 0)), "auditor": list(year.people.auditor(0))}  # fmt: skip
    return built


async def _finish(conn: asyncpg.Connection, year: Year, data_dir: Path) -> None:
    """The supersessions, the certificate numbers' sequence, and the checkpoints signed with the service's
    key (all but over the tail)."""
    if year.superseded:
        old, new, when = (list(column) for column in zip(*year.superseded, strict=True))
        await conn.execute(
            "UPDATE certificates AS c SET status = 'superseded', superseded_by = v.new, superseded_at = v.at "
            "FROM unnest($1::varchar[], $2::varchar[], $3::timestamptz[]) AS v(old, new, at) WHERE c.serial = v.old",
            old, new, when,
        )  # fmt: skip
    await conn.execute("SELECT setval(pg_get_serial_sequence('certificate_numbers', 'id'), $1)", max(1, year.serials))
    signer = _signer(data_dir)
    year.checkpoints = [c for c in year.checkpoints if c[0] <= year.seq - year.tail]
    rows = [_checkpoint(signer, seq, head, at) for seq, head, at in year.checkpoints]
    await conn.copy_records_to_table("audit_checkpoints", records=rows, columns=_CHECKPOINT_COLUMNS)


_CHECKPOINT_COLUMNS = ["seq", "head_hash", "signed_at", "signature", "certificate_pem"]


def _signer(data_dir: Path) -> PdfSigner:
    key_file, cert_file = ensure_dev_signing_material(data_dir)
    return PdfSigner(key_file=key_file, cert_file=cert_file)


def _checkpoint(signer: PdfSigner, seq: int, head: str, at: datetime) -> tuple[int, str, datetime, str, str]:
    """An `audit_checkpoints` row (`_CHECKPOINT_COLUMNS`), signed as the worker signs one."""
    signed_at = at.replace(microsecond=0)
    signature = base64.b64encode(signer.sign_bytes(checkpoint_message(seq, head, signed_at))).decode()
    return seq, head, signed_at, signature, signer.certificate_pem


async def _keep_tail(pg_url: str, data_dir: Path, tail: int) -> int:
    """A checkpoint signed `tail` events before the head, when the runs since the build have lengthened the
    tail past it (their requests are logged and sealed, and no worker signs): every run then verifies the
    tail the build meant, not one that grows with each run. Returns the tail now."""
    conn = await asyncpg.connect(pg_url)
    try:
        head = await conn.fetchval("SELECT coalesce(max(seq), 0) FROM audit_events")
        last = await conn.fetchval("SELECT coalesce(max(seq), 0) FROM audit_checkpoints")
        if head - last <= tail:
            return int(head - last)
        seq = head - tail
        head_hash = await conn.fetchval("SELECT hash FROM audit_events WHERE seq = $1", seq)
        row = _checkpoint(_signer(data_dir), seq, head_hash, datetime.now(UTC))
        await conn.copy_records_to_table("audit_checkpoints", records=[row], columns=_CHECKPOINT_COLUMNS)
        return tail
    finally:
        await conn.close()


def keep_tail(pg_url: str, data_dir: Path, tail: int) -> int:
    return asyncio.run(_keep_tail(pg_url, data_dir, tail))


def run(pg_url: str, data_dir: Path, applications: int, *, tail: int, seed: int, log: Callable[[str], None]) -> Built:
    return asyncio.run(build(pg_url, data_dir, applications, tail=tail, seed=seed, log=log))
