"""The README's newcomer paths, run as written and in the README's order against one real
`cityservices serve`: the first application with curl, then every ```sh block of the "Walk-through"
section (whose last block runs `cityservices demo`), then the demo once more, as someone would who
liked it. So the README cannot rot, and no path breaks another.

A person pastes the blocks into one shell, so variables, functions and the working directory of one
block are there in the next; the test carries them over (`declare -p`, `declare -f` and `cd` into a
file each block sources).
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from demo.walkthrough import settings_env_names, temporary_service
from tests.servers import free_port

ROOT = Path(__file__).resolve().parents[2]
README = ROOT / "README.md"
FIRST_APPLICATION = "A first application with curl"
SECTION = "Walk-through"
PDFS = (
    "residence-permit.pdf",
    "no-criminal-record.pdf",
    "household-registration.pdf",
    "li-na-no-criminal-record.pdf",
    "wang-fang-residence-permit.pdf",
)

_ASSIGNMENT = re.compile(r"^\s*(?:export\s+)?([A-Za-z_][A-Za-z0-9_]*)=", re.MULTILINE)
_FUNCTION = re.compile(r"^\s*([A-Za-z_][A-Za-z0-9_]*)\s*\(\)\s*\{", re.MULTILINE)


def section_blocks(markdown: str, title: str) -> list[str]:
    """The ```sh blocks between the `## <title>` heading and the next `## ` heading."""
    match = re.search(rf"^## {re.escape(title)}\s*$(.*?)(?=^## |\Z)", markdown, re.MULTILINE | re.DOTALL)
    if match is None:
        raise AssertionError(f"README.md has no '## {title}' section")
    return re.findall(r"^```sh\n(.*?)^```\s*$", match.group(1), re.MULTILINE | re.DOTALL)


def walkthrough_blocks(markdown: str) -> list[str]:
    return section_blocks(markdown, SECTION)


@pytest.fixture(scope="module")
def service(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, Path]]:
    home = tmp_path_factory.mktemp("walkthrough")
    data_dir = home / "data"
    with temporary_service(data_dir, log_path=home / "serve.log", startup_timeout=60) as base_url:
        yield base_url, data_dir


def _env(base_url: str, data_dir: Path) -> dict[str, str]:
    env = {key: value for key, value in os.environ.items() if key.upper() not in settings_env_names()}
    venv_bin = str(Path(sys.executable).parent)
    env.update(
        BASE=base_url,
        DATA_DIR=str(data_dir),
        PATH=os.pathsep.join([venv_bin, env.get("PATH", "")]),
        PYTHONPATH=os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")])),
        # The notifications part starts a receiver, a simulator and a second service: free ports, not 83xx.
        RECEIVER_PORT=str(free_port()),
        POLICE_PORT=str(free_port()),
        NOTIFYING_PORT=str(free_port()),
    )
    return env


def test_the_walkthrough_section_has_blocks_to_run() -> None:
    blocks = walkthrough_blocks(README.read_text(encoding="utf-8"))
    assert len(blocks) >= 5
    assert all("${BASE:-http://127.0.0.1:8000}" in blocks[0] or "$BASE" in block for block in blocks)


def test_the_first_application_the_walkthrough_and_the_demo_run_in_the_readmes_order(
    service: tuple[str, Path], tmp_path: Path
) -> None:
    if shutil.which("curl") is None:
        pytest.skip("curl is not installed")
    base_url, data_dir = service
    markdown = README.read_text(encoding="utf-8")
    first, walkthrough = section_blocks(markdown, FIRST_APPLICATION), walkthrough_blocks(markdown)
    assert first and "cityservices demo" in walkthrough[-1]
    blocks = [*first, *walkthrough]
    source = "\n".join(blocks)
    variables = " ".join(sorted(set(_ASSIGNMENT.findall(source))))
    functions = " ".join(sorted(set(_FUNCTION.findall(source))))
    state = tmp_path / ".walkthrough-state.sh"
    state.write_text("", encoding="utf-8")
    # The README's commands run in the directory holding `.venv` (the first one says `.venv/bin/cityservices`).
    (tmp_path / ".venv").symlink_to(Path(sys.executable).parent.parent)
    env = _env(base_url, data_dir)
    outputs = []
    for number, block in enumerate(blocks, start=1):
        script = (
            "set -eo pipefail\n"
            f". '{state}'\n"
            f"{block}\n"
            f"{{ declare -p {variables} 2>/dev/null; declare -f {functions} 2>/dev/null; printf 'cd %q\\n' \"$PWD\"; }}"
            f" > '{state}.next' || true\n"
            f"mv '{state}.next' '{state}'\n"
        )
        result = subprocess.run(
            ["bash", "-c", script], cwd=tmp_path, env=env, capture_output=True, text=True, encoding="utf-8", timeout=300
        )
        assert result.returncode == 0, (
            f"README block {number} failed (exit {result.returncode}):\n{block}\n"
            f"--- stdout\n{result.stdout}\n--- stderr\n{result.stderr}"
        )
        outputs.append(result.stdout)
    again = subprocess.run(
        [
            str(Path(sys.executable).parent / "cityservices"),
            "demo",
            "--base-url",
            base_url,
            "--out",
            str(tmp_path / "demo-again"),
        ],
        cwd=tmp_path,
        env={**env, "DATA_DIR": str(data_dir)},
        capture_output=True,
        text=True,
        encoding="utf-8",
        timeout=300,
    )
    assert again.returncode == 0, again.stdout[-4000:] + again.stderr[-2000:]
    assert "already holds residence permit" in again.stdout
    told = "\n".join(outputs)
    for expected in (
        "saved as permit.pdf",
        "the whole story in",
        "HTTP/1.1 202",
        "pending_agency",
        "application.issued",
        "issued",
        "window",
        "needs_review",
        "NO_HOUSING_RECORD",
        "WINDOW_ONLY_SERVICE",
        "booked",
        "arrived",
        "needs_materials",
        "attachment;",
        '"action":"application.material.read"',
        '"status":"valid"',
        '"signature_intact":true',
        '"intact":true',
    ):
        assert expected in told, f"{expected!r} not in the walk-through's output:\n{told}"
    for name in PDFS:
        pdf = (tmp_path / "demo-output" / "walkthrough" / name).read_bytes()
        assert pdf.startswith(b"%PDF-") and b"/ByteRange" in pdf, name
