"""The new services' rules on the agencies' answers, one test per rule."""

from __future__ import annotations

from datetime import date

from app.catalogue.base import Applicant, Consultation, identity_then
from app.catalogue.decisions import Check, Outcome
from app.catalogue.kinship.rules import relation_to_applicant, relative_check, same_household_check
from app.catalogue.residence_permit.rules import residence_registration
from app.catalogue.temporary_identity import TemporaryIdentityCertificate, temporary_expiry
from app.i18n import Text
from integrations.errors import AgencyNotFound, AgencyUnavailable
from integrations.http import AgencyResponse
from integrations.police.schemas import Person, ResidenceRegistrations

HEAD_ID, SON_ID, DAUGHTER_ID, OTHER_ID = (
    "31010119650815031X",
    "31010119930610057X",
    "31010120010918102X",
    "310107197511200333",
)
TODAY = date(2026, 11, 30)


def person(
    id_number: str, *, relation: str = "本人", head: str | None = None, gender: str = "M", status: str = "active"
) -> Person:
    return Person.model_validate(
        {
            "id_number": id_number,
            "name": "某人",
            "gender": gender,
            "ethnicity": "汉",
            "birth_date": "1990-01-01",
            "status": status,
            "hukou": {
                "province_code": "31",
                "address": "上海市黄浦区南京东路100弄3号",
                "household_head_id_number": head or id_number,
                "relation_to_head": relation,
            },
        }
    )


def answered(data, sha: str = "b" * 64) -> Consultation:
    return Consultation("police", "population.person", response=AgencyResponse(data, sha, "population.person", 1.0))


def test_relation_is_the_relatives_own_when_the_applicant_is_the_head():
    head = person(HEAD_ID)
    son = person(SON_ID, relation="子", head=HEAD_ID)
    assert relation_to_applicant(head, son) == "子"


def test_relation_is_the_converse_by_the_heads_gender_when_the_relative_is_the_head():
    son = person(SON_ID, relation="子", head=HEAD_ID)
    assert relation_to_applicant(son, person(HEAD_ID, gender="M")) == "父亲"
    assert relation_to_applicant(son, person(HEAD_ID, gender="F")) == "母亲"
    mother = person(SON_ID, relation="母", head=HEAD_ID, gender="F")
    assert relation_to_applicant(mother, person(HEAD_ID, gender="M")) == "子"
    spouse = person(SON_ID, relation="配偶", head=HEAD_ID, gender="F")
    assert relation_to_applicant(spouse, person(HEAD_ID)) == "配偶"


def test_relation_is_not_inferred_between_two_members_who_are_not_the_head():
    son = person(SON_ID, relation="子", head=HEAD_ID)
    daughter = person(DAUGHTER_ID, relation="女", head=HEAD_ID, gender="F")
    assert relation_to_applicant(son, daughter) is None
    lodger = person(SON_ID, relation="其他", head=HEAD_ID)
    assert relation_to_applicant(lodger, person(HEAD_ID)) is None


def test_relative_must_be_in_the_registry_deceased_or_not():
    gone = relative_check(answered(person(SON_ID, status="deceased")))
    assert gone.outcome is Outcome.passed
    missing = relative_check(
        Consultation("police", "population.person", error=AgencyNotFound("police", "404", evidence_sha256="c" * 64))
    )
    assert missing.outcome is Outcome.failed and missing.reason is not None
    assert missing.reason.code == "RELATIVE_NOT_FOUND" and missing.reason.effect.value == "rejected"
    assert missing.evidence_sha256 == "c" * 64
    down = relative_check(Consultation("police", "population.person", error=AgencyUnavailable("police", "down")))
    assert down.outcome is Outcome.unavailable


def test_same_household_means_the_same_household_head():
    head, son = person(HEAD_ID), person(SON_ID, relation="子", head=HEAD_ID)
    assert same_household_check(head, son, "d" * 64).outcome is Outcome.passed
    elsewhere = same_household_check(head, person(OTHER_ID), "d" * 64)
    assert elsewhere.outcome is Outcome.failed and elsewhere.reason is not None
    assert elsewhere.reason.code == "NOT_SAME_HOUSEHOLD" and elsewhere.reason.effect.value == "needs_review"
    assert elsewhere.reason.message.zh and elsewhere.reason.message.en


def test_a_change_of_address_counts_any_registration_however_recent():
    recent = answered(
        ResidenceRegistrations.model_validate(
            {"items": [{"address": "上海市徐汇区田林路200号3号楼1101室", "registered_on": "2026-11-20"}]}
        )
    )
    address = "上海市徐汇区田林路200号3号楼1101室"
    assert residence_registration(recent, address, TODAY).reason.code == "RESIDENCE_UNDER_6_MONTHS"  # type: ignore[union-attr]
    assert residence_registration(recent, address, TODAY, minimum_months=None).outcome is Outcome.passed
    elsewhere = residence_registration(recent, "上海市徐汇区田林路200号3号楼1102室", TODAY, minimum_months=None)
    assert elsewhere.reason is not None and elsewhere.reason.code == "NO_RESIDENCE_REGISTRATION"


def test_temporary_identity_certificate_is_valid_30_days():
    assert temporary_expiry(date(2026, 11, 30)) == date(2026, 12, 30)
    assert TemporaryIdentityCertificate().expires_on(issued_on=date(2027, 2, 10), facts={}) == date(2027, 3, 12)


def test_a_check_of_the_persons_own_record_counts_only_once_the_record_is_the_applicants():
    def hukou_seen(consultation: Consultation) -> Check:
        return Check("HUKOU_LOCAL", "police", Outcome.passed, Text("户籍在上海", "In Shanghai"), consultation.evidence)

    applicant = Applicant(HEAD_ID, "某人")
    theirs = identity_then(answered(person(HEAD_ID)), applicant, "HUKOU_LOCAL", hukou_seen)
    assert [(c.code, c.outcome) for c in theirs] == [("IDENTITY", Outcome.passed), ("HUKOU_LOCAL", Outcome.passed)]
    someone_else = identity_then(answered(person(HEAD_ID)), Applicant(HEAD_ID, "别人"), "HUKOU_LOCAL", hukou_seen)
    assert [(c.code, c.outcome) for c in someone_else] == [("IDENTITY", Outcome.failed)]
    down = Consultation("police", "population.person", error=AgencyUnavailable("police", "down"))
    unanswered = identity_then(down, applicant, "HUKOU_LOCAL", hukou_seen)
    assert [(c.code, c.outcome) for c in unanswered] == [
        ("IDENTITY", Outcome.unavailable),
        ("HUKOU_LOCAL", Outcome.unavailable),
    ]
