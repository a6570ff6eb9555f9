"""The other agencies: HTTP clients for the police and the housing bureau, and simulators of both.

Nothing else in the service talks to an agency; the domain codes against `Agencies` and the
error taxonomy in `integrations.errors`.
"""
