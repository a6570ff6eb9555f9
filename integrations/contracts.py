"""The agencies' interfaces as OpenAPI documents, generated from the simulators' routes and wire models.

`openapi/police.json` and `openapi/housing.json` are the committed contract; a test fails when the
simulators drift from them. After a deliberate change, rewrite them with
`python -m integrations.contracts` and review the diff.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from app.clock import shanghai_today
from integrations.datasets import Dataset
from integrations.housing import simulator as housing_simulator
from integrations.police import simulator as police_simulator
from integrations.simapp import agency_openapi

OPENAPI_DIR = Path(__file__).resolve().parent.parent / "openapi"


def agency_documents() -> dict[str, dict[str, Any]]:
    empty = Dataset(
        persons=[],
        residence_registrations=[],
        criminal_records=[],
        properties=[],
        leases=[],
        today=shanghai_today(),
    )
    return {
        "police": agency_openapi(police_simulator.create_app(empty)),
        "housing": agency_openapi(housing_simulator.create_app(empty)),
    }


def render(document: dict[str, Any]) -> str:
    return json.dumps(document, ensure_ascii=False, indent=2) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m integrations.contracts",
        description="Rewrite openapi/police.json and openapi/housing.json from the simulators (review the diff).",
    )
    parser.add_argument("--check", action="store_true", help="write nothing; exit 1 if a committed file differs")
    args = parser.parse_args(argv)
    stale = [agency for agency, document in agency_documents().items()
             if (OPENAPI_DIR / f"{agency}.json").read_text(encoding="utf-8") != render(document)]
    if args.check:
        for agency in stale:
            print(f"openapi/{agency}.json is out of date: run `python -m integrations.contracts`", file=sys.stderr)
        return 1 if stale else 0
    for agency, document in agency_documents().items():
        path = OPENAPI_DIR / f"{agency}.json"
        path.write_text(render(document), encoding="utf-8")
        print(f"wrote {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
