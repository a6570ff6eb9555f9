"""What a service is: its catalogue entry, its details, the agency checks it runs, its rules, its document.
Adding a service is one new package that subclasses ServiceDefinition and is listed in registry.py."""

from __future__ import annotations

import asyncio
import hashlib
import unicodedata
from abc import ABC, abstractmethod
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import date
from typing import Any, ClassVar, Protocol

from pydantic import BaseModel

from app.catalogue.calendar import add_months
from app.catalogue.decisions import IDENTITY_MISMATCH, IDENTITY_NOT_FOUND, Check, Outcome
from app.catalogue.records import CertificateFamily, OwnRecords
from app.errors import AppError
from app.i18n import Text
from integrations.agencies import Agencies
from integrations.errors import AgencyBadResponse, AgencyError, AgencyMisconfigured, AgencyNotFound
from integrations.http import AgencyResponse
from integrations.police.schemas import Person


@dataclass(frozen=True)
class Applicant:
    id_number: str
    name: str


@dataclass(frozen=True)
class Consultation:
    """One agency call's result, whatever it was."""

    agency: str
    dataset: str
    response: AgencyResponse[Any] | None = None
    error: AgencyError | None = None

    @property
    def outcome(self) -> str:
        """ok | not_found | unavailable | bad_response | misconfigured (the last three: no answer we can
        decide on; `misconfigured`: the agency refused our credentials or TLS)."""
        if self.response is not None:
            return "ok"
        if isinstance(self.error, AgencyNotFound):
            return "not_found"
        if isinstance(self.error, AgencyMisconfigured):
            return "misconfigured"
        if isinstance(self.error, AgencyBadResponse):
            return "bad_response"
        return "unavailable"

    @property
    def data(self) -> Any:
        return self.response.data if self.response is not None else None

    @property
    def evidence(self) -> str | None:
        if self.response is not None:
            return self.response.sha256
        return self.error.evidence_sha256 if isinstance(self.error, AgencyNotFound) else None

    @property
    def answered(self) -> bool:
        return self.outcome in ("ok", "not_found")


class ConsultFn(Protocol):
    """Ask an agency, recording the call. `subject_id_number` names whose data it is when that is not the
    applicant's (a relative's record, for a kinship certificate): the request log and that person's
    data-access list must name them, not the applicant."""

    def __call__(
        self,
        agency: str,
        dataset: str,
        call: Awaitable[AgencyResponse[Any]],
        /,
        *,
        subject_id_number: str | None = None,
    ) -> Awaitable[Consultation]: ...


@dataclass(frozen=True)
class DocumentContent:
    title: str
    facts: tuple[tuple[str, str], ...]
    body: str


@dataclass
class Findings:
    checks: list[Check]
    # What the document will state (e.g. hukou address), and what its issue depends on (the serial it
    # supersedes, the expiry it carries over), kept so a clerk's later approval can issue it.
    document_facts: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class CatalogueEntry:
    code: str
    name: Text
    description: Text
    required_materials: list[Text]
    agencies: list[str]
    processing_mode: str
    validity_months: int | None
    validity: Text
    line: str | None = None  # a matter done at a window: the business line to book a slot in


def _same_name(a: str, b: str) -> bool:
    def norm(s: str) -> str:
        return "".join(unicodedata.normalize("NFKC", s).split()).casefold()

    return norm(a) == norm(b)


