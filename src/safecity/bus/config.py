"""Settings of the event bus (`bus:`) and of the MQTT integration (`mqtt:`).

The embedded default is the in-process bus and no MQTT; `bus.type: nats` moves the same code onto
NATS JetStream (DESIGN.md, "Embedded default and scale-out").
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

# stream names: no dots, spaces or wildcards; subjects: dot-separated tokens without wildcards
_NAME = r"^[A-Za-z0-9_-]{1,64}$"
_SUBJECT = r"^[A-Za-z0-9_-]+(\.[A-Za-z0-9_-]+)*$"
_TOPIC = r"^[^#+\x00]+$"


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class NatsTls(_Strict):
    """TLS to NATS (`tls://` or `nats://` URLs alike): the server is verified against `ca_file`."""

    ca_file: Path | None = Field(None, description="CA bundle that signed the server (default: the system's)")
    cert_file: Path | None = Field(None, description="Client certificate (PEM), when the server asks for one")
    key_file: Path | None = Field(None, description="Client key (PEM)")
    verify_hostname: bool = Field(True, description="Check the server's name (never false in production)")


class BusConfig(_Strict):
    """Where events travel: `memory` (one process) or `nats` (JetStream, many hosts)."""

    type: Literal["memory", "nats"] = Field("memory", description="memory: in-process; nats: JetStream")
    url: str = Field("nats://127.0.0.1:4222", description="NATS server URL(s), comma-separated")
    stream: str = Field("SAFECITY_EVENTS", pattern=_NAME, description="JetStream stream of events")
    subject_prefix: str = Field(
        "safecity.events",
        pattern=_SUBJECT,
        description="Events go to <prefix>.<camera_id>.<kind>; the stream captures <prefix>.>",
    )
    storage: Literal["file", "memory"] = Field("file", description="JetStream storage of the stream")
    replicas: int = Field(1, ge=1, le=5, description="Stream replicas (a NATS cluster needs 3)")
    max_age_s: float = Field(7 * 24 * 3600.0, gt=0, description="Events older than this leave the stream")
    duplicate_window_s: float = Field(
        120.0, gt=0, description="The server drops a second publish of the same event id within this window"
    )
    ack_wait_s: float = Field(30.0, gt=0, description="An unacknowledged event is redelivered after this")
    max_deliver: int = Field(20, ge=1, description="Deliveries of one event to a consumer before giving up")
    fetch_batch: int = Field(
        500, ge=1, le=10_000, description="Events a consumer pulls per request (one store transaction)"
    )
    outbox_size: int = Field(10_000, ge=1, description="Events waiting to be published; more are dropped")
    max_in_flight: int = Field(64, ge=1, le=4096, description="Publishes awaiting their acknowledgement")
    publish_retry_s: float = Field(
        60.0, gt=0, description="Keep retrying a publish this long (within the duplicate window)"
    )
    connect_timeout_s: float = Field(5.0, gt=0, description="Timeout of the first connection")
    tls: NatsTls | None = Field(None, description="TLS settings; null: plain TCP (or what the URL says)")
    user: str | None = Field(None, description="NATS user (with password or password_file)")
    password: str | None = Field(
        None, description="NATS password (prefer password_file: secrets stay out of the YAML)"
    )
    password_file: Path | None = Field(None, description="File holding the NATS password")
    token_file: Path | None = Field(None, description="File holding a NATS authentication token")
    creds_file: Path | None = Field(None, description="NATS credentials file (JWT + NKey seed, `nsc` output)")

    @model_validator(mode="after")
    def _one_secret_source(self) -> BusConfig:
        if self.password is not None and self.password_file is not None:
            raise ValueError("give password or password_file, not both")
        if (self.password is not None or self.password_file is not None) and not self.user:
            raise ValueError("a password needs a user")
        return self


class MqttTls(_Strict):
    ca_certs: str | None = Field(None, description="CA bundle file (default: the system's)")
    certfile: str | None = Field(None, description="Client certificate (PEM)")
    keyfile: str | None = Field(None, description="Client key (PEM)")
    insecure: bool = Field(False, description="Skip the broker hostname check (never in production)")


class MqttConfig(_Strict):
    """Events out to an MQTT broker (Home Assistant / Node-RED integrations); README lists the topics."""

    enabled: bool = Field(False, description="Publish events to the broker")
    host: str = Field("127.0.0.1", min_length=1, description="Broker host")
    port: int = Field(1883, ge=1, le=65535, description="Broker port (8883 for TLS)")
    topic_prefix: str = Field("safecity", pattern=_TOPIC, description="First level of every topic")
    client_id: str = Field("", description="MQTT client id (default: safecity-<random>)")
    username: str | None = Field(None, description="Broker user")
    password: str | None = Field(None, description="Broker password")
    tls: MqttTls | None = Field(None, description="TLS settings; null: plain TCP")
    qos: Literal[0, 1, 2] = Field(1, description="QoS of event messages")
    keepalive_s: int = Field(30, ge=5, le=3600, description="MQTT keepalive")
