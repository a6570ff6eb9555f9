"""Property-based API fuzzing (issue 8): schemathesis against `openapi/openapi.json`, for every role.

For each operation in the committed OpenAPI document (the contract the mobile app generates its client
from) and each caller -- 张伟 (citizen), a clerk, an auditor, and nobody (no token) -- schemathesis
generates requests (the schema's examples, its coverage edge cases, then random valid and invalid
data) and the app must answer:

- never 5xx (`not_a_server_error`);
- a status code the operation documents (`status_code_conformance`);
- with a documented content type and a body that validates against the documented schema
  (`content_type_conformance`, `response_schema_conformance`, `response_headers_conformance`);
- every 4xx/5xx an RFC 9457 problem document: `application/problem+json` with `type`, `title`,
  `status` (equal to the HTTP status), `detail` and `code` (UPPER_SNAKE) -- the one exception is the
  public HTML page `GET /verify/{code}`, whose unknown-code 404 is an HTML page (docs/api.md#errors).

The app runs in-process on this test worker's database (`app` fixture, SQLite or PostgreSQL), driven
through httpx's ASGI transport on the session event loop that owns the app's engine; schemathesis only
generates the cases and validates the answers. Before fuzzing, real data is filed through the API (an
issued residence permit and no-criminal-record certificate, a case in review, a window filing, one
for withdrawal) and generated valid cases use those ids, serials, codes and ETags part of the time, so
the fuzzing reaches past "404 not found".

Knobs: `FUZZ_EXAMPLES` (default 25) is the number of random examples per operation and role (the
fuzzing phase; schemathesis's examples and coverage phases add their own, deterministic, cases);
`FUZZ_STATS=<file>` appends one JSON line per (operation, role, status) with the number of requests
sent; `pytest --hypothesis-seed=N` replays a run. Marked `slow`: `pytest -m "not slow"` skips it;
`.ci/run` runs everything. See tests/fuzz/README.md.
"""

from __future__ import annotations

import asyncio
import json
import os
import re
from collections import Counter
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest
import schemathesis
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from schemathesis import GenerationMode
from schemathesis.checks import (
    content_type_conformance,
    not_a_server_error,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from tests.builders import LI_NA, PDF_PROOF, WANG_FANG, WU_JIANGUO, ZHANG_WEI

OPENAPI = Path(__file__).resolve().parents[2] / "openapi" / "openapi.json"
EXAMPLES = int(os.environ.get("FUZZ_EXAMPLES", "25"))
STATS = os.environ.get("FUZZ_STATS")  # a file to append (operation, role, status, count) lines to
ROLES = ("citizen", "clerk", "auditor", "anonymous")
BASE_URL = "http://testserver"
PROBLEM_FIELDS = ("type", "title", "status", "detail", "code")
UPPER_SNAKE = re.compile(r"^[A-Z][A-Z0-9]*(?:_[A-Z0-9]+)*$")
CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
    response_headers_conformance,
]


def _without_prefix_items(node: Any) -> Any:
    """schemathesis 4.x cannot build a response validator for JSON Schema 2020-12 `prefixItems` (it
    rewrites them to draft-4 tuple `items` and then rejects that: upstream issue #3842). Our only use is
    `CertificateOut.facts`, a list of (label, value) string pairs; the same constraint without
    `prefixItems` is "an array of 2 items, each valid against any of the prefix schemas"."""
    if isinstance(node, list):
        return [_without_prefix_items(item) for item in node]
    if not isinstance(node, dict):
        return node
    node = {key: _without_prefix_items(value) for key, value in node.items()}
    prefix = node.pop("prefixItems", None)
    if prefix is not None:
        unique = [s for i, s in enumerate(prefix) if s not in prefix[:i]]
        node["items"] = unique[0] if len(unique) == 1 else {"anyOf": unique}
        node.setdefault("maxItems", len(prefix))
    return node


schema = schemathesis.openapi.from_dict(_without_prefix_items(json.loads(OPENAPI.read_text())))
schema.config.generation.update(
    modes=[GenerationMode.POSITIVE, GenerationMode.NEGATIVE],
    max_examples=EXAMPLES,
)


# -- the data the fuzzing reaches for ------------------------------------------------------------


@dataclass
class Known:
    """Ids that exist on this worker's database; generated valid cases use them part of the time."""

    application_id: list[str] = field(default_factory=list)
    serial: list[str] = field(default_factory=list)
    code: list[str] = field(default_factory=list)
    etag: list[str] = field(default_factory=list)
    filing: list[dict[str, Any]] = field(default_factory=list)


KNOWN = Known()


