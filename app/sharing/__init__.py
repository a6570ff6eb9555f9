"""Sharing a certificate with a named recipient, with the holder's consent (docs/sharing.md)."""
