#!/usr/bin/env bash
# Runs a command as on a fresh machine without Debian's media packages: in a private mount namespace
# where every ffmpeg, ffprobe, espeak-ng and espeak on the PATH is covered by an empty, non-executable
# file and the system font folders by empty ones. Nothing is uninstalled and nobody else on the
# machine sees a difference, so the check can run beside other work. Needs root (as on this project's
# machines) and util-linux's unshare.
#
#   bash test/helpers/without-system-media-tools.sh bash .ci/run
set -euo pipefail

if [ $# -eq 0 ]; then
  echo "usage: $0 command [argument …]" >&2
  exit 2
fi

if [ "${1:-}" != "--inside-namespace" ]; then
  exec unshare --mount --propagation private bash "$0" --inside-namespace "$@"
fi
shift

blank="$(mktemp)"
chmod 0644 "$blank"
IFS=: read -r -a path_dirs <<<"$PATH"
for tool in ffmpeg ffprobe espeak-ng espeak; do
  for dir in "${path_dirs[@]}"; do
    [ -n "$dir" ] && [ -f "$dir/$tool" ] || continue
    target="$(realpath "$dir/$tool")"
    # A tool reached through several PATH folders (/bin → /usr/bin) is covered once.
    mountpoint -q "$target" || mount --bind "$blank" "$target"
  done
done
# The mounts keep the file; its name is not needed any more.
rm -f "$blank"
for fonts in /usr/share/fonts /usr/local/share/fonts; do
  [ -d "$fonts" ] && mount -t tmpfs -o size=1m,mode=0755 tmpfs "$fonts"
done

for tool in ffmpeg ffprobe espeak-ng espeak; do
  if command -v "$tool" >/dev/null 2>&1 && [ -x "$(command -v "$tool")" ]; then
    echo "$0: $tool is still runnable at $(command -v "$tool")" >&2
    exit 1
  fi
done
if [ -e /usr/share/fonts/truetype/dejavu/DejaVuSans.ttf ]; then
  echo "$0: the system DejaVu Sans is still visible" >&2
  exit 1
fi
echo "hidden: ffmpeg, ffprobe, espeak-ng, espeak and the system fonts"
exec "$@"
