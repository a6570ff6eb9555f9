"""Certificates: render, sign and verify PDFs."""
