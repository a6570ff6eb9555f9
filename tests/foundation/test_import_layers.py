"""The layers of docs/architecture.md hold: no module imports from a layer above its own (import-linter,
configured in pyproject.toml under [tool.importlinter])."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def _lint(cwd: Path, *, pythonpath: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONPATH": str(pythonpath)}
    command = [str(Path(sys.executable).parent / "lint-imports"), "--no-cache"]
    return subprocess.run(command, cwd=cwd, env=env, capture_output=True, text=True, timeout=120, check=False)


def test_every_import_points_down_the_layers():
    result = _lint(ROOT, pythonpath=ROOT)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "0 broken" in result.stdout


def test_an_upward_import_breaks_the_contract(tmp_path):
    """The same layers contract, over a copy of the tree where the database layer imports the api."""
    tree = tmp_path / "tree"
    tree.mkdir()
    for part in ("app", "integrations", "demo"):
        shutil.copytree(ROOT / part, tree / part, ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copy(ROOT / "pyproject.toml", tree)
    (tree / "app" / "db" / "upward.py").write_text(
        textwrap.dedent("""
        from app.api import deps  # the kind of import the layers forbid
    """)
    )
    result = _lint(tree, pythonpath=tree)
    assert result.returncode != 0
    assert "app.db is not allowed to import app.api" in result.stdout
