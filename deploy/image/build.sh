#!/usr/bin/env bash
# Builds deploy/Dockerfile into an OCI image without a Docker engine or a registry, and checks
# what it contains. CI runs it (.ci/run); `make image` runs it by hand.
#
# * podman (Debian's package) builds with chroot isolation on overlay storage kept outside the
#   clone (TRAWL_CONTAINERS_ROOT, default ~/.cache/trawl/containers), so layers are reused from
#   one clone to the next: an unchanged lock reuses the dependency layer. Superseded layers stay
#   there (about 1 GiB per changed lock); `podman --root ... image prune` reclaims them.
# * The python:3.11-slim base lives on a registry this machine cannot reach: the base here is
#   Debian bookworm (its python3 is 3.11) made by debootstrap from Debian's packages, imported
#   once as localhost/trawl-base. The Dockerfile takes it through its PYTHON_IMAGE build argument.
# * No container runtime can start a container in this sandbox (crun may not set rlimits), so the
#   image's filesystem is mounted and its commands run in a chroot as the image's user instead.
set -euo pipefail
cd "$(dirname "$0")/../.."

SUITE=bookworm
BASE=localhost/trawl-base:$SUITE-python3
TAG=${TRAWL_IMAGE_TAG:-localhost/trawl:dev}
ROOT=${TRAWL_CONTAINERS_ROOT:-$HOME/.cache/trawl/containers}
podman=(podman --root "$ROOT/storage" --runroot "$ROOT/run" --storage-driver overlay)

say() { echo "deploy/image/build.sh: $*" >&2; }

missing=()
command -v podman >/dev/null || missing+=(podman)
command -v debootstrap >/dev/null || missing+=(debootstrap)
if ((${#missing[@]})); then
    if [[ $(id -u) -ne 0 ]] || ! command -v apt-get >/dev/null; then
        say "needs ${missing[*]} (Debian packages) and root to install them"
        exit 1
    fi
    say "installing ${missing[*]} from Debian's packages"
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
fi

started=$SECONDS
if ! "${podman[@]}" image exists "$BASE"; then
    rootfs=$(mktemp -d)
    trap 'rm -rf "$rootfs"' EXIT
    say "making the base $BASE with debootstrap"
    debootstrap --variant=minbase --include=python3,python3-venv,ca-certificates "$SUITE" "$rootfs" >/dev/null
    tar -C "$rootfs" -c . | "${podman[@]}" import --quiet - "$BASE" >/dev/null
    rm -rf "$rootfs"
fi

secret=()
# pip's CA bundle of this machine, if it has one, for pip inside the build (never in the image).
if [[ -n "${PIP_CERT:-}" && -s "$PIP_CERT" ]]; then
    secret=(--secret "id=pip_ca,src=$PIP_CERT")
fi
say "building $TAG"
"${podman[@]}" build --quiet --isolation chroot --file deploy/Dockerfile --build-arg "PYTHON_IMAGE=$BASE" \
    "${secret[@]}" --tag "$TAG" . >/dev/null

# -- what the image holds -------------------------------------------------------------------------
config=$("${podman[@]}" image inspect "$TAG" --format '{{.Config.User}} {{json .Config.Volumes}}')
[[ $config == "10001:10001 "* ]] || { say "the image must run as 10001:10001, not: $config"; exit 1; }
for volume in /tmp /var/lib/trawl; do
    [[ $config == *"\"$volume\""* ]] || { say "the image does not declare the writable $volume"; exit 1; }
done
container=$("${podman[@]}" create "$TAG")
cleanup() { "${podman[@]}" umount "$container" >/dev/null 2>&1 || true; "${podman[@]}" rm "$container" >/dev/null 2>&1 || true; }
trap cleanup EXIT
fs=$("${podman[@]}" mount "$container")
as_trawl() { chroot --userspec=10001:10001 "$fs" env -i PATH=/opt/trawl/bin:/usr/bin:/bin HOME=/var/lib/trawl "$@"; }
help_text=$(as_trawl trawl --help)
[[ $help_text == *migrate* ]] || { say "trawl --help in the image does not list migrate"; exit 1; }
for service in ingest crawler extractor llm exporter; do
    as_trawl python -c "import importlib.util, sys; sys.exit(importlib.util.find_spec('services.$service.__main__') is None)" \
        || { say "python -m services.$service has no entrypoint in the image"; exit 1; }
done
as_trawl python -c "import services.ingest.app, services.crawler.app, services.extractor.app, services.llm.app, services.exporter.app"
# Read-only root filesystem friendly: the app's user may write nowhere but the declared volumes.
if as_trawl sh -c 'touch /opt/trawl/x || touch /x' 2>/dev/null; then
    say "the image's files are writable by its user"
    exit 1
fi
size=$("${podman[@]}" image inspect "$TAG" --format '{{.Size}}')
say "built and checked $TAG ($((size / 1024 / 1024)) MiB) in $((SECONDS - started)) s"