@schema.hook
def flatmap_case(context: Any, case: Any) -> Any:
    """Valid cases: sometimes swap in a real id, a real ETag or a filing that would be accepted.

    Only for positive cases (a negative case must stay invalid) and lazily (KNOWN is filled at run
    time, after collection).
    """
    meta = getattr(case, "meta", None)
    if meta is None or meta.generation.mode != GenerationMode.POSITIVE:
        return st.just(case)

    def swap(choices: dict[str, Any]) -> Any:
        for name, value in choices.items():
            if value is None:
                continue
            if name == "body":
                case.body = value
            elif name == "If-None-Match":
                case.headers = {**(case.headers or {}), name: value}
            else:
                case.path_parameters = {**(case.path_parameters or {}), name: value}
        return case

    strategies: dict[str, st.SearchStrategy[Any]] = {}
    for name in case.path_parameters or {}:
        pool = {"application_id": KNOWN.application_id, "serial": KNOWN.serial, "code": KNOWN.code}.get(name)
        if pool is not None:
            strategies[name] = st.one_of(st.none(), st.deferred(lambda pool=pool: st.sampled_from(pool or [None])))
    if case.operation.path == "/v1/certificates/{serial}/pdf":
        strategies["If-None-Match"] = st.one_of(st.none(), st.deferred(lambda: st.sampled_from(KNOWN.etag or [None])))
    if case.operation.method.upper() == "POST" and case.operation.path == "/v1/applications":
        strategies["body"] = st.one_of(st.none(), st.deferred(lambda: st.sampled_from(KNOWN.filing or [None])))
    if not strategies:
        return st.just(case)
    return st.fixed_dictionaries(strategies).map(swap)


# -- the app, on the session loop ----------------------------------------------------------------


@dataclass
class Fuzzing:
    loop: asyncio.AbstractEventLoop
    client: httpx.AsyncClient
    headers: dict[str, dict[str, str]]
    tokens: Any
    sent: Counter[tuple[str, str, int]] = field(default_factory=Counter)

    def send(self, case: Any, role: str) -> httpx.Response:
        # The role's credentials replace whatever schemathesis generated for the bearer scheme (and
        # "anonymous" sends none), on the case itself so that its reproduction line is the real request.
        case.headers = {k: v for k, v in (case.headers or {}).items() if k.lower() != "authorization"}
        case.headers.update(self.headers[role])
        request = self.client.build_request(**_httpx_kwargs(case))
        request.read()  # multipart bodies are streams; schemathesis reads request.content to report
        response = self.loop.run_until_complete(self.client.send(request))
        self.sent[(case.operation.label, role, response.status_code)] += 1
        return response


def _httpx_kwargs(case: Any) -> dict[str, Any]:
    """schemathesis serialises a case as `requests` keyword arguments; httpx spells a few differently."""
    kwargs = case.as_transport_kwargs(base_url=BASE_URL)
    headers = dict(kwargs.get("headers") or {})
    out: dict[str, Any] = {"method": kwargs["method"], "url": kwargs["url"], "headers": headers}
    if kwargs.get("params"):
        out["params"] = kwargs["params"]
    if kwargs.get("cookies"):
        headers["Cookie"] = "; ".join(f"{k}={v}" for k, v in kwargs["cookies"].items())
    if "json" in kwargs:
        out["json"] = kwargs["json"]
    data = kwargs.get("data")
    if isinstance(data, (bytes, str)):
        out["content"] = data
    elif data:
        out["data"] = data
    if kwargs.get("files"):
        files = kwargs["files"]
        items = files.items() if isinstance(files, dict) else files
        out["files"] = [(name, _file_part(value)) for name, value in items]
    return out


def _file_part(value: Any) -> Any:
    """requests sends any scalar as a form part; httpx wants bytes or a file: a negative case may put
    a number, a boolean or null where the file goes."""
    if isinstance(value, tuple):
        return (value[0], _file_part(value[1]), *value[2:])
    if isinstance(value, (bytes, str)) or hasattr(value, "read"):
        return value
    return json.dumps(value).encode()


