"""`cityservices migrate` and `--version` from an installed wheel, run outside the source checkout (the
image's situation): the migrations must travel in the wheel."""

from __future__ import annotations

import json
import os
import shutil
import sqlite3
import subprocess
import sys
import sysconfig
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
SOURCES = ("pyproject.toml", "README.md", "app", "integrations", "migrations")


@pytest.fixture(scope="module")
def installed(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A fresh venv with only our wheel in it; the dependencies come from this venv (a .pth line)."""
    home = tmp_path_factory.mktemp("wheel")
    source = home / "src"
    source.mkdir()
    for name in SOURCES:
        copy = shutil.copytree if (ROOT / name).is_dir() else shutil.copy2
        copy(
            ROOT / name,
            source / name,
            **({"ignore": shutil.ignore_patterns("__pycache__")} if (ROOT / name).is_dir() else {}),
        )
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "wheel",
            "-q",
            "--no-deps",
            "-w",
            str(home / "dist"),
            str(source),
        ],
        check=True,
        timeout=300,
    )
    (wheel,) = (home / "dist").glob("cityservices-*.whl")
    venv = home / "venv"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True, timeout=120)
    python = venv / "bin" / "python"
    subprocess.run(
        [sys.executable, "-m", "pip", "--python", str(python), "install", "-q", "--no-deps", str(wheel)],
        check=True,
        timeout=300,
    )
    purelib = subprocess.run(
        [str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()
    # A plain path line: the outer venv's own .pth files (our editable install among them) are not run.
    Path(purelib, "outer-dependencies.pth").write_text(sysconfig.get_paths()["purelib"] + "\n")
    return venv


def _env(home: Path, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "DATABASE_URL", "ENVIRONMENT")}
    return {**env, "DATA_DIR": str(home / "data"), **extra}


def test_the_wheel_carries_the_code_and_the_migrations(installed, tmp_path):
    found = subprocess.run(
        [
            str(installed / "bin" / "python"),
            "-c",
            "import app, migrations; print(app.__file__); print(migrations.__file__)",
        ],
        cwd=tmp_path,
        env=_env(tmp_path),
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    assert all(line.startswith(str(installed)) for line in found.split()), found
    versions = list(Path(found.split()[1]).parent.joinpath("versions").glob("*.py"))
    assert versions and (Path(found.split()[1]).parent / "env.py").is_file()


def test_migrate_from_the_installed_wheel_creates_the_schema(installed, tmp_path):
    database = tmp_path / "fresh.db"
    result = subprocess.run(
        [str(installed / "bin" / "cityservices"), "migrate"],
        cwd=tmp_path,
        env=_env(tmp_path, DATABASE_URL=f"sqlite+aiosqlite:///{database}"),
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stderr
    with sqlite3.connect(database) as db:
        tables = {row[0] for row in db.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
    assert {"alembic_version", "applications", "certificates", "materials", "audit_events"} <= tables


def test_version_from_the_installed_wheel(installed, tmp_path):
    result = subprocess.run(
        [str(installed / "bin" / "cityservices"), "--version"],
        cwd=tmp_path,
        env=_env(tmp_path),
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0 and result.stdout.startswith("cityservices 0.1.0"), result


def test_openapi_from_the_installed_wheel_prints_the_document_and_writes_nothing_into_the_venv(installed, tmp_path):
    before = {path for path in installed.rglob("*") if path.is_file()}
    result = subprocess.run(
        [str(installed / "bin" / "cityservices"), "openapi"],
        cwd=tmp_path,
        env=_env(tmp_path),
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["info"]["title"] == "cityservices"
    created = {path for path in installed.rglob("*") if path.is_file()} - before
    assert not [path for path in created if "__pycache__" not in path.parts], created
    assert not list(tmp_path.glob("openapi*"))  # nor into the working directory
