"""The camera source policy (`api.camera_sources`) applied to cameras added or re-pointed through the API.

Refusals say only which rule refused (scheme, host, folder), never what is at the address or path: an
error text must not become a way to read files or probe internal services. Sources from the settings
file are trusted (whoever edits it runs the server). The check is made when the source is set; a host
name that later resolves elsewhere (DNS rebinding) is the network's business (firewall the camera VLAN).
"""

from __future__ import annotations

import ipaddress
import logging
import socket
from pathlib import Path
from urllib.parse import urlsplit

from fastapi import HTTPException, status

from safecity.config.api import CameraSourcePolicy

log = logging.getLogger(__name__)
Network = ipaddress.IPv4Network | ipaddress.IPv6Network


class SourceRefused(ValueError):
    pass


def _networks(policy: CameraSourcePolicy) -> tuple[list[Network], set[str]]:
    nets: list[Network] = []
    names: set[str] = set()
    for entry in policy.hosts:
        try:
            nets.append(ipaddress.ip_network(entry, strict=False))
        except ValueError:
            names.add(entry.lower())
    return nets, names


def _addresses(host: str) -> list[str]:
    try:
        return [str(ipaddress.ip_address(host))]
    except ValueError:
        pass
    try:
        return sorted({str(info[4][0]) for info in socket.getaddrinfo(host, None)})
    except (OSError, UnicodeError) as exc:
        raise SourceRefused(f"host {host!r} does not resolve") from exc


def _check_host(host: str, policy: CameraSourcePolicy) -> None:
    nets, names = _networks(policy)
    if host.lower() in names:
        return
    for address in _addresses(host):
        ip = ipaddress.ip_address(address.split("%", 1)[0])
        if not any(ip.version == n.version and ip in n for n in nets):
            raise SourceRefused(f"host {host!r} is not in api.camera_sources.hosts")


def _check_file(path: str, policy: CameraSourcePolicy) -> None:
    if "file" not in policy.schemes:
        raise SourceRefused("local files are not allowed (api.camera_sources.schemes has no 'file')")
    try:
        resolved = Path(path).expanduser().resolve()
        inside = any(resolved.is_relative_to(Path(d).expanduser().resolve()) for d in policy.file_dirs)
    except (OSError, ValueError) as exc:
        raise SourceRefused("not a usable file path") from exc
    if not inside:
        raise SourceRefused("the file is outside api.camera_sources.file_dirs")


def check_source(source: str, policy: CameraSourcePolicy) -> None:
    """SourceRefused unless `source` is allowed by `policy`."""
    if "\x00" in source:
        raise SourceRefused("a source cannot contain a NUL character")
    parts = urlsplit(source)
    scheme = parts.scheme.lower()
    if scheme in ("", "file") or (len(scheme) == 1 and source[1:3] in (":\\", ":/")):  # a path
        _check_file(parts.path if scheme == "file" else source, policy)
        return
    if scheme not in policy.schemes:
        raise SourceRefused(f"scheme {scheme!r} is not in api.camera_sources.schemes")
    if not parts.hostname:
        raise SourceRefused("the source URL has no host")
    _check_host(parts.hostname, policy)


def enforce_source_policy(camera_id: str, source: str, policy: CameraSourcePolicy) -> None:
    """422 with the rule that refused `source` (never what is there); the details go to the log."""
    try:
        check_source(source, policy)
    except SourceRefused as exc:
        log.warning("camera %s: source refused by api.camera_sources: %s", camera_id, exc)
        raise HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT, f"source: not allowed: {exc}") from exc
