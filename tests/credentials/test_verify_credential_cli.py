"""`cityservices verify-credential`, run as a verifier would: a separate process against a running service."""

from __future__ import annotations

import json
import subprocess

import httpx

from tests.servers import CITYSERVICES, issue_residence_permit, mint, running_service, service_env


def _verify(credential_file, base, *extra: str) -> tuple[int, dict]:
    result = subprocess.run(
        [*CITYSERVICES, "verify-credential", str(credential_file), "--issuer", base, *extra],
        env=service_env(credential_file.parent),
        capture_output=True,
        text=True,
        timeout=60,
    )
    return result.returncode, json.loads(result.stdout or "{}")


def test_the_cli_accepts_a_valid_credential_and_refuses_it_once_revoked(tmp_path):
    data = tmp_path / "data"
    with running_service(data) as base:
        auth, application = issue_residence_permit(base, data)
        serial = application["certificate"]["serial"]
        credential = httpx.get(f"{base}/v1/certificates/{serial}/credential", headers=auth).text
        path = tmp_path / "credential.sd-jwt"
        path.write_text(credential)

        code, report = _verify(path, base, "--vct", "urn:cityservices:vct:residence-permit")
        assert code == 0 and report["valid"] and report["status"] == "valid", report
        assert report["claims"]["serial"] == serial

        wrong = _verify(path, base, "--vct", "urn:cityservices:vct:kinship-certificate")
        assert wrong[0] == 1 and wrong[1]["problem"] == "WRONG_VCT"
        untrusted = _verify(path, "https://elsewhere.example")
        assert untrusted[0] == 1 and untrusted[1]["problem"] == "UNTRUSTED_ISSUER"

        clerk = {"Authorization": f"Bearer {mint(data, '--role', 'clerk', '--station', '310105-HQLB')}"}
        revoked = httpx.post(
            f"{base}/v1/certificates/{serial}/revoke", headers=clerk, json={"reason_code": "LOST", "reason": "丢失"}
        )
        assert revoked.status_code == 200, revoked.text
        code, report = _verify(path, base)
    assert code == 1 and report["problem"] == "REVOKED" and report["status"] == "invalid"
