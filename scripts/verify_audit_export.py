#!/usr/bin/env python3
"""Verify an exported request log offline: the same as `cityservices verify-export` (app/audit/offline.py),
for a checkout without the command installed.

    python scripts/verify_audit_export.py events.ndjson --trust cityservices-signing.pem --anchor file:///var/lib/cityservices/anchor.jsonl
"""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from app.audit.offline import main  # noqa: E402

if __name__ == "__main__":
    sys.exit(main())
