"""A real RTSP camera for tests: GStreamer's RTSP server serving an H.264 MP4 at its own pace.

Run it with Debian's `/usr/bin/python3` (it needs the distribution's `gi` bindings, not the venv):

    /usr/bin/python3 tests/support/rtsp_server.py --port 8554 --mount /cam clip.mp4

It prints `READY rtsp://127.0.0.1:<port><mount>` on stdout once it listens, and serves until killed. Each
client gets its own pipeline that starts at the beginning of the file (not shared), so a client that
reconnects after the server restarts sees the stream from the start, as after a camera reboot.
Debian packages: python3-gi gir1.2-gst-rtsp-server-1.0 gstreamer1.0-plugins-good gstreamer1.0-plugins-bad.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import gi

gi.require_version("Gst", "1.0")
gi.require_version("GstRtspServer", "1.0")
from gi.repository import GLib, Gst, GstRtspServer  # noqa: E402


def launch_line(clip: Path) -> str:
    location = str(clip).replace("\\", "\\\\").replace('"', '\\"')
    return (
        f'( filesrc location="{location}" ! qtdemux ! h264parse config-interval=-1 '
        "! rtph264pay name=pay0 pt=96 )"
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("clip", type=Path, help="an MP4 file with one H.264 video track")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--mount", default="/cam")
    args = parser.parse_args(argv)
    if not args.clip.is_file():
        print(f"no such clip: {args.clip}", file=sys.stderr)
        return 2

    Gst.init(None)
    server = GstRtspServer.RTSPServer()
    server.set_address(args.host)
    server.set_service(str(args.port))
    factory = GstRtspServer.RTSPMediaFactory()
    factory.set_launch(launch_line(args.clip.resolve()))
    factory.set_shared(False)
    server.get_mount_points().add_factory(args.mount, factory)
    if server.attach(None) == 0:
        print(f"cannot listen on {args.host}:{args.port}", file=sys.stderr)
        return 3
    print(f"READY rtsp://{args.host}:{args.port}{args.mount}", flush=True)
    GLib.MainLoop().run()
    return 0


if __name__ == "__main__":
    sys.exit(main())
