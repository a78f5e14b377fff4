#!/usr/bin/env bash
# Obtain the PETS2009 S2.L1 sample video (University of Reading, free for research with acknowledgement)
# from Debian's opencv-doc package, into var/samples/vtest.avi. Only Debian's package archive is contacted.
set -euo pipefail
cd "$(dirname "$0")/.."
dest=var/samples/vtest.avi
want=45cddc9490be69345cbdab64ca583be65987e864ca408038e648db99e10516cf
if [ -f "$dest" ]; then exit 0; fi
mkdir -p var/samples
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
(cd "$tmp" && apt-get download opencv-doc >/dev/null 2>&1 || { apt-get update -qq && apt-get download opencv-doc; })
dpkg-deb --fsys-tarfile "$tmp"/opencv-doc_*.deb | tar -xO ./usr/share/doc/opencv-doc/examples/data/vtest.avi > "$tmp/vtest.avi"
got=$(sha256sum "$tmp/vtest.avi" | cut -d' ' -f1)
if [ "$got" != "$want" ]; then
  echo "vtest.avi from opencv-doc has sha256 $got, expected $want" >&2
  exit 1
fi
mv "$tmp/vtest.avi" "$dest"
echo "sample video: $dest"
