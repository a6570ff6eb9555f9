"""The log's rows as the wire shapes of the oversight routes: a citizen's data-access item, a chain check."""

from __future__ import annotations

from app.audit.models import AuditEvent
from app.audit.schemas import ChainVerification, DataAccessOut
from app.audit.walks import ChainCheck


def access_kind(action: str, kind: str) -> str:
    """What a citizen is told a consultation was: an agency call, a public verification, a use of a link they
    shared, or a staff read."""
    if kind == "agency_call":
        return "agency_call"
    if action.startswith("certificate.verify"):
        return "verification"
    if action.startswith("share.use"):
        return "share_use"
    return "staff_read"


def data_access_out(event: AuditEvent) -> DataAccessOut:
    return DataAccessOut(
        at=event.occurred_at,
        kind=access_kind(event.action, event.kind),
        action=event.action,
        agency=event.agency,
        dataset=event.dataset,
        application_id=event.application_id,
        certificate_serial=event.resource_id if event.resource_type == "certificate" else None,
        on_behalf_of=event.on_behalf_of,
        by_role=event.actor_role,
        by_station=event.actor_station,
        request_id=event.request_id,
        recipient=(event.details or {}).get("recipient") if event.action.startswith("share.use") else None,
    )


def chain_verification(check: ChainCheck) -> ChainVerification:
    """The head is vouched for only when the whole chain is intact and holds at least one event."""
    state, intact = check.state, check.intact
    return ChainVerification(
        intact=intact,
        events_checked=state.checked,
        first_bad_event=state.first_bad,
        break_reason=state.break_reason,
        head_seq=state.head_seq if intact and state.checked else None,
        head_hash=state.prev_hash if intact and state.checked else None,
        checkpoint_seq=check.latest.seq if check.latest else None,
        checkpoint_signature_valid=check.latest_signature_ok,
        checkpoints_checked=check.checkpoints,
        scope=check.scope,
        walked_from_seq=check.walked_from_seq,
    )
