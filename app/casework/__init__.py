"""Casework: what changes a certificate together with the case that issued it (revoke, re-issue).

It sits above both `app.applications` and `app.certificates`, so that certificates stay a leaf that issues,
renders, signs, stores and verifies from values, and the case's rules (separation of duties, the workflow
that issues a replacement, the citizen's notification) are applied in one place."""
