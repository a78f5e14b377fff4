"""Settings of distributed camera workers (`cluster:`): JetStream KV leases and their timing."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field, model_validator

_BUCKET = r"^[A-Za-z0-9_-]{1,64}$"


class ClusterConfig(BaseModel):
    """How `safecity worker` processes share the cameras (see `safecity.cluster.worker`)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    lease_bucket: str = Field("safecity_camera_leases", pattern=_BUCKET, description="KV bucket of leases")
    workers_bucket: str = Field("safecity_workers", pattern=_BUCKET, description="KV bucket of heartbeats")
    lease_ttl_s: float = Field(
        10.0, gt=0, description="A lease (and a heartbeat) expires this long after its last renewal"
    )
    renew_every_s: float | None = Field(None, gt=0, description="Renewal period (default: lease_ttl_s / 3)")
    stop_budget_s: float = Field(
        3.0,
        gt=0,
        description="A worker stops a camera this long before its lease can expire on the server",
    )
    claim_every_s: float = Field(1.0, gt=0, description="How often a worker looks for free cameras")
    kv_timeout_s: float = Field(2.0, gt=0, description="Timeout of one KV request")

    @property
    def renew_period_s(self) -> float:
        return self.renew_every_s if self.renew_every_s is not None else self.lease_ttl_s / 3

    @model_validator(mode="after")
    def _renewal_fits(self) -> ClusterConfig:
        # a healthy worker must renew (and hear back) before its own fence closes, or it would drop its
        # cameras every period: renew period + one KV request < ttl - stop budget
        needed = self.renew_period_s + self.kv_timeout_s + self.stop_budget_s
        if self.lease_ttl_s <= needed:
            raise ValueError(
                f"lease_ttl_s ({self.lease_ttl_s}) must exceed renew period + kv_timeout_s + stop_budget_s "
                f"({needed:.2f})"
            )
        return self
