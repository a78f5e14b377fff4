"""Settings of the audit log's key and witness (`audit:` in the settings file)."""

from __future__ import annotations

from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field

from safecity.governance.audit_s3 import WitnessS3Config


class AuditConfig(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    key_file: Path | None = Field(
        None,
        description="Ed25519 private key that signs every audit entry and witness record; created 0600 at "
        "first start; keep it off the database host's backups (default: <data_dir>/keys/audit-ed25519.pem)",
    )
    witness_dir: Path | None = Field(
        None,
        description="Directory of the append-only witness file (signed heads of the chain, purges); put "
        "it on other storage than the database and copy it off-site (default: <data_dir>/audit-witness)",
    )
    witness_s3: WitnessS3Config | None = Field(
        None, description="Also keep every witness record as a locked object in this S3 bucket (object lock)"
    )
    witness_interval_s: float = Field(
        1.0, gt=0, le=60, description="Longest delay between an append and its witness record"
    )

    def resolved_key_file(self, data_dir: Path) -> Path:
        return self.key_file or data_dir / "keys" / "audit-ed25519.pem"

    def resolved_witness_dir(self, data_dir: Path) -> Path:
        return self.witness_dir or data_dir / "audit-witness"
