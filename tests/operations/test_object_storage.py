"""STORAGE_URL=s3://bucket/prefix: materials and certificate PDFs in an S3-compatible store (moto's server,
run here on loopback), content-addressed by SHA-256, checked on read, written before the record commits."""

from __future__ import annotations

import hashlib
import uuid
from collections.abc import AsyncIterator, Iterator
from typing import Any

import boto3
import httpx
import pytest
from sqlalchemy import func, select

from app.api.collaborators import collaborators_of
from app.certificates.models import Certificate
from app.config import Settings
from app.main import create_app
from app.materials.models import Material
from tests.builders import PDF_PROOF, ZHANG_WEI, file, no_criminal_record
from tests.servers import moto_s3_server

PREFIX = "cityservices/prod"


@pytest.fixture(scope="module")
def s3_endpoint() -> Iterator[str]:
    with moto_s3_server() as endpoint:
        yield endpoint


@pytest.fixture
def bucket(s3_endpoint: str, monkeypatch: pytest.MonkeyPatch) -> Any:
    for name, value in {
        "AWS_ENDPOINT_URL": s3_endpoint,
        "AWS_ACCESS_KEY_ID": "test",
        "AWS_SECRET_ACCESS_KEY": "test",
        "AWS_DEFAULT_REGION": "us-east-1",
    }.items():
        monkeypatch.setenv(name, value)
    s3 = boto3.resource("s3")
    created = s3.create_bucket(Bucket=f"materials-{uuid.uuid4().hex[:12]}")
    return created


@pytest.fixture
async def s3_app(settings: Settings, bucket: Any, collaborators: Any) -> AsyncIterator[Any]:
    app = create_app(settings.model_copy(update={"storage_url": f"s3://{bucket.name}/{PREFIX}"}), start_worker=False)
    async with app.router.lifespan_context(app):
        yield app


@pytest.fixture
async def s3_client(s3_app: Any) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=s3_app), base_url="http://testserver", timeout=30
    ) as client:
        yield client


def _key(sha256: str) -> str:
    return f"{PREFIX}/sha256/{sha256[:2]}/{sha256}"


async def test_an_upload_lands_in_the_bucket_under_its_sha256_and_not_in_the_database(
    s3_client, s3_app, bucket, tokens
):
    response = await s3_client.post(
        "/v1/materials",
        headers=tokens.citizen(*ZHANG_WEI[:2]),
        files={"file": ("proof.pdf", PDF_PROOF, "application/pdf")},
    )

    assert response.status_code == 201, response.text
    sha256 = hashlib.sha256(PDF_PROOF).hexdigest()
    assert response.json()["sha256"] == sha256
    assert bucket.Object(_key(sha256)).get()["Body"].read() == PDF_PROOF
    async with collaborators_of(s3_app).sessionmaker() as session:
        row = await session.get(Material, response.json()["id"])
        assert row is not None and row.sha256 == sha256
        content = await session.scalar(select(Material.content).where(Material.id == row.id))
    assert content is None


async def test_an_issued_certificate_pdf_is_stored_in_the_bucket_and_served_from_it(s3_client, s3_app, bucket, tokens):
    citizen = tokens.citizen(*ZHANG_WEI[:2])
    issued = (await file(s3_client, citizen, no_criminal_record())).json()
    serial = issued["certificate"]["serial"]

    download = await s3_client.get(f"/v1/certificates/{serial}/pdf", headers=citizen)

    assert download.status_code == 200 and download.content.startswith(b"%PDF-")
    sha256 = hashlib.sha256(download.content).hexdigest()
    assert bucket.Object(_key(sha256)).get()["Body"].read() == download.content
    async with collaborators_of(s3_app).sessionmaker() as session:
        stored = (
            await session.execute(select(Certificate.pdf, Certificate.pdf_sha256).where(Certificate.serial == serial))
        ).one()
    assert stored.pdf is None and stored.pdf_sha256 == sha256


async def test_an_object_changed_in_the_bucket_is_never_served(s3_client, bucket, tokens):
    citizen = tokens.citizen(*ZHANG_WEI[:2])
    serial = (await file(s3_client, citizen, no_criminal_record())).json()["certificate"]["serial"]
    original = (await s3_client.get(f"/v1/certificates/{serial}/pdf", headers=citizen)).content
    bucket.put_object(Key=_key(hashlib.sha256(original).hexdigest()), Body=original.replace(b"%PDF-", b"%PDF-X", 1))

    response = await s3_client.get(f"/v1/certificates/{serial}/pdf", headers=citizen)

    assert response.status_code == 500
    assert response.json()["code"] == "STORED_OBJECT_CORRUPT"


async def test_when_the_store_refuses_the_write_no_record_is_committed(s3_client, s3_app, bucket, tokens):
    bucket.objects.all().delete()
    bucket.delete()  # every write now fails: NoSuchBucket

    response = await s3_client.post(
        "/v1/materials",
        headers=tokens.citizen(*ZHANG_WEI[:2]),
        files={"file": ("proof.pdf", PDF_PROOF, "application/pdf")},
    )

    assert response.status_code == 503
    assert response.json()["code"] == "STORED_OBJECT_UNAVAILABLE"
    async with collaborators_of(s3_app).sessionmaker() as session:
        assert await session.scalar(select(func.count()).select_from(Material)) == 0


async def test_the_database_store_checks_what_it_reads_too(client, collaborators, tokens):
    citizen = tokens.citizen(*ZHANG_WEI[:2])
    serial = (await file(client, citizen, no_criminal_record())).json()["certificate"]["serial"]
    async with collaborators.sessionmaker() as session:
        certificate = await session.get(Certificate, serial)
        certificate.pdf_sha256 = "0" * 64  # as if the bytes had been altered in the database
        await session.commit()

    response = await client.get(f"/v1/certificates/{serial}/pdf", headers=citizen)

    assert response.status_code == 500 and response.json()["code"] == "STORED_OBJECT_CORRUPT"


@pytest.mark.parametrize("url", ["http://bucket/prefix", "s3://", "bucket/prefix"])
def test_a_storage_url_that_is_not_s3_is_refused_at_start(url):
    with pytest.raises(ValueError, match="s3://bucket/prefix"):
        Settings(storage_url=url)
