"""The `media:` section: where snapshots, clips and recordings are stored.

```yaml
media: {type: local}                       # default: storage.media_dir (data_dir/media)
media: {type: s3, bucket: safecity, prefix: city-a, endpoint_url: http://minio:9000, region: eu-south-1}
```
S3 credentials are never read from this file: boto3 takes them from its standard chain
(AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY, AWS_PROFILE, an instance role).
Kept free of `safecity.config` imports (config/models.py imports this module).
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from safecity.media.storage import LocalMediaStorage, ManagedStorage


class MediaConfig(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    type: Literal["local", "s3"] = Field(
        "local", description="local: a directory (storage.media_dir); s3: any S3-compatible object store"
    )
    bucket: str | None = Field(None, description="S3 bucket (required for type s3)")
    prefix: str = Field("", description="S3 key prefix, so several deployments can share a bucket")
    endpoint_url: str | None = Field(None, description="S3 endpoint (MinIO, Ceph, ...); null: AWS")
    region: str | None = Field(None, description="S3 region name")
    addressing_style: Literal["auto", "path", "virtual"] = Field(
        "auto", description="S3 bucket addressing; most self-hosted stores want path"
    )

    @model_validator(mode="after")
    def _bucket_for_s3(self) -> MediaConfig:
        if self.type == "s3" and not self.bucket:
            raise ValueError("media.type s3 needs media.bucket")
        return self


def build_storage(config: MediaConfig, local_root: Path) -> ManagedStorage:
    """The configured backend; `local_root` is the directory of the local one."""
    if config.type == "s3":
        from safecity.media.s3 import S3MediaStorage

        assert config.bucket is not None
        return S3MediaStorage(
            config.bucket,
            prefix=config.prefix,
            endpoint_url=config.endpoint_url,
            region=config.region,
            addressing_style=config.addressing_style,
        )
    return LocalMediaStorage(local_root)
