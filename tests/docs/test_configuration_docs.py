"""docs/configuration.md is generated from app.config.Settings; it must say what the class says."""

from __future__ import annotations

import importlib.util
import re
import sys
from pathlib import Path
from types import ModuleType

import pytest

from app.config import Settings

ROOT = Path(__file__).resolve().parents[2]
DOC = ROOT / "docs" / "configuration.md"


@pytest.fixture(scope="module")
def generator() -> ModuleType:
    spec = importlib.util.spec_from_file_location("gen_config_docs", ROOT / "scripts" / "gen_config_docs.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules.setdefault("gen_config_docs", module)
    spec.loader.exec_module(module)
    return module


def test_configuration_doc_is_what_the_settings_class_generates(generator: ModuleType) -> None:
    assert DOC.read_text(encoding="utf-8") == generator.render(), (
        "docs/configuration.md disagrees with app/config.py: run `python scripts/gen_config_docs.py`"
    )


def test_every_setting_has_a_row_and_every_row_a_setting() -> None:
    documented = set(re.findall(r"^\| `([A-Z0-9_]+)` \|", DOC.read_text(encoding="utf-8"), re.MULTILINE))
    assert documented == {name.upper() for name in Settings.model_fields}


def test_every_setting_has_a_description_to_document() -> None:
    assert [name for name, field in Settings.model_fields.items() if not field.description] == []


def test_the_doc_does_not_depend_on_the_environment_it_is_generated_in(
    generator: ModuleType, monkeypatch: pytest.MonkeyPatch
) -> None:
    expected = generator.render()
    monkeypatch.setenv("AGENCY_WAIT_LIMIT", "5")
    monkeypatch.setenv("DATA_DIR", "/elsewhere")
    monkeypatch.setenv("ENVIRONMENT", "production")
    assert generator.render() == expected


def test_the_generator_check_mode_reports_a_stale_doc(
    generator: ModuleType, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    stale = tmp_path / "configuration.md"
    stale.write_text(generator.render() + "| `NOT_A_SETTING` | string | unset | stale |\n", encoding="utf-8")
    monkeypatch.setattr(generator, "DOC", stale)
    assert generator.main(["--check"]) == 1
    monkeypatch.setattr(generator, "DOC", DOC)
    assert generator.main(["--check"]) == 0
