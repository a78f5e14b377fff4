"""Recording cost: CPU per camera (remux of H.264, and libx264 transcoding of a non-H.264 source for
comparison) and disk bytes per camera-hour.

Streams: the PETS2009 sample (../shared/data) re-encoded with ffmpeg libx264 as a camera would send it
(768x576, 10 fps, keyframe every 2 s), and an upscaled 1920x1080 25 fps 4 Mbit/s version of it (a typical
main stream). Each is recorded by the real `CameraRecorder` into 60 s segments on local storage, as fast
as the file can be read; CPU seconds per second of video is then the share of one core a live camera
costs. With GStreamer's RTSP server installed (tests/support/rtsp_server.py), the PETS stream is also
recorded live over RTSP/TCP for `--rtsp-seconds`, measuring the process CPU while only the recorder runs.

    .venv/bin/python bench/recording.py [--rtsp-seconds 30]
"""

from __future__ import annotations

import argparse
import select
import shutil
import socket
import subprocess
import tempfile
import threading
import time
from pathlib import Path

from safecity.media.storage import LocalMediaStorage
from safecity.recording.config import RecordingConfig, recording_policy
from safecity.recording.recorder import CameraRecorder
from safecity.recording.segment import SegmentInfo

ROOT = Path(__file__).resolve().parents[1]
PETS = ROOT.parent / "shared" / "data" / "video" / "pets09-s2l1-vtest.avi"


def make_stream(out: Path, *extra: str) -> Path:
    cmd = ["ffmpeg", "-nostdin", "-loglevel", "error", "-y", "-i", str(PETS), "-c:v", "libx264",
           "-preset", "veryfast", *extra, "-an", str(out)]  # fmt: skip
    subprocess.run(cmd, check=True, timeout=600)
    return out


def record(source: str, work: Path, *, other: str = "refuse", pace: bool | None = False) -> tuple[
    CameraRecorder, list[SegmentInfo], float, float]:  # fmt: skip
    """Record `source` to its end; (recorder, segments, CPU seconds, wall seconds)."""
    storage = LocalMediaStorage(work / "media")
    segments: list[SegmentInfo] = []

    def sink(info: SegmentInfo) -> None:
        segments.append(info)
        storage.put_file(f"recordings/{info.id}.mp4", info.path)

    cfg = RecordingConfig(enabled=True, segment_seconds=60, other_codecs=other)  # type: ignore[arg-type]
    recorder = CameraRecorder(recording_policy(cfg, "bench", source, None), work / "spool", sink, pace=pace)
    cpu, wall = time.process_time(), time.perf_counter()
    recorder.run()
    return recorder, segments, time.process_time() - cpu, time.perf_counter() - wall


def report(
    name: str, source_bytes: int | None, rec: CameraRecorder, segs: list[SegmentInfo], cpu: float, wall: float
) -> None:
    video_s = (segs[-1].end - segs[0].start).total_seconds()
    stored = sum(s.bytes for s in segs)
    print(f"{name}: {rec.status.mode} {rec.status.codec}, {len(segs)} segments, {video_s:.1f} s of video")
    print(f"  CPU: {cpu:.3f} s ({wall:.2f} s wall) = {100 * cpu / video_s:.2f}% of one core per live camera")
    extra = ""
    if source_bytes:
        overhead = 100 * (stored / source_bytes - 1)
        extra = f" (source file {source_bytes / 1e6:.1f} MB, container overhead {overhead:+.2f}%)"
    rate, per_hour = stored * 8 / video_s / 1e6, stored / video_s * 3600 / 1e9
    print(f"  disk: {stored / 1e6:.1f} MB = {per_hour:.3f} GB per camera-hour ({rate:.2f} Mbit/s){extra}")


def rtsp(clip: Path, work: Path, seconds: float) -> None:
    gi = "import gi; gi.require_version('GstRtspServer', '1.0'); from gi.repository import GstRtspServer"
    if not Path("/usr/bin/python3").exists() or subprocess.run(["/usr/bin/python3", "-c", gi]).returncode:
        print("RTSP: skipped (GStreamer RTSP server not installed)")
        return
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    server = subprocess.Popen(["/usr/bin/python3", str(ROOT / "tests/support/rtsp_server.py"), "--port",
                               str(port), str(clip)], stdout=subprocess.PIPE, text=True)  # fmt: skip
    try:
        assert server.stdout is not None
        select.select([server.stdout], [], [], 15)
        assert server.stdout.readline().startswith("READY")
        url = f"rtsp://127.0.0.1:{port}/cam"
        storage = LocalMediaStorage(work / "rtsp-media")
        segs: list[SegmentInfo] = []
        cfg = RecordingConfig(enabled=True, segment_seconds=10)

        def sink(info: SegmentInfo) -> None:
            segs.append(info)
            storage.put_file(f"r/{info.id}.mp4", info.path)

        recorder = CameraRecorder(recording_policy(cfg, "rtsp", url, None), work / "rtsp-spool", sink)
        threading.Timer(seconds, recorder.request_stop).start()
        cpu, wall = time.process_time(), time.perf_counter()
        recorder.run()
        cpu, wall = time.process_time() - cpu, time.perf_counter() - wall
        video = sum((s.end - s.start).total_seconds() for s in segs)
        print(f"RTSP live (PETS H.264 over RTSP/TCP from GStreamer, {wall:.1f} s): {len(segs)} segments, "
              f"{video:.1f} s recorded, CPU {cpu:.3f} s = {100 * cpu / wall:.2f}% of one core")  # fmt: skip
    finally:
        server.kill()
        server.wait()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rtsp-seconds", type=float, default=30.0)
    args = parser.parse_args()
    if not PETS.is_file() or shutil.which("ffmpeg") is None:
        raise SystemExit(f"needs {PETS} and ffmpeg")
    with tempfile.TemporaryDirectory(prefix="bench-recording-") as tmp:
        work = Path(tmp)
        pets = make_stream(work / "pets.mp4", "-g", "20")
        hd = make_stream(work / "hd.mp4", "-vf", "scale=1920:1080", "-r", "25", "-g", "50", "-b:v", "4M",
                         "-maxrate", "4M", "-bufsize", "8M")  # fmt: skip
        for name, path in (("H.264 768x576 10 fps (PETS)", pets), ("H.264 1920x1080 25 fps 4 Mbit/s", hd)):
            rec, segs, cpu, wall = record(str(path), work / name[:5])
            report(name, path.stat().st_size, rec, segs, cpu, wall)
        rec, segs, cpu, wall = record(str(PETS), work / "transcode", other="transcode")
        report("transcode msmpeg4 768x576 10 fps -> libx264 veryfast (other_codecs: transcode)", None, rec,
               segs, cpu, wall)  # fmt: skip
        hd_mpeg4 = work / "hd-mpeg4.avi"
        cmd = ["ffmpeg", "-nostdin", "-loglevel", "error", "-y", "-i", str(hd), "-t", "20", "-c:v", "mpeg4",
               "-q:v", "3", "-an", str(hd_mpeg4)]  # fmt: skip
        subprocess.run(cmd, check=True, timeout=600)
        rec, segs, cpu, wall = record(str(hd_mpeg4), work / "transcode-hd", other="transcode")
        report("transcode mpeg4 1920x1080 25 fps (20 s) -> libx264 veryfast", None, rec, segs, cpu, wall)
        rtsp(pets, work, args.rtsp_seconds)


if __name__ == "__main__":
    main()
