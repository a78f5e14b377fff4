"""The `biometrics:` section of the settings file: face matching limits and snapshot redaction.

Every field has a default, so a deployment with no `biometrics:` section works: face matching is possible
(only ever with an authorized, active watchlist) and faces are blurred in every stored snapshot.
Kept free of heavy imports (config/models.py imports it).
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

# dlib's authors validated a Euclidean distance of 0.6 on LFW (99.38 %); a match score is 1 - distance.
DLIB_VALIDATED_MIN_SCORE = 0.4


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class RedactionConfig(_Strict):
    enabled: bool = Field(True, description="Blur faces in every stored snapshot (and clips that call it)")
    heads: bool = Field(
        True,
        description="Also blur the head area of each person track in a snapshot (faces too small or turned "
        "for the face detector are still hidden)",
    )
    threshold: float = Field(0.3, gt=0, lt=1, description="CenterFace score from which a region is blurred")
    max_side: int = Field(1280, ge=320, le=4096, description="Frames are searched at most this large")
    keep_originals: bool = Field(
        False,
        description="Keep the unblurred original of each snapshot in the sealed store (seen only with "
        "media:unredacted, every view audited; needed for retrospective face search). Default: not kept",
    )
    originals_days: float = Field(7.0, gt=0, description="Unblurred originals are deleted after this")


class BiometricsConfig(_Strict):
    enabled: bool = Field(True, description="Allow the face step at all (it still needs an active watchlist)")
    detect_threshold: float = Field(0.5, gt=0, lt=1, description="CenterFace score of a face to match")
    min_face_px: int = Field(24, ge=8, description="Faces smaller than this (box height) are not matched")
    threads: int = Field(1, ge=1, le=16, description="ONNX Runtime threads of the face detector")
    flip_average: bool = Field(
        True,
        description=(
            "Average each face template with its mirror image's (test-time flip; twice the embedding "
            "time). On LFW folds 1-5, 5-fold cross-validated: 98.60% vs 98.47%, false match rate 1.20% vs "
            "1.40% (docs/models.md)"
        ),
    )
    hog_box: bool = Field(
        True,
        description=(
            "Find dlib's landmarks in dlib's own HOG face box (the boxes its landmark model was trained "
            "on) where the HOG detector finds the face, else in CenterFace's box. On LFW folds 1-5 (5-fold, "
            "with flip): 98.83% vs 98.60%, false match rate 0.87% vs 1.20%, for ~11 ms of CPU a face "
            "(docs/models.md)"
        ),
    )
    per_track: int = Field(3, ge=1, le=10, description="Best crops buffered per person track")
    track_window_s: float = Field(2.0, gt=0, le=30, description="A track's best crops are chosen over this")
    candidates_tried: int = Field(2, ge=1, le=10, description="Crops tried per track until a face is found")
    min_person_px: int = Field(64, ge=16, description="Person boxes shorter than this give no crop")
    max_tracks: int = Field(32, ge=1, le=1024, description="Person tracks buffered per camera at once")
    refresh_s: float = Field(5.0, gt=0, le=300, description="Active watchlists are re-read this often")
    validated_min_score: float = Field(
        DLIB_VALIDATED_MIN_SCORE,
        gt=0,
        lt=1,
        description="The lowest match threshold validated for the model; lower needs a second approver",
    )
    default_threshold: float = Field(0.5, gt=0, lt=1, description="Match threshold of a new watchlist")
    urgent_max_hours: float = Field(
        24.0,
        gt=0,
        le=24,
        description="An urgent start without authorization is stopped and purged after this",
    )
    urgent_min_justification: int = Field(40, ge=10, description="Characters of written justification")
    max_entry_days: int = Field(365, ge=1, description="A watchlist entry expires at most this long after")
    max_search_hours: float = Field(72.0, gt=0, description="Longest time range of one retrospective search")
    max_search_snapshots: int = Field(5000, ge=1, description="Snapshots one retrospective search may read")
    verified_sources: tuple[str, ...] = Field(
        (), description="Source registries from which bulk import of watchlist entries is allowed"
    )
    counts_flush_s: float = Field(60.0, gt=0, description="How often per-camera face counts are audited")
    sealed_dir: Path | None = Field(
        None,
        description="Where match face crops and unblurred originals are kept, apart from the media the "
        "media API serves (default: storage.data_dir/sealed)",
    )
    redaction: RedactionConfig = RedactionConfig()
    purposes: tuple[Literal["victim_or_missing_person", "imminent_threat", "serious_crime_suspect"], ...] = (
        Field(
            ("victim_or_missing_person", "imminent_threat", "serious_crime_suspect"),
            description="Purposes an authorization may state (a subset of the fixed list)",
        )
    )

    @model_validator(mode="after")
    def _thresholds(self) -> BiometricsConfig:
        if self.default_threshold < self.validated_min_score:
            raise ValueError("default_threshold must not be below validated_min_score")
        return self
