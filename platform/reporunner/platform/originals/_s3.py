"""Originals in an S3-compatible object store (AWS S3, MinIO, Ceph, R2, ...), via boto3.

A write streams the pieces into a multipart upload (parts of ``part_bytes``, 8 MiB by default;
S3 takes parts of 5 MiB and more) and completes it only after the sha256 of the bytes matched,
so a refused or broken write leaves no object (the upload is aborted). A small original is one
``PutObject``. A read streams the object's body a piece at a time. boto3 is synchronous: every
call runs in a worker thread, one piece at a time, so the event loop never waits on S3.

Keys are ``<prefix><path>``; the path starts with the workspace id, so deleting a base or a
workspace is deleting a key prefix.
"""

from __future__ import annotations

import asyncio
import hashlib
import uuid
from collections.abc import AsyncIterable, AsyncIterator
from typing import Any

from reporunner.platform.originals._base import (
    CHUNK_BYTES,
    OriginalMissing,
    StoredOriginal,
    check_path,
    rechunk,
)

__all__ = ["S3Originals"]

PART_BYTES = 8 * 1024 * 1024
_MISSING = {"404", "NoSuchKey", "NotFound"}


def _is_missing(err: Exception) -> bool:
    response = getattr(err, "response", None) or {}
    return str(response.get("Error", {}).get("Code", "")) in _MISSING


