"""The applications' routes: a case (`cases.py`) and the materials attached to it (`materials.py`), one
router, in the order the OpenAPI document lists them."""

from __future__ import annotations

from fastapi import APIRouter

from app.applications.endpoints import cases, materials

router = APIRouter()
router.include_router(cases.router)
router.include_router(materials.router)
