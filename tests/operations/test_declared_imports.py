"""Every module our code imports is a declared dependency: what users install is what the code needs.

The test venv holds far more than the service needs (test tools bring `requests`, for one), so a
module imported by the code but declared nowhere would pass every other test here and then fail in
production. Two checks keep that from happening:

- statically, every third-party module named in an import statement of the packages the wheel ships
  (at module level or inside a function) belongs to a distribution that pyproject.toml declares: the
  server's requirements, plus the `demo` extra for the `demo` package;
- at run time, in a fresh interpreter that may import only the distributions of the locked runtime set
  (requirements/main.txt), every module of the wheel imports and a certificate is signed with a time
  stamp. That catches a dependency's optional part: pyHanko's requests-based time stamper needs
  `requests`, which pyHanko declares only as an extra.

`scripts/smoke/production.sh` checks the same in a venv that really holds nothing else.
"""

from __future__ import annotations

import ast
import importlib.metadata
import json
import re
import subprocess
import sys
import tomllib
from pathlib import Path

from packaging.requirements import Requirement

from tests.certificates.tsa_server import running_tsa

ROOT = Path(__file__).resolve().parents[2]
SHIPPED = ("app", "integrations", "migrations", "demo")
OURS = {*SHIPPED, "tests", "scripts"}


def _normalise(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def _declared(*extras: str) -> set[str]:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    lines = list(project["dependencies"])
    for extra in extras:
        lines += project["optional-dependencies"][extra]
    return {_normalise(Requirement(line).name) for line in lines}


def _imported_modules(package: str) -> dict[str, set[str]]:
    """Top-level third-party module -> the files of `package` that import it."""
    found: dict[str, set[str]] = {}
    for path in sorted((ROOT / package).rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                names = [node.module]
            else:
                continue
            for name in names:
                top = name.split(".")[0]
                if top not in sys.stdlib_module_names and top not in OURS:
                    found.setdefault(top, set()).add(str(path.relative_to(ROOT)))
    return found


def test_every_module_the_shipped_code_imports_is_declared() -> None:
    distributions = importlib.metadata.packages_distributions()
    undeclared = []
    for package in SHIPPED:
        declared = _declared("demo") if package == "demo" else _declared()
        for module, files in sorted(_imported_modules(package).items()):
            owners = {_normalise(d) for d in distributions.get(module, [])}
            if not owners & declared:
                undeclared.append(f"{module} (from {sorted(owners) or 'nothing installed'}) in {sorted(files)}")
    assert not undeclared, "imported but not declared in pyproject.toml:\n" + "\n".join(undeclared)


# Run in a fresh interpreter: refuse any top-level module whose distribution is outside the runtime set,
# import every module of the wheel, then sign a PDF with a time stamp from the TSA at argv[1].
_RUNTIME_ONLY = r"""
import importlib, importlib.abc, json, sys
from pathlib import Path

blocked = set(json.loads(sys.argv[2]))

class Refuse(importlib.abc.MetaPathFinder):
    def find_spec(self, name, path=None, target=None):
        if name.split(".")[0] in blocked:
            raise ModuleNotFoundError(f"No module named {name!r} (not in requirements/main.txt)", name=name)
        return None

sys.meta_path.insert(0, Refuse())
root = Path(sys.argv[3])
for package in ("app", "integrations", "migrations"):
    for path in sorted((root / package).rglob("*.py")):
        module = ".".join(path.relative_to(root).with_suffix("").parts)
        if module.endswith(".__init__"):
            module = module[: -len(".__init__")]
        if module != "migrations.env":  # runs only inside alembic
            importlib.import_module(module)

from app.certificates.rendering import CertificateRenderer
from app.certificates.signing import PdfSigner, ensure_dev_signing_material
from tests.certificates.cert_builders import make_document

key, cert = ensure_dev_signing_material(Path(sys.argv[4]))
signer = PdfSigner(key_file=key, cert_file=cert, tsa_url=sys.argv[1])
signed = signer.sign(CertificateRenderer().render(make_document()))
print(json.dumps({"timestamp_failures": signer.timestamp_failures, "size": len(signed)}))
"""


def _outside_the_runtime_set() -> set[str]:
    locked = {
        _normalise(line.split("==")[0])
        for line in (ROOT / "requirements" / "main.txt").read_text(encoding="utf-8").splitlines()
        if re.match(r"^[A-Za-z0-9]", line)
    }
    return {
        top
        for top, owners in importlib.metadata.packages_distributions().items()
        if top not in OURS and not {_normalise(d) for d in owners} & locked
    }


def test_the_wheels_modules_import_and_time_stamp_with_the_runtime_set_alone(tmp_path: Path) -> None:
    blocked = _outside_the_runtime_set()
    assert {"requests", "pytest", "rich"} <= blocked  # the test venv really does hold more than the runtime set
    with running_tsa() as tsa:
        result = subprocess.run(
            [sys.executable, "-c", _RUNTIME_ONLY, tsa.url, json.dumps(sorted(blocked)), str(ROOT), str(tmp_path)],
            cwd=ROOT,
            capture_output=True,
            text=True,
            timeout=300,
        )
        asked = len(tsa.requests)
    assert result.returncode == 0, result.stderr[-3000:]
    outcome = json.loads(result.stdout.strip().splitlines()[-1])
    assert outcome["timestamp_failures"] == 0 and asked == 1, (outcome, result.stderr[-3000:])
