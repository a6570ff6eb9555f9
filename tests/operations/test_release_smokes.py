"""The image and CI's production smoke install the same way, and .ci/run runs both smokes.

The smokes themselves (scripts/smoke/) run from .ci/run, not from pytest: each takes minutes and needs
a clean machine's port 8000 and PostgreSQL. What can drift silently is the wiring, checked here."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
INSTALL = "scripts/install-runtime.sh"


def _commands(path: Path) -> list[str]:
    """The non-comment lines of a shell script or Dockerfile, continuation lines joined."""
    text = re.sub(r"\\\n\s*", " ", path.read_text(encoding="utf-8"))
    return [line.strip() for line in text.splitlines() if line.strip() and not line.lstrip().startswith("#")]


def test_the_image_installs_the_locked_set_and_the_wheel_through_the_install_script():
    runs = [line for line in _commands(ROOT / "Dockerfile") if line.startswith("RUN ")]
    installs = [line for line in runs if INSTALL in line]
    assert len(installs) == 2, runs
    assert all("requirements/main.txt" in line for line in installs)
    assert "cityservices-*.whl" in installs[1]
    assert not [line for line in runs if re.search(r"pip\S* install", line)], "pip install only through the script"
    assert f"COPY {INSTALL}" in " ".join(_commands(ROOT / "Dockerfile"))
    ignored = _commands(ROOT / ".dockerignore")
    assert "scripts" in ignored and f"!{INSTALL}" in ignored[ignored.index("scripts") :]


def test_the_production_smoke_installs_through_the_same_script():
    lines = _commands(ROOT / "scripts" / "smoke" / "production.sh")
    installs = [line for line in lines if INSTALL in line]
    assert installs and all("requirements/main.txt" in line for line in installs)
    assert not [line for line in lines if re.search(r"pip\S* install", line)], "pip install only through the script"


def test_ci_runs_both_smokes_after_the_tests():
    lines = _commands(ROOT / ".ci" / "run")
    production = lines.index("bash scripts/smoke/production.sh")
    readme = lines.index("bash scripts/smoke/readme.sh")
    tests = max(i for i, line in enumerate(lines) if "$test_command" in line)
    assert tests < production < readme
