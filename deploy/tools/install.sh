#!/usr/bin/env bash
# Installs the deploy validation tools (helm, kubeconform, promtool) from the Go module proxy,
# built with the machine's Go, into .trawl/tools/<tool>-<version>/. A tool already there is
# kept, so a second `make test` builds nothing. Every version is pinned here.
#
# Go's module and build caches stay where Go keeps them (GOMODCACHE, GOCACHE; ~/go/pkg/mod and
# ~/.cache/go-build by default), outside the clone: a fresh clone on a machine that built the
# tools before only links them again. Set them to scratch folders to time a cold build.
#
# Prints the tool directory's path last (the tests read TRAWL_TOOLS_DIR, default .trawl/tools).
set -euo pipefail

HELM_VERSION=v3.21.4
KUBECONFORM_VERSION=v0.8.0
# Prometheus' Go module versions its 3.x releases as v0.3xx.y.
PROMETHEUS_VERSION=v0.316.0

cd "$(dirname "$0")/../.."
TOOLS_DIR="${TRAWL_TOOLS_DIR:-$PWD/.trawl/tools}"

if ! command -v go >/dev/null 2>&1; then
    echo "deploy/tools/install.sh: no 'go' on the PATH; the deploy checks build helm, kubeconform and promtool with it" >&2
    exit 1
fi
# Never fetch another Go toolchain behind our back: a module that needs a newer Go should fail here.
export GOTOOLCHAIN=local GOFLAGS="${GOFLAGS:-} -buildvcs=false" CGO_ENABLED=0

install_tool() {
    local name=$1 version=$2 package=$3
    shift 3
    local target="$TOOLS_DIR/$name-$version"
    if [[ -x "$target/$name" ]]; then
        return
    fi
    local started=$SECONDS
    mkdir -p "$target.partial"
    # -trimpath and stripped symbols: smaller binaries, faster links; "$@" adds build tags.
    if ! GOBIN="$target.partial" go install -trimpath -ldflags="-s -w" "$@" "$package@$version"; then
        rm -rf "$target.partial"
        echo "deploy/tools/install.sh: building $name $version ($package) failed" >&2
        exit 1
    fi
    rm -rf "$target"
    mv "$target.partial" "$target"
    echo "deploy/tools/install.sh: built $name $version in $((SECONDS - started)) s" >&2
}

install_tool kubeconform "$KUBECONFORM_VERSION" github.com/yannh/kubeconform/cmd/kubeconform
install_tool helm "$HELM_VERSION" helm.sh/helm/v3/cmd/helm
# promtool without Prometheus' service discovery plugins (the AWS, Azure, GCE, Kubernetes, ...
# SDKs), which `promtool check rules` / `test rules` never use: Prometheus' own build tag
# (plugins/*.go) that cuts the build to a fraction.
install_tool promtool "$PROMETHEUS_VERSION" github.com/prometheus/prometheus/cmd/promtool -tags=remove_all_sd

echo "$TOOLS_DIR"
