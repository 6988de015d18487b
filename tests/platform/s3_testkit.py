"""A real S3-compatible server for the tests: moto's server on a local port (nothing leaves the
machine), one bucket per test."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest
from pydantic import SecretStr

REGION = "us-east-1"
KEY_ID = "test-key-id"
SECRET = "test-secret-key"


@dataclass(frozen=True, slots=True)
class S3Bucket:
    """A fresh bucket on the local S3 server."""

    endpoint_url: str
    bucket: str

    @property
    def settings(self) -> dict[str, Any]:
        """Settings updates that make the platform keep its originals here."""
        return {
            "originals_store": "s3",
            "s3_bucket": self.bucket,
            "s3_endpoint_url": self.endpoint_url,
            "s3_region": REGION,
            "s3_access_key_id": KEY_ID,
            "s3_secret_access_key": SecretStr(SECRET),
        }

    def client(self) -> Any:
        import boto3

        return boto3.session.Session().client(
            "s3",
            endpoint_url=self.endpoint_url,
            region_name=REGION,
            aws_access_key_id=KEY_ID,
            aws_secret_access_key=SECRET,
        )

    def keys(self) -> list[str]:
        """Every object key in the bucket."""
        client = self.client()
        try:
            page = client.list_objects_v2(Bucket=self.bucket)
            return sorted(item["Key"] for item in page.get("Contents", []))
        finally:
            client.close()

    def open_uploads(self) -> int:
        """Multipart uploads started and neither completed nor aborted."""
        client = self.client()
        try:
            return len(client.list_multipart_uploads(Bucket=self.bucket).get("Uploads", []))
        finally:
            client.close()


@pytest.fixture(scope="session")
def s3_endpoint() -> Iterator[str]:
    """moto's S3 server, started once per session on a free local port."""
    from moto.server import ThreadedMotoServer

    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    try:
        yield f"http://{host}:{port}"
    finally:
        server.stop()


@pytest.fixture
def s3_bucket(s3_endpoint: str) -> S3Bucket:
    bucket = S3Bucket(s3_endpoint, f"rr-test-{uuid.uuid4().hex[:12]}")
    client = bucket.client()
    try:
        client.create_bucket(Bucket=bucket.bucket)
    finally:
        client.close()
    return bucket
