"""Operations polish: one-line errors for bad settings, CLI help and --version, the contracts tool's
--help, JSON logs that keep `extra` fields, and the image's base pinned by digest."""

from __future__ import annotations

import argparse
import io
import json
import logging
import re
import subprocess
import sys
from pathlib import Path

import pytest

from app.cli import build_parser
from app.config import SettingsError, load_settings
from app.observability import JsonFormatter, log_fields
from tests.servers import CITYSERVICES, service_env

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.parametrize(
    ("variable", "value", "says"),
    [
        ("CORS_ORIGINS", "[not json", "CORS_ORIGINS"),
        ("REDIS_URL", "nonsense", "REDIS_URL"),
        ("DATABASE_URL", "mysql+aiomysql://u@h/db", "DATABASE_URL"),
        ("DATABASE_URL", "postgresql://u@h/db", "DATABASE_URL"),
        ("DATABASE_URL", "::::", "DATABASE_URL"),
        ("STORAGE_URL", "https://bucket", "STORAGE_URL"),
        ("AUTH_OIDC_ISSUER_URL", "idp.example.cn", "AUTH_OIDC_ISSUER_URL"),
    ],
)
def test_a_bad_setting_stops_with_one_line_naming_it(variable, value, says, monkeypatch):
    monkeypatch.setenv(variable, value)
    with pytest.raises(SettingsError) as stopped:
        load_settings()
    message = str(stopped.value)
    assert message.startswith("cityservices: invalid setting") and says in message and "\n" not in message


def test_the_command_prints_that_line_and_no_traceback(tmp_path):
    result = subprocess.run(
        [*CITYSERVICES, "migrate"],
        env=service_env(tmp_path, REDIS_URL="nonsense"),
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode != 0
    assert result.stderr.strip().splitlines() == [
        "cityservices: invalid setting REDIS_URL: not a Redis URL (redis://host:6379/0, rediss://… or unix://…)"
    ]


@pytest.mark.parametrize(
    "value", ['["https://a.example.cn", "https://b.example.cn"]', "https://a.example.cn, https://b.example.cn"]
)
def test_cors_origins_may_be_json_or_comma_separated(value, monkeypatch):
    monkeypatch.setenv("CORS_ORIGINS", value)
    assert load_settings().cors_origins == ["https://a.example.cn", "https://b.example.cn"]


def _options(parser: argparse.ArgumentParser) -> list[tuple[str, argparse.Action]]:
    found = []
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for name, sub in action.choices.items():
                found += [(f"{name} {option}", a) for option, a in _options(sub)]
        elif not isinstance(action, argparse._HelpAction):
            found.append(("/".join(action.option_strings) or action.dest, action))
    return found


def test_every_cli_option_says_what_it_does():
    options = _options(build_parser())
    assert len(options) > 20
    assert [name for name, action in options if not action.help] == []


def test_version_is_printed(capsys):
    with pytest.raises(SystemExit) as done:
        build_parser().parse_args(["--version"])
    assert done.value.code == 0
    assert re.fullmatch(r"cityservices \d+\.\d+\.\d+\S*\n", capsys.readouterr().out)


def test_the_contracts_tool_prints_help_and_writes_nothing():
    before = {p: p.read_bytes() for p in (ROOT / "openapi").glob("*.json")}
    mtimes = {p: p.stat().st_mtime_ns for p in before}
    result = subprocess.run(
        [sys.executable, "-m", "integrations.contracts", "--help"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0 and "usage:" in result.stdout and "--check" in result.stdout
    assert {p: p.stat().st_mtime_ns for p in before} == mtimes


def test_the_contracts_tool_check_mode_agrees_with_the_committed_files():
    from integrations.contracts import main

    assert main(["--check"]) == 0


def _formatted(record_extra: dict[str, object]) -> dict[str, object]:
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(JsonFormatter())
    logger = logging.getLogger("tests.json-logs")
    logger.addHandler(handler)
    logger.propagate = False
    try:
        logger.warning("agency slow", extra=record_extra)
    finally:
        logger.removeHandler(handler)
    return json.loads(stream.getvalue())


def test_log_fields_passed_as_extra_are_kept():
    entry = _formatted({"agency": "police", "elapsed_ms": 12.5, "候选": "中文"})
    assert entry["agency"] == "police" and entry["elapsed_ms"] == 12.5 and entry["候选"] == "中文"
    assert entry["message"] == "agency slow" and entry["level"] == "WARNING" and "time" in entry


def test_log_fields_helper_still_flattens():
    entry = _formatted(log_fields(application_id="a-1", attempts=3))
    assert entry["application_id"] == "a-1" and entry["attempts"] == 3 and "fields" not in entry


def test_every_base_image_is_pinned_by_digest():
    froms = re.findall(r"^FROM\s+(\S+)", (ROOT / "Dockerfile").read_text(), re.MULTILINE)
    args = dict(re.findall(r"^ARG\s+(\w+)=(\S+)", (ROOT / "Dockerfile").read_text(), re.MULTILINE))
    images = [args.get(image.strip("${}"), image) for image in froms]
    assert images and all(re.search(r"@sha256:[0-9a-f]{64}$", image) for image in images), images
