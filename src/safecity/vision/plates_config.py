"""The `plates:` section of the settings file (kept free of heavy imports: config/models.py imports it)."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field, field_validator

from safecity.vision.plate_formats import FORMATS


class PlatesConfig(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    enabled: bool = Field(
        False, description="Read plates of vehicle tracks (personal data: off unless the deployment needs it)"
    )
    cameras: tuple[str, ...] = Field((), description="Cameras that read plates (empty: every camera)")
    countries: tuple[str, ...] = Field(
        ("generic",),
        min_length=1,
        description=f"Plate formats to expect, most likely first; of: {', '.join(FORMATS)}",
    )
    min_confidence: float = Field(
        0.5, gt=0, lt=1, description="Reads below this (after correction) are dropped"
    )
    per_track: int = Field(3, ge=1, le=10, description="Best vehicle crops read per track, then voted")
    window_s: float = Field(3.0, gt=0, le=60, description="A track's best crops are chosen over this")
    min_vehicle_px: int = Field(80, ge=16, description="Vehicle boxes shorter than this are not read")
    max_side: int = Field(960, ge=160, le=4096, description="The text detector's input is at most this large")
    threads: int = Field(1, ge=1, le=16, description="ONNX Runtime threads of the plate models")
    second_look: bool = Field(
        True, description="Where nothing is read, detect again on the crop upscaled twice (small plates)"
    )
    redact: bool = Field(
        True,
        description="Blur plate-shaped text inside vehicle boxes of every stored snapshot, live frame and "
        "redacted clip export, and anywhere in stored report and message photos (needs the plate models; "
        "without them the vehicle boxes, or the photo, are blurred whole)",
    )
    non_hit_retention_hours: float = Field(
        24.0,
        ge=0,
        description="Reads that hit no hotlist are kept this long for counts and search, then only "
        "aggregates (0: not kept at all)",
    )

    hotlist_refresh_s: float = Field(
        5.0, gt=0, le=300, description="Active vehicle hotlists are re-read this often (expiry is exact)"
    )
    hotlist_max_entry_days: int = Field(
        365, ge=1, description="A hotlist entry expires at most this long after it is added"
    )

    @field_validator("countries")
    @classmethod
    def _known(cls, countries: tuple[str, ...]) -> tuple[str, ...]:
        bad = [c for c in countries if c not in FORMATS]
        if bad:
            raise ValueError(f"unknown plate countries {bad}; known: {', '.join(FORMATS)}")
        return countries

    def reads_on(self, camera_id: str) -> bool:
        return self.enabled and (not self.cameras or camera_id in self.cameras)
