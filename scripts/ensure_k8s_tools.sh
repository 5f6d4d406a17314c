#!/usr/bin/env bash
# Builds the Kubernetes test bed's tools from their Go modules (no registry ships these binaries):
# helm, etcd, the Kubernetes components of a one-node cluster (kube-apiserver, kube-controller-manager,
# kube-scheduler, kubelet, kube-proxy, kubectl), CoreDNS and a pause binary. Versions are pinned here and nowhere else. Results are cached outside
# the clone (K8S_TOOLS_DIR), so a second run only checks that the binaries are there.
# Prints the bin directory on its last line of stdout.
set -euo pipefail

HELM_VERSION=v3.19.5
KUBERNETES_VERSION=v1.35.4   # kube-apiserver; its staging modules are v0.35.4
ETCD_VERSION=v3.6.5          # the etcd that Kubernetes v1.35.4 itself pins
PROMETHEUS_OPERATOR_VERSION=v0.85.0  # only its CRDs (ServiceMonitor, PrometheusRule), to validate against
COREDNS_VERSION=v1.14.7      # the cluster DNS, run on the node as a host process
KUBE_COMMANDS="kube-apiserver kube-controller-manager kube-scheduler kubelet kube-proxy kubectl"

CACHE=${K8S_TOOLS_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/llm-service/k8s-tools}
RECIPE=2  # bump when a build step below changes, so cached binaries are rebuilt
BIN="$CACHE/bin-r$RECIPE-helm-$HELM_VERSION-kube-$KUBERNETES_VERSION-etcd-$ETCD_VERSION-po-$PROMETHEUS_OPERATOR_VERSION"
mkdir -p "$BIN"
export GOFLAGS=-mod=mod GOTOOLCHAIN=local CGO_ENABLED=0

say() { echo "ensure_k8s_tools: $*" >&2; }

# A throwaway module that requires $1@$2 so `go build` can resolve it; $3... are extra go.mod lines.
wrapper_module() {
  local dir=$1 module=$2 version=$3
  shift 3
  rm -rf "$dir" && mkdir -p "$dir"
  { echo "module llm-service/k8s-tools"; echo; echo "go 1.25.0"; echo
    echo "require $module $version"; printf '%s\n' "$@"; } > "$dir/go.mod"
}

build_helm() {
  [ -x "$BIN/helm" ] && return
  say "building helm $HELM_VERSION (about 2 minutes the first time)"
  GOBIN="$BIN" go install -ldflags "-X helm.sh/helm/v3/internal/version.version=$HELM_VERSION" \
    "helm.sh/helm/v3/cmd/helm@$HELM_VERSION"
}

build_etcd() {
  [ -x "$BIN/etcd" ] && return
  say "building etcd $ETCD_VERSION (about 2 minutes the first time)"
  local dir="$CACHE/src/etcd"
  wrapper_module "$dir" go.etcd.io/etcd/server/v3 "$ETCD_VERSION"
  (cd "$dir" && go get "go.etcd.io/etcd/server/v3@$ETCD_VERSION" && go build -o "$BIN/etcd" go.etcd.io/etcd/server/v3)
}

# k8s.io/kubernetes requires its staging modules at v0.0.0 and replaces them with local folders, so a
# plain `go install` refuses it; the wrapper pins every staging module to its published v0.x release.
# All commands in one `go build`, so the packages they share are compiled once.
build_kubernetes() {
  local missing=() cmd
  for cmd in $KUBE_COMMANDS; do [ -x "$BIN/$cmd" ] || missing+=("k8s.io/kubernetes/cmd/$cmd"); done
  [ ${#missing[@]} -eq 0 ] && return
  say "building ${missing[*]##*/} $KUBERNETES_VERSION (about 6 minutes on 2 cores and 4 GB of memory the first time)"
  local dir="$CACHE/src/kubernetes" staging="v0.${KUBERNETES_VERSION#v1.}"
  local mods
  mods=$(curl -fsS "$(go env GOPROXY | cut -d, -f1)/k8s.io/kubernetes/@v/$KUBERNETES_VERSION.mod" \
    | sed -n 's#^\s*\(k8s.io/[a-z0-9-]*\) => ./staging/.*#\1#p')
  local replaces=()
  for m in $mods; do replaces+=("replace $m => $m $staging"); done
  wrapper_module "$dir" k8s.io/kubernetes "$KUBERNETES_VERSION" "${replaces[@]}"
  # Without the version stamped in, the server reports v0.0.0 and helm refuses charts that need a version.
  local minor=${KUBERNETES_VERSION#v1.}
  local stamp="-X k8s.io/component-base/version.gitVersion=$KUBERNETES_VERSION"
  stamp+=" -X k8s.io/component-base/version.gitMajor=1 -X k8s.io/component-base/version.gitMinor=${minor%%.*}"
  stamp+=" -X k8s.io/component-base/version.gitTreeState=clean"
  (cd "$dir" && go get "k8s.io/kubernetes@$KUBERNETES_VERSION" \
   && go build -ldflags "$stamp" -o "$BIN/" "${missing[@]}")
}

build_coredns() {
  [ -x "$BIN/coredns" ] && return
  say "building coredns $COREDNS_VERSION (about 5 minutes the first time)"
  local dir="$CACHE/src/coredns"
  wrapper_module "$dir" github.com/coredns/coredns "$COREDNS_VERSION"
  (cd "$dir" && go get "github.com/coredns/coredns@$COREDNS_VERSION" && go build -o "$BIN/coredns" github.com/coredns/coredns)
}

# The pod sandbox's "pause" container: a process that sleeps until it is told to stop. No registry is
# reachable for the usual image, so the test bed packs this static binary into a local one.
build_pause() {
  [ -x "$BIN/pause" ] && return
  local dir="$CACHE/src/pause"
  rm -rf "$dir" && mkdir -p "$dir"
  printf 'module pause\n\ngo 1.25.0\n' > "$dir/go.mod"
  cat > "$dir/main.go" <<'GO'
package main

import (
	"os"
	"os/signal"
	"syscall"
)

func main() {
	stop := make(chan os.Signal, 1)
	signal.Notify(stop, syscall.SIGINT, syscall.SIGTERM)
	<-stop
}
GO
  (cd "$dir" && go build -ldflags "-s -w" -o "$BIN/pause" .)
}

# The Prometheus Operator's module carries its CRDs as YAML; the Go module proxy serves them like code.
fetch_monitoring_crds() {
  [ -f "$BIN/crds/monitoring.coreos.com_servicemonitors.yaml" ] && return
  say "fetching the Prometheus Operator $PROMETHEUS_OPERATOR_VERSION CRDs"
  local dir="$CACHE/src/prometheus-operator" module=github.com/prometheus-operator/prometheus-operator
  wrapper_module "$dir" "$module" "$PROMETHEUS_OPERATOR_VERSION"
  local source
  source=$(cd "$dir" && go mod download -json "$module@$PROMETHEUS_OPERATOR_VERSION" \
    | sed -n 's/.*"Dir": "\(.*\)",/\1/p')
  mkdir -p "$BIN/crds"
  for kind in servicemonitors prometheusrules; do
    cp "$source/example/prometheus-operator-crd/monitoring.coreos.com_$kind.yaml" "$BIN/crds/"
  done
}

command -v go >/dev/null || { say "the Go toolchain (go 1.25 or newer) is needed"; exit 1; }
build_helm
build_etcd
build_kubernetes
build_coredns
build_pause
fetch_monitoring_crds
echo "$BIN"
