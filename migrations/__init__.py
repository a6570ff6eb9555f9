"""Alembic migrations, shipped in the wheel so `cityservices migrate` needs no source checkout."""