async def _seed(client: httpx.AsyncClient, headers: dict[str, dict[str, str]], tokens: Any) -> None:
    """File real applications through the API, so that ids, serials and codes exist."""
    zhang = headers["citizen"]
    clerk = headers["clerk"]

    async def upload(who: dict[str, str]) -> str:
        r = await client.post("/v1/materials", headers=who, files={"file": ("proof.pdf", PDF_PROOF, "application/pdf")})
        assert r.status_code == 201, r.text
        return str(r.json()["id"])

    async def file(who: dict[str, str], body: dict[str, Any]) -> dict[str, Any]:
        r = await client.post("/v1/applications", headers=who, json=body)
        if r.status_code == 409 and r.json()["code"] == "DUPLICATE_APPLICATION":
            # Seeded before and still open (one open case per person and service:
            # docs/api.md#duplicates-renewal-and-re-issue): use that one.
            r = await client.get(f"/v1/applications/{r.json()['application_id']}", headers=who)
            assert r.status_code == 200, r.text
            return dict(r.json())
        assert r.status_code in (201, 202), r.text
        return dict(r.json())

    material = await upload(zhang)
    permit_body = {"service": "residence-permit", "details": {"address": ZHANG_WEI[2], "material_ids": [material]}}
    still_valid = await client.post("/v1/applications", headers=zhang, json=permit_body)
    if still_valid.status_code == 409:  # seeded before and still on file: one valid permit per person (10.3)
        assert still_valid.json()["code"] == "CERTIFICATE_STILL_VALID", still_valid.text
        mine = await client.get("/v1/applications", headers=zhang, params={"service": "residence-permit"})
        permit = next(a for a in mine.json()["items"] if a["status"] == "issued")
    else:
        assert still_valid.status_code in (201, 202), still_valid.text
        permit = dict(still_valid.json())
    record = await file(zhang, {"service": "no-criminal-record-certificate", "details": {"purpose": "employment"}})
    window = await file(
        clerk,
        {
            "service": "no-criminal-record-certificate",
            "details": {"purpose": "visa"},
            "applicant": {"id_number": LI_NA[0], "name": LI_NA[1]},
        },
    )
    wang = tokens.citizen(WANG_FANG[0], WANG_FANG[1])
    review = await file(
        wang,
        {"service": "residence-permit", "details": {"address": WANG_FANG[2], "material_ids": [await upload(wang)]}},
    )
    wu = tokens.citizen(WU_JIANGUO[0], WU_JIANGUO[1])
    to_withdraw = await file(wu, {"service": "no-criminal-record-certificate", "details": {"purpose": "study"}})

    KNOWN.application_id[:] = [a["id"] for a in (permit, record, window, review, to_withdraw)]
    certificates = [a["certificate"] for a in (permit, record, window) if a.get("certificate")]
    KNOWN.serial[:] = [c["serial"] for c in certificates]
    KNOWN.code[:] = [c["verification_code"] for c in certificates]
    etags = []
    for serial in KNOWN.serial:
        r = await client.get(
            f"/v1/certificates/{serial}/pdf", headers=zhang if serial != window["certificate"]["serial"] else clerk
        )
        if r.status_code == 200 and r.headers.get("etag"):
            etags.append(r.headers["etag"])
    KNOWN.etag[:] = etags
    KNOWN.filing[:] = [
        {"service": "no-criminal-record-certificate", "details": {"purpose": "employment"}},
        {"service": "no-criminal-record-certificate", "details": {"purpose": "other", "purpose_note": "出国探亲"}},
        {"service": "household-registration-certificate", "details": {"purpose": "子女入学"}},
        permit_body,
    ]


@pytest.fixture(scope="module")
async def fuzzing(app: Any, tokens: Any) -> AsyncIterator[Fuzzing]:
    """An httpx client on the in-process app, made on the session loop (the loop that owns the app's
    database engine). Not the `client` fixture: that one empties the tables before every test, and the
    seed data should outlive one operation's test."""
    transport = httpx.ASGITransport(app=app, client=("203.0.113.9", 50000))
    headers = {
        "citizen": tokens.citizen(ZHANG_WEI[0], ZHANG_WEI[1]),
        "clerk": tokens.clerk(),
        "auditor": tokens.auditor(),
        "anonymous": {},
    }
    async with httpx.AsyncClient(transport=transport, base_url=BASE_URL, timeout=30) as client:
        env = Fuzzing(loop=asyncio.get_running_loop(), client=client, headers=headers, tokens=tokens)
        yield env
    if STATS:
        with open(STATS, "a", encoding="utf-8") as out:
            for (operation, role, status), count in sorted(env.sent.items()):
                out.write(json.dumps({"operation": operation, "role": role, "status": status, "count": count}) + "\n")


@pytest.fixture
def fuzz(fuzzing: Fuzzing) -> Fuzzing:
    """The module's client, with the seed data present (filed again if another test emptied the tables)."""

    async def ensure_seeded() -> None:
        if KNOWN.application_id:
            r = await fuzzing.client.get(
                f"/v1/applications/{KNOWN.application_id[0]}", headers=fuzzing.headers["clerk"]
            )
            if r.status_code == 200:
                return
        await _seed(fuzzing.client, fuzzing.headers, fuzzing.tokens)

    fuzzing.loop.run_until_complete(ensure_seeded())
    return fuzzing


