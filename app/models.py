"""Every mapped class, imported once so Base.metadata is complete (Alembic, tests)."""

from app.applications.late_changes import LateChanges
from app.applications.models import Application, IdempotencyRecord
from app.audit.models import AuditArchive, AuditCheckpoint, AuditEvent
from app.certificates.models import Certificate, CertificateNumber
from app.credentials.models import StatusListEntry
from app.db.base import Base
from app.materials.models import ApplicationMaterial, Material
from app.notifications.models import OutboxEvent, SinkDelivery
from app.oversight.models import PersonSearch
from app.sharing.models import Share
from app.stations.models import Appointment, Slot

__all__ = [
    "Application",
    "ApplicationMaterial",
    "Appointment",
    "AuditArchive",
    "AuditCheckpoint",
    "AuditEvent",
    "Base",
    "Certificate",
    "CertificateNumber",
    "IdempotencyRecord",
    "LateChanges",
    "Material",
    "OutboxEvent",
    "PersonSearch",
    "Share",
    "SinkDelivery",
    "Slot",
    "StatusListEntry",
]
