"""Public reports: field checks, photo verification by content, metadata stripping, triage."""

from __future__ import annotations

import io
from datetime import UTC, datetime, timedelta

import pytest
from PIL import Image, TiffImagePlugin
from PIL.PngImagePlugin import PngInfo
from sqlalchemy.orm import Session

from safecity.operations import reports as service
from safecity.operations.config import ReportsConfig
from safecity.operations.domain import Actor, ConflictError, ReportStatus
from safecity.operations.schemas import PublicReportCreate, ReportTriage
from safecity.operations.views import incident_view

CFG = ReportsConfig()
NOW = datetime(2025, 6, 1, 12, 0, tzinfo=UTC)
OP = Actor(1, "operator")


def jpeg_with_gps(size: tuple[int, int] = (64, 48)) -> bytes:
    """A real camera-like JPEG: EXIF with GPS position, camera make, orientation, a comment."""
    image = Image.new("RGB", size, (200, 30, 30))
    exif = Image.Exif()
    exif[0x010F] = "PhoneMaker"  # Make
    exif[0x0112] = 6  # Orientation: rotate 90 CW to display
    gps = {
        1: "N", 2: (TiffImagePlugin.IFDRational(41), TiffImagePlugin.IFDRational(53),
                    TiffImagePlugin.IFDRational(2418, 100)),
        3: "E", 4: (TiffImagePlugin.IFDRational(12), TiffImagePlugin.IFDRational(29),
                    TiffImagePlugin.IFDRational(3222, 100)),
    }  # fmt: skip
    exif[0x8825] = gps  # GPSInfo IFD
    out = io.BytesIO()
    image.save(out, "JPEG", exif=exif.tobytes(), comment=b"shot at home")
    return out.getvalue()


def png_bytes(mode: str = "RGBA") -> bytes:
    out = io.BytesIO()
    info = PngInfo()
    info.add_text("Author", "someone@example.org")
    Image.new(mode, (20, 10), (0, 128, 255, 128) if mode == "RGBA" else (0, 128, 255)).save(
        out, "PNG", pnginfo=info
    )
    return out.getvalue()


def test_the_test_jpeg_really_has_gps() -> None:
    data = jpeg_with_gps()
    with Image.open(io.BytesIO(data)) as im:
        assert im.getexif().get_ifd(0x8825)[2][0] == 41
    assert b"Exif" in data and b"PhoneMaker" in data


def test_jpeg_is_reencoded_without_exif_gps_or_comment_and_upright() -> None:
    clean, ext = service.sanitize_photo(jpeg_with_gps((64, 48)), CFG)
    assert ext == "jpg"
    assert b"Exif" not in clean and b"PhoneMaker" not in clean and b"shot at home" not in clean
    with Image.open(io.BytesIO(clean)) as im:
        assert im.format == "JPEG" and len(im.getexif()) == 0 and "exif" not in im.info
        assert "comment" not in im.info and "icc_profile" not in im.info
        assert im.size == (48, 64)  # the EXIF orientation was applied to the pixels before dropping it
        r, g, b = im.convert("RGB").getpixel((24, 32))  # type: ignore[misc]
        assert r > 150 and g < 80 and b < 80


def test_png_keeps_its_format_and_loses_its_text_chunks() -> None:
    clean, ext = service.sanitize_photo(png_bytes(), CFG)
    assert ext == "png" and b"someone@example.org" not in clean
    with Image.open(io.BytesIO(clean)) as im:
        assert im.format == "PNG" and im.mode == "RGBA" and not im.text  # type: ignore[attr-defined]


@pytest.mark.parametrize(
    ("data", "status", "reason"),
    [
        (b"GIF89a" + b"\x00" * 64, 415, "JPEG or PNG"),
        (b"%PDF-1.7 not an image", 415, "JPEG or PNG"),
        (b"", 422, "empty"),
    ],
)
def test_non_images_are_refused(data: bytes, status: int, reason: str) -> None:
    with pytest.raises(service.ReportRejected, match=reason) as info:
        service.sanitize_photo(data, CFG)
    assert info.value.status == status


