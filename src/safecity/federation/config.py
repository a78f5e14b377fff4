"""Settings of federation (`federation:`): off (one city alone), `city` (publish summaries up, take
handoffs and media requests down) or `national` (a site with no cameras that ingests its cities)."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from safecity.federation.messages import SITE_ID

_NAME = r"^[A-Za-z0-9_-]{1,64}$"
_SUBJECT = r"^[A-Za-z0-9_>*-]+(\.[A-Za-z0-9_>*-]+)*$"


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class SiteConfig(_Strict):
    id: str = Field(pattern=SITE_ID, description="Site id: a subject token, e.g. rome; unique in the country")
    name: str = Field(max_length=128, description="Display name")
    level: Literal["city", "region", "country"] = Field("city", description="Place in the hierarchy")
    parent: str | None = Field(None, pattern=SITE_ID, description="The site this one reports to")
    lat: float | None = Field(None, ge=-90, le=90, description="Map position (the city centre)")
    lon: float | None = Field(None, ge=-180, le=180, description="Map position (the city centre)")
    ui_url: str | None = Field(None, max_length=300, description="This site's own web UI (drill-down link)")


class SourceConfig(_Strict):
    """A child site whose federation stream the national stream sources (through the leaf node)."""

    site: str = Field(pattern=SITE_ID, description="The child's site id")
    domain: str = Field(pattern=_NAME, description="The child's JetStream domain (its nats-server config)")
    stream: str = Field("SAFECITY_FED_OUT", pattern=_NAME, description="The child's federation stream")
    filter_subject: str | None = Field(
        None,
        pattern=_SUBJECT,
        description="What to source; default safecity.fed.<site>.> (a region: safecity.fed.>)",
    )

    @property
    def filter(self) -> str:
        return self.filter_subject or f"safecity.fed.{self.site}.>"


class FederationConfig(_Strict):
    mode: Literal["off", "city", "national"] = Field("off", description="off | city | national")
    site: SiteConfig | None = Field(None, description="This site (required unless mode is off)")
    url: str = Field(
        "nats://127.0.0.1:4222",
        description="NATS URL of the federation account (city) or of the national server (national)",
    )
    out_stream: str = Field("SAFECITY_FED_OUT", pattern=_NAME, description="City: its federation stream")
    in_stream: str = Field("SAFECITY_FED_IN", pattern=_NAME, description="City: what flows down to it")
    parent_domain: str | None = Field(None, pattern=_NAME, description="City: the parent's JetStream domain")
    national_stream: str = Field("SAFECITY_FED", pattern=_NAME, description="National: the sourced stream")
    down_stream: str = Field("SAFECITY_FED_DOWN", pattern=_NAME, description="National: the downlink stream")
    sources: tuple[SourceConfig, ...] = Field((), description="National: the child sites it sources")
    max_age_s: float = Field(30 * 24 * 3600.0, gt=0, description="Federation streams keep messages this long")
    duplicate_window_s: float = Field(
        3600.0, gt=0, description="Same message id within this window: stored once"
    )
    sync_every_s: float = Field(5.0, gt=0, description="City: how often alerts, incidents, health are synced")
    aggregates_every_s: float = Field(
        300.0, gt=0, description="City: how often hourly aggregates are recomputed and published"
    )
    analytics_hours: int = Field(
        2, ge=1, le=168, description="City: hourly aggregates re-sent for this many hours"
    )
    fetch_batch: int = Field(500, ge=1, le=10_000, description="National: messages per store transaction")

    @model_validator(mode="after")
    def _site_needed(self) -> FederationConfig:
        if self.mode != "off" and self.site is None:
            raise ValueError("federation.site is required when federation.mode is city or national")
        if self.mode == "city" and self.parent_domain is None:
            raise ValueError(
                "federation.parent_domain is required in city mode (the parent's JetStream domain)"
            )
        return self
