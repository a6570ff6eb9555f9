"""Oversight of the request log: auditors read, export and verify it; citizens see who consulted their data.

The routes of app.audit, kept above it: the log itself (app.audit) sits below every domain, which writes to it."""