class S3Originals:
    """Originals as objects of one bucket (``REPORUNNER_S3_BUCKET``)."""

    kind = "s3"

    def __init__(
        self, client: Any, bucket: str, prefix: str = "", part_bytes: int = PART_BYTES
    ) -> None:
        if part_bytes < 5 * 1024 * 1024:
            raise ValueError("S3 multipart parts must be at least 5 MiB")
        self.client = client
        self.bucket = bucket
        self.prefix = prefix
        self.part_bytes = part_bytes

    @classmethod
    def connect(
        cls,
        bucket: str,
        *,
        prefix: str = "",
        endpoint_url: str | None = None,
        region: str | None = None,
        access_key_id: str | None = None,
        secret_access_key: str | None = None,
        part_bytes: int = PART_BYTES,
    ) -> S3Originals:
        """A store on a new boto3 client (credentials: the arguments, else boto3's own chain:
        ``AWS_*`` variables, a profile, an instance or pod role)."""
        import boto3
        from botocore.config import Config

        config = Config(
            retries={"max_attempts": 5, "mode": "standard"},
            # MinIO and most self-hosted stores want path-style URLs
            s3={"addressing_style": "path" if endpoint_url else "auto"},
        )
        session = boto3.session.Session()
        client = session.client(
            "s3",
            endpoint_url=endpoint_url,
            region_name=region,
            aws_access_key_id=access_key_id,
            aws_secret_access_key=secret_access_key,
            config=config,
        )
        return cls(client, bucket, prefix, part_bytes)

    def _key(self, path: str) -> str:
        return f"{self.prefix}{path}"

    async def _call(self, method: str, **kwargs: Any) -> Any:
        return await asyncio.to_thread(getattr(self.client, method), **kwargs)

    async def _head(self, path: str) -> dict[str, Any] | None:
        try:
            head: dict[str, Any] = await self._call(
                "head_object", Bucket=self.bucket, Key=self._key(path)
            )
        except Exception as err:
            if _is_missing(err):
                return None
            raise
        return head

    async def put(
        self,
        workspace_id: uuid.UUID,
        base_id: uuid.UUID,
        path: str,
        chunks: AsyncIterable[bytes],
        *,
        sha256: str,
    ) -> bool:
        _, path_hash = check_path(workspace_id, path)
        if path_hash != sha256:
            raise ValueError(f"'{path}' is the path of other content than sha256 {sha256}")
        if await self._head(path) is not None:
            return True
        pieces = rechunk(chunks, self.part_bytes).__aiter__()
        first = await anext(pieces, b"")
        second = await anext(pieces, None)
        meta = {"sha256": sha256}
        if second is None:
            if hashlib.sha256(first).hexdigest() != sha256:
                raise ValueError(f"the bytes stored for '{path}' do not hash to {sha256}")
            await self._call(
                "put_object", Bucket=self.bucket, Key=self._key(path), Body=first, Metadata=meta
            )
            return False
        await self._multipart(path, sha256, first, second, pieces, meta)
        return False

    async def _multipart(
        self,
        path: str,
        sha256: str,
        first: bytes,
        second: bytes,
        rest: AsyncIterator[bytes],
        meta: dict[str, str],
    ) -> None:
        key = self._key(path)
        started = await self._call(
            "create_multipart_upload", Bucket=self.bucket, Key=key, Metadata=meta
        )
        upload_id = started["UploadId"]
        try:
            digest, parts = hashlib.sha256(), list[dict[str, Any]]()

            async def send(body: bytes) -> None:
                digest.update(body)
                number = len(parts) + 1
                answer = await self._call(
                    "upload_part",
                    Bucket=self.bucket,
                    Key=key,
                    UploadId=upload_id,
                    PartNumber=number,
                    Body=body,
                )
                parts.append({"ETag": answer["ETag"], "PartNumber": number})

            await send(first)
            await send(second)
            async for body in rest:
                await send(body)
            if digest.hexdigest() != sha256:
                raise ValueError(f"the bytes stored for '{path}' do not hash to {sha256}")
            await self._call(
                "complete_multipart_upload",
                Bucket=self.bucket,
                Key=key,
                UploadId=upload_id,
                MultipartUpload={"Parts": parts},
            )
        except BaseException:
            await asyncio.shield(
                self._call(
                    "abort_multipart_upload", Bucket=self.bucket, Key=key, UploadId=upload_id
                )
            )
            raise

    async def stat(self, workspace_id: uuid.UUID, path: str) -> StoredOriginal:
        check_path(workspace_id, path)
        head = await self._head(path)
        if head is None:
            raise OriginalMissing(f"the original '{path}' is not stored; upload the document again")
        metadata = head.get("Metadata") or {}
        return StoredOriginal(path, int(head["ContentLength"]), metadata.get("sha256"))

    async def read(self, workspace_id: uuid.UUID, path: str) -> AsyncIterator[bytes]:
        check_path(workspace_id, path)
        try:
            answer = await self._call("get_object", Bucket=self.bucket, Key=self._key(path))
        except Exception as err:
            if _is_missing(err):
                raise OriginalMissing(
                    f"the original '{path}' is not stored; upload the document again"
                ) from None
            raise
        body = answer["Body"]
        try:
            while piece := await asyncio.to_thread(body.read, CHUNK_BYTES):
                yield piece
        finally:
            body.close()

    async def delete(self, workspace_id: uuid.UUID, path: str) -> None:
        check_path(workspace_id, path)
        await self._call("delete_object", Bucket=self.bucket, Key=self._key(path))

    async def _delete_prefix(self, prefix: str) -> None:
        token: str | None = None
        while True:
            page = await self._call(
                "list_objects_v2",
                Bucket=self.bucket,
                Prefix=self._key(prefix),
                **({"ContinuationToken": token} if token else {}),
            )
            keys = [{"Key": item["Key"]} for item in page.get("Contents", [])]
            if keys:  # at most 1,000 per page, the most one DeleteObjects takes
                await self._call(
                    "delete_objects", Bucket=self.bucket, Delete={"Objects": keys, "Quiet": True}
                )
            token = page.get("NextContinuationToken")
            if not page.get("IsTruncated") or not token:
                return

    async def delete_base(self, workspace_id: uuid.UUID, base_id: uuid.UUID) -> None:
        await self._delete_prefix(f"{workspace_id}/{base_id}/")

    async def delete_workspace(self, workspace_id: uuid.UUID) -> None:
        await self._delete_prefix(f"{workspace_id}/")

    async def close(self) -> None:
        await asyncio.to_thread(self.client.close)