class ServiceDefinition(ABC):
    code: ClassVar[str]
    name: ClassVar[Text]
    description: ClassVar[Text]
    serial_prefix: ClassVar[str]
    # A constant validity in calendar months from the day of issue, or None when `expires_on` computes
    # it from the facts (a renewal counts from the old expiry; a temporary certificate counts days).
    validity_months: ClassVar[int | None]
    validity: ClassVar[Text]
    required_materials: ClassVar[list[Text]] = []
    agencies: ClassVar[list[str]]
    details_model: ClassVar[type[BaseModel]]
    # Every error `admit` may raise, so that the filing route documents them (its OpenAPI stays true).
    filing_refusals: ClassVar[tuple[type[AppError], ...]] = ()
    # Set when a person holds one certificate of this service's family at a time (the residence permit).
    family: ClassVar[CertificateFamily | None] = None
    # Details fields that hold another person's id number (a kinship certificate's relative): masked in
    # every list, and each staff read of the application is a consultation of that person too.
    third_party_fields: ClassVar[tuple[str, ...]] = ()

    def catalogue_entry(self) -> CatalogueEntry:
        return CatalogueEntry(
            code=self.code,
            name=self.name,
            description=self.description,
            required_materials=self.required_materials,
            agencies=self.agencies,
            processing_mode="automatic",
            validity_months=self.validity_months,
            validity=self.validity,
        )

    def parse_details(self, raw: dict[str, Any]) -> BaseModel:
        return self.details_model.model_validate(raw)

    async def admit(self, *, applicant: Applicant, details: BaseModel, records: OwnRecords, today: date) -> None:
        """Refuse a filing outright (raise an AppError, answered 4xx) before any agency is asked, when
        our own records already say it has no purpose. Most services admit every filing."""
        return None

    @abstractmethod
    async def examine(
        self,
        *,
        applicant: Applicant,
        details: BaseModel,
        agencies: Agencies,
        consult: ConsultFn,
        records: OwnRecords,
        today: date,
    ) -> Findings:
        """Ask the agencies (concurrently) and our own records, and turn each answer into checks."""

    def expires_on(self, *, issued_on: date, facts: dict[str, str]) -> date:
        """The certificate's last valid day; by default a constant number of months from issue."""
        assert self.validity_months is not None, f"{self.code} must compute its own expiry"
        return add_months(issued_on, self.validity_months)

    def supersedes(self, *, facts: dict[str, str]) -> str | None:
        """The serial of our own certificate that this issue replaces (marked `superseded`), if any."""
        return None

    @abstractmethod
    def document(self, *, applicant: Applicant, details: BaseModel, facts: dict[str, str]) -> DocumentContent:
        """What the certificate states."""

    # Shared by every service: the applicant must be who they say they are.
    @staticmethod
    def identity_check(person: Consultation, applicant: Applicant) -> Check:
        if not person.answered:
            return _unavailable("IDENTITY", person)
        if person.outcome == "not_found":
            return Check(
                "IDENTITY",
                "police",
                Outcome.failed,
                Text("人口信息库中无此身份证号码", "No such id number in the population registry"),
                person.evidence,
                IDENTITY_NOT_FOUND,
            )
        record: Person = person.data
        if not _same_name(record.name, applicant.name):
            return Check(
                "IDENTITY",
                "police",
                Outcome.failed,
                Text("姓名与人口信息库登记不一致", "The name differs from the registry's"),
                person.evidence,
                IDENTITY_MISMATCH,
            )
        if record.status != "active":
            return Check(
                "IDENTITY",
                "police",
                Outcome.failed,
                Text(f"人口信息库中该人员状态为 {record.status}", f"The registry lists the person as {record.status}"),
                person.evidence,
                IDENTITY_MISMATCH,
            )
        return Check(
            "IDENTITY",
            "police",
            Outcome.passed,
            Text("身份证号码与姓名与人口信息库一致，状态正常", "Id number and name match the registry; status active"),
            person.evidence,
        )


def _unavailable(code: str, consultation: Consultation) -> Check:
    if consultation.outcome == "misconfigured":
        # Our fault, not the agency's: the application waits like any other, and says why to whoever reads it.
        return Check(
            code,
            consultation.agency,
            Outcome.unavailable,
            Text(
                "与该部门的连接配置有误（凭据被拒绝或 TLS 失败），已告警运维人员；修复后自动重试",
                f"Our connection to the {consultation.agency} agency is misconfigured (credentials refused or TLS "
                "failed); operators are alerted, and it is retried automatically once fixed",
            ),
            None,
        )
    return Check(
        code,
        consultation.agency,
        Outcome.unavailable,
        Text(
            "部门暂时无法应答，将自动重试", f"The {consultation.agency} agency did not answer; retrying automatically"
        ),
        None,
    )


def unavailable_check(code: str, consultation: Consultation) -> Check:
    return _unavailable(code, consultation)


def identity_then(
    person: Consultation, applicant: Applicant, code: str, rule: Callable[[Consultation], Check]
) -> list[Check]:
    """IDENTITY, then the check `code` that `rule` makes of the person's registry record: unavailable while
    the registry did not answer, and left out while the record is not proven the applicant's (what it says
    counts only then)."""
    identity = ServiceDefinition.identity_check(person, applicant)
    if not person.answered:
        return [identity, _unavailable(code, person)]
    if identity.outcome is not Outcome.passed:
        return [identity]
    return [identity, rule(person)]


def combined_evidence(*consultations: Consultation) -> str | None:
    """A check that relied on several answers: the hash of their hashes (each is in its agency-call event)."""
    hashes = [c.evidence for c in consultations if c.evidence]
    if len(hashes) <= 1:
        return hashes[0] if hashes else None
    return hashlib.sha256("\n".join(hashes).encode()).hexdigest()


async def consult_all(
    consult: ConsultFn, calls: dict[str, tuple[str, str, Awaitable[AgencyResponse[Any]]]]
) -> dict[str, Consultation]:
    """Run the named agency calls concurrently."""
    names = list(calls)
    results = await asyncio.gather(*(consult(*calls[name]) for name in names))
    return dict(zip(names, results, strict=True))