def test_other_image_formats_truncated_files_and_size_caps() -> None:
    gif = io.BytesIO()
    Image.new("RGB", (8, 8)).save(gif, "GIF")
    with pytest.raises(service.ReportRejected, match="not GIF") as info:
        service.sanitize_photo(gif.getvalue(), CFG)
    assert info.value.status == 415
    truncated = jpeg_with_gps((256, 256))[:-300]
    with pytest.raises(service.ReportRejected) as info:
        service.sanitize_photo(truncated, CFG)
    assert info.value.status == 415
    small = ReportsConfig(max_photo_bytes=1024, max_photo_pixels=10_000)
    with pytest.raises(service.ReportRejected) as info:
        service.sanitize_photo(jpeg_with_gps((400, 400)), small)
    assert info.value.status == 413
    big = io.BytesIO()
    Image.new("L", (200, 200)).save(big, "PNG")  # tiny file, 40 000 pixels
    assert len(big.getvalue()) < 1024
    with pytest.raises(service.ReportRejected, match="pixels") as info:
        service.sanitize_photo(big.getvalue(), small)
    assert info.value.status == 413


def report(**kw: object) -> PublicReportCreate:
    fields: dict[str, object] = {"category": "theft", "description": "Bag snatched", "lat": 41.9, "lon": 12.5}
    fields["observed_at"] = (NOW - timedelta(hours=1)).isoformat()
    return PublicReportCreate.model_validate({**fields, **kw})


def test_when_and_where_checks() -> None:
    assert service.check_report(report(), CFG, NOW) == NOW - timedelta(hours=1)
    naive = report(observed_at="2025-06-01T10:00:00")
    assert service.check_report(naive, CFG, NOW) == datetime(2025, 6, 1, 10, tzinfo=UTC)
    with pytest.raises(service.ReportRejected, match="future"):
        service.check_report(report(observed_at=(NOW + timedelta(hours=1)).isoformat()), CFG, NOW)
    with pytest.raises(service.ReportRejected, match="7 days"):
        service.check_report(report(observed_at=(NOW - timedelta(days=8)).isoformat()), CFG, NOW)
    with pytest.raises(service.ReportRejected, match="category"):
        service.check_report(report(category="ufo"), CFG, NOW)
    assert report(lat=None, lon=None, camera_id="cam1").camera_id == "cam1"
    for bad in ({"lat": None, "lon": None}, {"lon": None}, {"description": "x" * 2001}, {"lat": 91}):
        with pytest.raises(ValueError):
            report(**bad)


def test_triage_dismiss_or_incident(db: Session) -> None:
    obs = NOW - timedelta(hours=1)
    a = service.create_report(db, report(), obs, None)
    b = service.create_report(db, report(category="lost_person", description="Boy, 6, red cap"), obs, "k.jpg")
    rows, total = service.list_reports(db, None)
    assert total == 2 and [r.id for r in rows] == [b.id, a.id]
    service.triage(db, a, ReportTriage(action="dismiss", note="duplicate"), OP)
    assert (a.status, a.triaged_by, a.triage_note) == ("dismissed", "operator", "duplicate")
    with pytest.raises(ConflictError, match="already triaged"):
        service.triage(db, a, ReportTriage(action="incident"), OP)
    row, incident = service.triage(db, b, ReportTriage(action="incident", note="urgent"), OP)
    assert incident is not None and row.status == "incident" and row.incident_id == incident.id
    view = incident_view(db, incident)
    assert (view.type, view.priority, view.source, view.lat) == ("lost_person", "high", "report", 41.9)
    assert view.report_ids == [b.id] and view.origin_at == b.created_at
    assert view.description == "Boy, 6, red cap" and view.timeline[-1].data["has_photo"] is True
    assert [r.id for r in service.list_reports(db, ReportStatus.NEW)[0]] == []
