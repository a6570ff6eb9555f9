"""What deciding a case needs besides the case and its unit of work: one object, built once with the other
collaborators (app.main.build_collaborators), handed to filing, to a clerk's re-check, to a supply of
materials and to the retry job alike, so that they decide with the same parts."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from app.audit.service import AuditLog
from app.certificates.issuing import CertificateIssuer
from app.clock import Clock
from integrations.agencies import Agencies


@dataclass(frozen=True, slots=True)
class DecisionKit:
    audit: AuditLog  # where agency calls and changes are written; its hasher keys the applicant
    agencies: Agencies  # the police and housing clients asked for the facts
    issuer: CertificateIssuer  # renders, signs and stores the certificate an approval issues
    clock: Clock
    wait_limit: timedelta  # how long a case may wait for an agency before a clerk reviews it (AGENCY_WAIT_LIMIT)
