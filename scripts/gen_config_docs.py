#!/usr/bin/env python3
"""Generate docs/configuration.md from the Settings class (app/config.py).

    python scripts/gen_config_docs.py           # rewrite docs/configuration.md
    python scripts/gen_config_docs.py --check   # exit 1 if the file differs from the class

Everything in the document comes from the class: each field's environment variable (its name in upper
case), type, constraints, default and description, and the variables ENVIRONMENT=production insists
on (asked of the class itself, not copied). tests/docs/test_configuration_docs.py fails when the file
and the class disagree.
"""

from __future__ import annotations

import argparse
import sys
import types
from enum import Enum
from pathlib import Path, PurePath
from typing import Any, Union, get_args, get_origin

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from annotated_types import Ge, Gt, Le, Lt, MaxLen, MinLen  # noqa: E402
from pydantic import AnyHttpUrl, SecretStr, ValidationError  # noqa: E402
from pydantic.fields import FieldInfo  # noqa: E402

from app import config  # noqa: E402
from app.config import Environment, Settings  # noqa: E402

DOC = ROOT / "docs" / "configuration.md"

# What a field validator of Settings requires, by the validator's name; an unknown one still shows.
VALIDATOR_NOTES = {
    "_file_exists": "must name an existing file",
    "_jwks_file_exists": "must name an existing file",
    "_async_database_url": "driver one of " + ", ".join(f"`{d}`" for d in sorted(config._ASYNC_DRIVERS)),
    "_rate": "a rate such as `20/minute`, `5/second`, `1000/hour`",
    "_origins": "a JSON list, or origins separated by commas",
    "_redis_url": "`redis://`, `rediss://` or `unix://`",
    "_storage_url": "`s3://bucket/prefix`",
    "_issuer_url": "an http(s) URL, exactly the provider's `issuer`",
}


def env_var(name: str) -> str:
    return name.upper()


def _without_none(annotation: Any) -> tuple[Any, bool]:
    if get_origin(annotation) in (Union, types.UnionType):
        members = [a for a in get_args(annotation) if a is not type(None)]
        optional = len(members) < len(get_args(annotation))
        return (members[0] if len(members) == 1 else annotation), optional
    return annotation, False


def type_text(annotation: Any) -> str:
    inner, _ = _without_none(annotation)
    if isinstance(inner, type) and issubclass(inner, Enum):
        return "one of " + ", ".join(f"`{member.value}`" for member in inner)
    if get_origin(inner) is list:
        (item,) = get_args(inner)
        return f"JSON list of {type_text(item)}s"
    if get_origin(inner) is dict:
        return "JSON object"
    simple = {
        str: "string",
        int: "integer",
        float: "number",
        bool: "boolean (`true`/`false`)",
        Path: "path",
        AnyHttpUrl: "http(s) URL",
        SecretStr: "string (secret)",
    }
    return simple.get(inner, getattr(inner, "__name__", str(inner)))


def default_text(field: FieldInfo) -> str:
    value = field.get_default(call_default_factory=True)
    if value is None:
        return "unset"
    if isinstance(value, Enum):
        value = value.value
    elif isinstance(value, PurePath):
        text = str(value)
        value = text if value.is_absolute() or text.startswith(".") else f"./{text}"
    elif isinstance(value, bool):
        value = str(value).lower()
    elif isinstance(value, list):
        value = "[" + ", ".join(str(v) for v in value) + "]"
    elif isinstance(value, float) and value.is_integer():
        value = int(value)
    return f"`{value}`"


def constraint_notes(name: str, field: FieldInfo) -> list[str]:
    notes = []
    for item in field.metadata:
        if isinstance(item, Ge):
            notes.append(f"≥ {item.ge}")
        elif isinstance(item, Gt):
            notes.append(f"> {item.gt}")
        elif isinstance(item, Le):
            notes.append(f"≤ {item.le}")
        elif isinstance(item, Lt):
            notes.append(f"< {item.lt}")
        elif isinstance(item, MinLen):
            notes.append(f"at least {item.min_length} characters")
        elif isinstance(item, MaxLen):
            notes.append(f"at most {item.max_length} characters")
    for validator_name, decorator in Settings.__pydantic_decorators__.field_validators.items():
        if name in decorator.info.fields:
            notes.append(VALIDATOR_NOTES.get(validator_name, "validated at start"))
    return notes


def production_requirements() -> str:
    """Ask the class what ENVIRONMENT=production refuses, with every field at its default (passed
    explicitly, so that the environment of whoever runs this does not change the document)."""
    defaults = {name: field.get_default(call_default_factory=True) for name, field in Settings.model_fields.items()}
    try:
        Settings(**{**defaults, "environment": Environment.production})
    except ValidationError as exc:
        message = str(exc.errors()[0]["msg"]).removeprefix("Value error, ")
        _, _, names = message.partition("; set ")
        if names:
            return ", ".join(f"`{name.strip()}`" for name in names.split(","))
        return message
    return "nothing beyond the defaults"


def _list_note() -> list[str]:
    lists = [env_var(n) for n, f in Settings.model_fields.items() if get_origin(_without_none(f.annotation)[0]) is list]
    if not lists:
        return []
    return [
        "Lists ("
        + ", ".join(f"`{name}`" for name in lists)
        + ') are given as JSON, e.g. `["https://app.example.cn"]`, or separated by commas.'
    ]


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def render() -> str:
    lines = [
        "<!-- Generated from app/config.py by `python scripts/gen_config_docs.py`; do not edit by hand.",
        "     tests/docs/test_configuration_docs.py fails when this file and the Settings class disagree. -->",
        "",
        "# Configuration reference",
        "",
        "Every setting is an environment variable: the field's name in `app.config.Settings`, in upper case",
        "(names are not case-sensitive; no `.env` file is read). Values are validated once at start; a bad",
        "value stops the service with one line naming the variable, e.g.",
        "`cityservices: invalid setting AGENCY_WAIT_LIMIT: Input should be greater than or equal to 1`.",
        "",
        "Unset means the development default described in the row: SQLite in `DATA_DIR`, the built-in agency",
        "simulators, a development identity provider (`cityservices token`) and signing key made once in",
        "`DATA_DIR`. `ENVIRONMENT=production` refuses those and requires: " + production_requirements() + ".",
        *_list_note(),
        "",
        "| variable | type | default | meaning |",
        "|---|---|---|---|",
    ]
    for name, field in Settings.model_fields.items():
        meaning = field.description or ""
        notes = constraint_notes(name, field)
        if notes:
            meaning += " (" + "; ".join(notes) + ")"
        lines.append(
            f"| `{env_var(name)}` | {_cell(type_text(field.annotation))} | {_cell(default_text(field))} "
            f"| {_cell(meaning)} |"
        )
    lines += [
        "",
        "See [deployment.md](deployment.md) for how these fit together in production, and",
        "[runbook.md](runbook.md) for what to do when something goes wrong.",
        "",
    ]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--check", action="store_true", help="exit 1 if docs/configuration.md is out of date")
    args = parser.parse_args(argv)
    rendered = render()
    if args.check:
        if not DOC.is_file() or DOC.read_text(encoding="utf-8") != rendered:
            print(f"{DOC} is out of date; run `python scripts/gen_config_docs.py`", file=sys.stderr)
            return 1
        return 0
    DOC.parent.mkdir(parents=True, exist_ok=True)
    DOC.write_text(rendered, encoding="utf-8")
    print(f"wrote {DOC.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