# -- the properties ------------------------------------------------------------------------------


def _assert_problem_document(case: Any, response: httpx.Response) -> None:
    if response.status_code < 400:
        return
    media_type = response.headers.get("content-type", "").split(";")[0].strip()
    if case.operation.path == "/verify/{code}" and response.status_code in (404, 429):
        assert media_type == "text/html", f"the public page's {response.status_code} should be HTML, got {media_type}"
        return
    assert media_type == "application/problem+json", (
        f"{case.method} {case.formatted_path} -> {response.status_code} with Content-Type {media_type!r}, "
        f"not application/problem+json: {response.text[:300]}"
    )
    body = response.json()
    missing = [name for name in PROBLEM_FIELDS if name not in body]
    assert not missing, (
        f"{case.method} {case.formatted_path} -> {response.status_code}: problem lacks {missing}: {body}"
    )
    assert body["status"] == response.status_code, body
    assert all(isinstance(body[name], str) and body[name] for name in ("type", "title", "detail", "code")), body
    assert UPPER_SNAKE.match(body["code"]), body


@pytest.mark.slow
@pytest.mark.parametrize("role", ROLES)
@schema.parametrize()
@settings(deadline=None, suppress_health_check=list(HealthCheck), max_examples=EXAMPLES, database=None)
def test_every_answer_conforms_to_the_contract(case: Any, role: str, fuzz: Fuzzing) -> None:
    try:
        response = fuzz.send(case, role)
    except (httpx.InvalidURL, httpx.LocalProtocolError, UnicodeEncodeError):
        # A negative case httpx itself refuses to send (e.g. a header value outside latin-1): not an
        # API answer, so nothing to check.
        return
    case.validate_response(response, checks=CHECKS)
    _assert_problem_document(case, response)


def test_every_documented_error_is_a_problem_document() -> None:
    """The document itself: every 4xx/5xx response it lists is `application/problem+json` (Problem),
    except the HTML page's 404 and 429, and the Problem schema requires the five contract fields."""
    document = json.loads(OPENAPI.read_text())
    problem = document["components"]["schemas"]["Problem"]
    assert set(PROBLEM_FIELDS) <= set(problem["required"])
    wrong = []
    for path, operations in document["paths"].items():
        for method, operation in operations.items():
            for status, response in operation.get("responses", {}).items():
                if not status.startswith(("4", "5")) or (path, status) in {
                    ("/verify/{code}", "404"),
                    ("/verify/{code}", "429"),  # the HTML page's 429 is a page too (issue 13, item 11)
                    ("/readyz", "503"),
                }:
                    continue
                content = response.get("content", {})
                if list(content) != ["application/problem+json"] or content["application/problem+json"]["schema"] != {
                    "$ref": "#/components/schemas/Problem"
                }:
                    wrong.append(f"{method.upper()} {path} {status}: {list(content)}")
    assert not wrong, wrong


# -- what the fuzzing found, pinned so that it stays found ---------------------------------------

JSON_BODY_ROUTES = [
    ("POST", "/v1/applications", "/v1/applications", "citizen"),
    ("POST", "/v1/applications/{application_id}/decision", "/v1/applications/nothing-here/decision", "clerk"),
    ("POST", "/v1/certificates/{serial}/revoke", "/v1/certificates/NOTHING-HERE/revoke", "clerk"),
]


@pytest.mark.parametrize("body", [b"\x14\xff", b"[" * 5000 + b"]" * 5000], ids=["not-utf8", "deeply-nested"])
@pytest.mark.parametrize(("method", "template", "path", "role"), JSON_BODY_ROUTES, ids=[r[1] for r in JSON_BODY_ROUTES])
def test_an_unparsable_json_body_gets_a_documented_problem(
    fuzz: Fuzzing, method: str, template: str, path: str, role: str, body: bytes
) -> None:
    """Found by the fuzzing (a body of bytes that are not UTF-8); deep nesting fails the same way.
    Both must be answered with a status the operation documents, as a problem document."""
    request = fuzz.client.build_request(
        method, path, content=body, headers={"Content-Type": "application/json", **fuzz.headers[role]}
    )
    response = fuzz.loop.run_until_complete(fuzz.client.send(request))
    operation = schema[template][method]
    names = re.findall(r"{(\w+)}", template)
    values = re.fullmatch(re.sub(r"{\w+}", "([^/]+)", template), path)
    assert values is not None
    case = operation.Case(
        media_type="application/json", body=body, path_parameters=dict(zip(names, values.groups(), strict=True))
    )
    case.validate_response(response, checks=[not_a_server_error, status_code_conformance, content_type_conformance])
    _assert_problem_document(case, response)
