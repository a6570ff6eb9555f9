"""The statuses of an application (CONTRACT §5); how one moves to another is app.applications.states."""

from __future__ import annotations

from enum import StrEnum


class Status(StrEnum):
    submitted = "submitted"
    verifying = "verifying"
    pending_agency = "pending_agency"
    needs_review = "needs_review"
    needs_materials = "needs_materials"
    issued = "issued"
    rejected = "rejected"
    withdrawn = "withdrawn"
