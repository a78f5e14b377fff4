"""`ManagedStorage` on any S3-compatible object store (AWS S3, MinIO, Ceph RGW, Garage, moto), via boto3.

Keys are stored under an optional `prefix` in one bucket. Objects are written whole (`put_object`, or a
multipart `upload_file` for recordings), so a reader never sees half an object, as with the local backend.
Credentials come from boto3's standard chain (AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY, a profile, an
instance role): they never go into the settings file. boto3 is imported here only: `pip install
'safecity[s3]'`.
"""

from __future__ import annotations

import contextlib
import os
import tempfile
from collections.abc import Iterable, Iterator
from datetime import UTC
from pathlib import Path
from typing import Any

from safecity.media.storage import MediaNotFoundError, MediaObject, normalize_key

DELETE_BATCH = 1000  # the S3 DeleteObjects limit
_MISSING = frozenset({"404", "NoSuchKey", "NotFound"})


def _boto3() -> Any:
    try:
        import boto3
    except ImportError as exc:  # pragma: no cover - depends on the installation
        raise ImportError("media.type: s3 needs boto3: pip install 'safecity[s3]'") from exc
    return boto3


def _missing(exc: Exception) -> bool:
    error = getattr(exc, "response", {}).get("Error", {})
    return str(error.get("Code")) in _MISSING


class S3MediaStorage:
    """Media in one bucket of an S3-compatible store. `path_for` is None: objects are not local files."""

    def __init__(
        self,
        bucket: str,
        *,
        prefix: str = "",
        endpoint_url: str | None = None,
        region: str | None = None,
        addressing_style: str = "auto",
        client: Any = None,
    ) -> None:
        if not bucket:
            raise ValueError("an S3 bucket name is required")
        self.bucket = bucket
        self.prefix = normalize_key(prefix.strip("/")) + "/" if prefix.strip("/") else ""
        if client is None:
            boto3 = _boto3()
            from botocore.config import Config

            config = Config(s3={"addressing_style": addressing_style}, retries={"mode": "standard"})
            client = boto3.client("s3", endpoint_url=endpoint_url, region_name=region, config=config)
        self._s3 = client

    def __repr__(self) -> str:
        return f"<S3MediaStorage s3://{self.bucket}/{self.prefix}>"

    def _object(self, key: str) -> str:
        return self.prefix + normalize_key(key)

    def _key(self, name: str) -> str:
        return name[len(self.prefix) :]

    def put(self, key: str, data: bytes) -> str:
        normalized = normalize_key(key)
        self._s3.put_object(Bucket=self.bucket, Key=self.prefix + normalized, Body=data)
        return normalized

    def get(self, key: str) -> bytes:
        try:
            response = self._s3.get_object(Bucket=self.bucket, Key=self._object(key))
        except Exception as exc:
            if _missing(exc):
                raise MediaNotFoundError(f"no media stored under {key!r}") from exc
            raise
        return bytes(response["Body"].read())

    def exists(self, key: str) -> bool:
        try:
            self._s3.head_object(Bucket=self.bucket, Key=self._object(key))
        except Exception as exc:
            if _missing(exc):
                return False
            raise
        return True

    def path_for(self, key: str) -> Path | None:
        normalize_key(key)
        return None

    def put_file(self, key: str, source: Path) -> int:
        size = source.stat().st_size
        self._s3.upload_file(str(source), self.bucket, self._object(key))
        source.unlink()
        return size

    def delete(self, key: str) -> bool:
        existed = self.exists(key)
        self._s3.delete_object(Bucket=self.bucket, Key=self._object(key))
        return existed

    def delete_many(self, keys: Iterable[str]) -> int:
        batch: list[dict[str, str]] = []
        n = 0
        for key in keys:
            batch.append({"Key": self._object(key)})
            if len(batch) == DELETE_BATCH:
                n += self._delete_batch(batch)
                batch = []
        if batch:
            n += self._delete_batch(batch)
        return n

    def _delete_batch(self, batch: list[dict[str, str]]) -> int:
        response = self._s3.delete_objects(Bucket=self.bucket, Delete={"Objects": batch, "Quiet": True})
        errors = response.get("Errors") or []
        if errors:
            first = errors[0]
            raise OSError(
                f"S3 refused to delete {len(errors)} object(s), e.g. {first.get('Key')}: "
                f"{first.get('Code')} {first.get('Message')}"
            )
        return len(batch)

    def list_objects(self, prefix: str) -> Iterator[MediaObject]:
        start = self._object(prefix).rstrip("/") + "/"
        paginator = self._s3.get_paginator("list_objects_v2")
        for page in paginator.paginate(Bucket=self.bucket, Prefix=start):
            for item in page.get("Contents") or []:
                modified = item["LastModified"].astimezone(UTC)
                yield MediaObject(self._key(item["Key"]), int(item["Size"]), modified)

    @contextlib.contextmanager
    def local_file(self, key: str) -> Iterator[Path]:
        """Download the object to a temporary file, removed when the context ends."""
        fd, name = tempfile.mkstemp(prefix="safecity-s3-", suffix=Path(key).suffix)
        os.close(fd)
        try:
            try:
                self._s3.download_file(self.bucket, self._object(key), name)
            except Exception as exc:
                if _missing(exc):
                    raise MediaNotFoundError(f"no media stored under {key!r}") from exc
                raise
            yield Path(name)
        finally:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(name)

    def presigned_url(self, key: str, expires_s: int = 300) -> str:
        """A time-limited GET URL for `key` (for playback straight from the store)."""
        url = self._s3.generate_presigned_url(
            "get_object", Params={"Bucket": self.bucket, "Key": self._object(key)}, ExpiresIn=expires_s
        )
        return str(url)
