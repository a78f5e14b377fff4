"""A second witness on S3 with object lock: each witness record is one object that nobody, not even the
bucket's owner, can delete or overwrite before its retention date (COMPLIANCE mode).

The bucket must have been created with object lock enabled (S3, MinIO, Ceph RGW support it). The local
witness file stays; `verify` reads both, so removing lines from the file is caught by the copies here.
Credentials come from boto3's standard chain, never from the settings file.
"""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field


class WitnessS3Config(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    bucket: str = Field(..., min_length=3, description="Bucket created with object lock enabled")
    prefix: str = Field("audit-witness/", description="Key prefix of the witness records")
    endpoint_url: str | None = Field(None, description="S3 endpoint (MinIO, Ceph, ...); null: AWS")
    region: str | None = Field(None, description="S3 region name")
    addressing_style: Literal["auto", "path", "virtual"] = Field("auto", description="S3 bucket addressing")
    retain_days: int = Field(3650, ge=1, description="Object lock: no deletion before this many days")
    mode: Literal["COMPLIANCE", "GOVERNANCE"] = Field(
        "COMPLIANCE", description="COMPLIANCE: nobody can shorten the retention, not even the root account"
    )


class S3Witness:
    """Witness records as locked objects: `<prefix><count>-<kind>-<random>.json`."""

    def __init__(self, config: WitnessS3Config) -> None:
        try:
            import boto3
            from botocore.config import Config
        except ImportError as exc:
            raise ImportError("audit.witness_s3 needs boto3: pip install 'safecity[s3]'") from exc
        self.config = config
        self.client = boto3.client(
            "s3",
            endpoint_url=config.endpoint_url,
            region_name=config.region,
            config=Config(s3={"addressing_style": config.addressing_style}, retries={"mode": "standard"}),
        )

    def append(self, record: dict[str, Any]) -> None:
        c = self.config
        number = int(record.get("count", record.get("through", 0)))
        key = f"{c.prefix}{number:012d}-{record['kind']}-{uuid.uuid4().hex}.json"
        self.client.put_object(
            Bucket=c.bucket,
            Key=key,
            Body=json.dumps(record, sort_keys=True, separators=(",", ":")).encode(),
            ContentType="application/json",
            ObjectLockMode=c.mode,
            ObjectLockRetainUntilDate=datetime.now(UTC) + timedelta(days=c.retain_days),
            ChecksumAlgorithm="SHA256",
        )

    def records(self) -> list[dict[str, Any]]:
        out: list[dict[str, Any]] = []
        pages = self.client.get_paginator("list_objects_v2").paginate(
            Bucket=self.config.bucket, Prefix=self.config.prefix
        )
        for page in pages:
            for obj in page.get("Contents", []):
                body = self.client.get_object(Bucket=self.config.bucket, Key=obj["Key"])["Body"].read()
                try:
                    record = json.loads(body)
                except ValueError:
                    record = None
                out.append(record if isinstance(record, dict) else {"kind": "unreadable", "line": obj["Key"]})
        return out
