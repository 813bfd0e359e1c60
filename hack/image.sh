#!/usr/bin/env bash
# image.sh — build the operator's image from the project's Dockerfile, without a Docker engine.
#
#   image.sh build     build contract-operator:<chart appVersion> (docker if it runs, else
#                      podman), print the tag
#   image.sh podman    print the podman command prefix this script uses (for tests)
#
# With podman there is no registry to pull python:3.11-slim from, so a Debian bookworm base
# image is made once with debootstrap (from the Debian mirror apt is configured with) and
# imported as localhost/contract-operator-base:bookworm; the Dockerfile takes it as BASE.
# podman runs as root here with runc, the vfs storage driver and cgroupfs (crun fails on this
# host's hybrid cgroups), with a lower open-files limit than its default (this sandbox allows 20,000).
#
# Env: CO_CACHE (default ~/.cache/contract-operator), IMAGE_TAG (default from Chart.yaml).
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
ROOT=$(cd "$HERE/.." && pwd)
CACHE=${CO_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/contract-operator}
APP_VERSION=$(sed -n 's/^appVersion: *"\{0,1\}\([^"]*\)"\{0,1\}$/\1/p' "$ROOT/helm/contract-operator/Chart.yaml")
TAG=${IMAGE_TAG:-contract-operator:$APP_VERSION}
BASE=localhost/contract-operator-base:bookworm
log() { echo "[image] $*" >&2; }

# podman's default ulimits (open files, processes) are above what this sandbox permits and
# runc refuses to start the container: a containers.conf without default ulimits.
CONF=$CACHE/containers.conf
mkdir -p "$CACHE"
[ -f "$CONF" ] || printf '[containers]\ndefault_ulimits = []\n' > "$CONF"
PODMAN=(env "CONTAINERS_CONF=$CONF" podman --runtime runc --storage-driver vfs --cgroup-manager cgroupfs)

# shellcheck source=hack/lib.sh
. "$HERE/lib.sh"

ensure_podman() {
  local need=()
  command -v podman >/dev/null || need+=(podman)
  command -v runc >/dev/null || need+=(runc)
  command -v debootstrap >/dev/null || need+=(debootstrap)
  apt_install "${need[@]}"
}

debian_mirror() {
  # The mirror apt already uses (deb822 or one-line sources), so nothing is hard-coded here.
  local uri
  uri=$(awk '/^URIs:/ && !/security/ {print $2; exit}' /etc/apt/sources.list.d/*.sources 2>/dev/null || true)
  [ -n "$uri" ] || uri=$(awk '$1=="deb" && $0 !~ /security/ {print $2; exit}' /etc/apt/sources.list /etc/apt/sources.list.d/*.list 2>/dev/null || true)
  [ -n "$uri" ] || { log "no Debian mirror found in /etc/apt/sources*"; return 1; }
  echo "$uri"
}

build_base() {
  "${PODMAN[@]}" image exists "$BASE" && return 0
  local W mirror; W=$(mktemp -d "${TMPDIR:-/tmp}/co-base.XXXXXX"); mirror=$(debian_mirror)
  log "making the base image $BASE with debootstrap (first run only, ~3 min)"
  debootstrap --variant=minbase --include=python3,python3-venv,ca-certificates \
    bookworm "$W/rootfs" "$mirror" >"$W/debootstrap.log" 2>&1 ||
    { tail -20 "$W/debootstrap.log" >&2; rm -rf "$W"; return 1; }
  # Smaller and reproducible: no apt lists, no docs, no caches.
  rm -rf "$W"/rootfs/var/lib/apt/lists/* "$W"/rootfs/var/cache/apt/* \
    "$W"/rootfs/usr/share/doc/* "$W"/rootfs/usr/share/man/* "$W"/rootfs/usr/share/locale/*
  tar -C "$W/rootfs" -c . | "${PODMAN[@]}" import --change 'CMD ["/bin/bash"]' - "$BASE" >/dev/null
  rm -rf "$W"
}

wheels() {
  # The project and its runtime dependencies as wheels, resolved by the host's pip (which
  # reaches the package index; a container build may not), for the Dockerfile to install.
  local py=${PYTHON:-$ROOT/.venv/bin/python}
  rm -rf "$ROOT/build/wheels"; mkdir -p "$ROOT/build/wheels"
  "$py" -m pip wheel -q --wheel-dir "$ROOT/build/wheels" "$ROOT" >&2
}

# What the image is made of: a rebuild is skipped while none of it changed.
source_sum() {
  (cd "$ROOT" && cat Dockerfile .dockerignore pyproject.toml && find operator -name '*.py' -o -name py.typed | LC_ALL=C sort | xargs cat) | sha256sum | cut -c1-16
}

build() {
  local sum; sum=$(source_sum)
  if ! command -v docker >/dev/null && command -v podman >/dev/null &&
     [ "$("${PODMAN[@]}" image inspect --format '{{ index .Labels "dev.eventbus.source" }}' "$TAG" 2>/dev/null)" = "$sum" ]; then
    echo "$TAG"; return 0
  fi
  wheels
  if command -v docker >/dev/null && docker info >/dev/null 2>&1; then
    docker build --label "dev.eventbus.source=$sum" -t "$TAG" "$ROOT" >&2
  else
    ensure_podman
    build_base
    log "building $TAG with podman (base $BASE)"
    "${PODMAN[@]}" build --network host --build-arg "BASE=$BASE" --label "dev.eventbus.source=$sum" \
      -t "$TAG" -f "$ROOT/Dockerfile" "$ROOT" >&2
  fi
  echo "$TAG"
}

case "${1:-}" in
  build) build ;;
  podman) echo "${PODMAN[*]}" ;;
  *) echo "usage: $0 build | podman" >&2; exit 2 ;;
esac
