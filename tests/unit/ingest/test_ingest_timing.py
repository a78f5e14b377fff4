"""The timing rules of ingest without a video: fps sampling, pts/ts mapping, backoff."""

from __future__ import annotations

import itertools
import random

import pytest

from safecity.ingest.spec import SourceKind, SourceSpec, file_path, redact_url, source_kind
from safecity.ingest.timing import FpsSampler, Timeline, backoff_delay


class FakeClock:
    def __init__(self, now: float = 1_000.0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


def kept(sampler: FpsSampler, times: list[float]) -> list[float]:
    return [t for t in times if sampler.take(t)]


def test_sampler_keeps_every_other_frame_of_10fps_at_5fps() -> None:
    times = [i / 10 for i in range(795)]
    out = kept(FpsSampler(5), times)
    assert len(out) == 398
    assert out[:4] == pytest.approx([0.0, 0.2, 0.4, 0.6])


def test_sampler_none_keeps_everything() -> None:
    assert len(kept(FpsSampler(None), [0.0, 0.0, 0.01, 5.0])) == 4


def test_sampler_does_not_drift_with_jittered_timestamps() -> None:
    rng = random.Random(7)
    times = [i / 25 + rng.uniform(-0.005, 0.005) for i in range(2500)]  # 100 s at 25 fps, +-5 ms jitter
    out = kept(FpsSampler(5), sorted(times))
    assert 498 <= len(out) <= 501
    gaps = [b - a for a, b in itertools.pairwise(out)]
    assert min(gaps) > 0.15 and max(gaps) < 0.25


def test_sampler_non_integer_ratio_keeps_the_rate() -> None:
    times = [i / 30 for i in range(3000)]  # 100 s at 30 fps sampled to 7 fps
    assert 699 <= len(kept(FpsSampler(7), times)) <= 701


def test_sampler_resyncs_after_a_gap_instead_of_bursting() -> None:
    times = [i / 10 for i in range(10)] + [100 + i / 10 for i in range(10)]
    out = kept(FpsSampler(2), times)
    assert out == pytest.approx([0.0, 0.5, 100.0, 100.5])


def test_sampler_restarts_when_pts_go_back() -> None:
    sampler = FpsSampler(1)
    assert kept(sampler, [50.0, 50.5, 51.0]) == [50.0, 51.0]
    assert kept(sampler, [0.0, 0.5, 1.0]) == [0.0, 1.0]


def test_timeline_keeps_stream_pts_and_anchors_ts_at_open() -> None:
    clock = FakeClock(1_000.0)
    tl = Timeline(clock)
    tl.start_segment(step=0.1, continuous=False, opened_at=999.0)
    clock.now = 1_005.0  # frames arrive later than they were captured: ts follows pts, not arrival
    stamps = [tl.stamp(raw) for raw in (3.0, 3.1, 3.2)]
    assert [p for p, _ in stamps] == pytest.approx([3.0, 3.1, 3.2])
    assert [t for _, t in stamps] == pytest.approx([999.0, 999.1, 999.2])


def test_timeline_derives_missing_pts_from_the_rate() -> None:
    tl = Timeline(FakeClock())
    tl.start_segment(step=0.1, continuous=False)
    pts = [tl.stamp(raw)[0] for raw in (None, None, 0.5, None)]
    assert pts == pytest.approx([0.0, 0.1, 0.5, 0.6])


def test_timeline_loop_continues_pts_and_ts() -> None:
    tl = Timeline(FakeClock(500.0))
    out = []
    for _ in range(3):
        tl.start_segment(step=0.1, continuous=True)
        out += [tl.stamp(i / 10) for i in range(5)]
    pts = [p for p, _ in out]
    assert pts == pytest.approx([i / 10 for i in range(15)])
    assert [t for _, t in out] == pytest.approx([500 + i / 10 for i in range(15)])


def test_timeline_reconnect_restarts_pts_and_never_moves_ts_back() -> None:
    clock = FakeClock(100.0)
    tl = Timeline(clock)
    tl.start_segment(step=0.1, continuous=False)
    first = [tl.stamp(10 + i / 10) for i in range(50)]  # ts reaches 104.9
    clock.now = 102.0  # reconnected "before" the last ts: a clock step back, or a file faster than real time
    tl.start_segment(step=0.1, continuous=False)
    second = [tl.stamp(i / 10) for i in range(3)]
    assert second[0][0] == 0.0
    ts = [t for _, t in first + second]
    assert all(b > a for a, b in itertools.pairwise(ts))


def test_timeline_pts_going_back_within_a_segment_stays_monotonic() -> None:
    tl = Timeline(FakeClock())
    tl.start_segment(step=0.1, continuous=False)
    pts = [tl.stamp(raw)[0] for raw in (5.0, 5.1, 2.0, 2.1)]
    assert pts == pytest.approx([5.0, 5.1, 5.2, 5.3])


def test_timeline_untimed_uses_arrival_time() -> None:
    clock = FakeClock(50.0)
    tl = Timeline(clock)
    tl.start_segment(step=0.04, continuous=False, untimed=True)
    out = []
    for t in (50.3, 50.5, 50.5, 51.0):
        clock.now = t
        out.append(tl.stamp(123.0))  # the demuxer's invented pts is ignored
    assert [p for p, _ in out] == pytest.approx([0.3, 0.5, 0.501, 1.0])
    assert [t for _, t in out] == pytest.approx([50.3, 50.5, 50.501, 51.0])


def test_backoff_grows_caps_and_jitters_down() -> None:
    rng = random.Random(3)
    delays = [backoff_delay(n, 0.5, 30.0, rng) for n in range(1, 12)]
    for n, d in enumerate(delays, start=1):
        nominal = min(30.0, 0.5 * 2 ** (n - 1))
        assert 0.8 * nominal <= d <= nominal
    assert backoff_delay(10_000, 0.5, 30.0, rng) <= 30.0
    assert len({round(backoff_delay(3, 1.0, 30.0, rng), 6) for _ in range(20)}) > 1


@pytest.mark.parametrize(
    ("url", "kind"),
    [
        ("/data/a.mp4", SourceKind.FILE),
        ("a.mp4", SourceKind.FILE),
        ("file:///data/a.mp4", SourceKind.FILE),
        ("rtsp://cam/stream", SourceKind.RTSP),
        ("RTSPS://cam/stream", SourceKind.RTSP),
        ("http://cam/mjpg", SourceKind.HTTP),
        ("https://cam/mjpg", SourceKind.HTTP),
        ("srt://cam:9000", SourceKind.STREAM),
    ],
)
def test_source_kind(url: str, kind: SourceKind) -> None:
    assert source_kind(url) is kind
    assert kind.live == (kind is not SourceKind.FILE)


def test_file_url_to_path() -> None:
    assert str(file_path("file:///data/my%20clip.mp4")) == "/data/my clip.mp4"
    assert str(file_path("clips/a.mp4")) == "clips/a.mp4"
    with pytest.raises(ValueError, match="remote host"):
        file_path("file://server/share/a.mp4")


def test_redact_url_hides_the_password() -> None:
    assert redact_url("rtsp://admin:s3cret@10.0.0.5:554/live") == "rtsp://admin:***@10.0.0.5:554/live"
    assert redact_url("rtsp://10.0.0.5/live") == "rtsp://10.0.0.5/live"
    spec = SourceSpec("c", "rtsp://admin:s3cret@cam/live")
    assert "s3cret" not in spec.safe_url


@pytest.mark.parametrize(
    "bad",
    [
        {"fps": 0},
        {"rtsp_transport": "quic"},
        {"read_timeout_s": 0},
        {"backoff_initial_s": 5.0, "backoff_max_s": 1.0},
        {"max_reconnects": -1},
    ],
)
def test_spec_rejects_nonsense(bad: dict[str, object]) -> None:
    with pytest.raises(ValueError, match="camera c"):
        SourceSpec("c", "rtsp://cam/live", **bad)  # type: ignore[arg-type]
