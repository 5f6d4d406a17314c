#!/usr/bin/env bash
# What the one-node test cluster (tests/cluster, `make cluster`) needs from Debian: containerd and runc for
# pods, the CNI plugins for their network, buildah and mmdebstrap for images without a registry, iptables
# and conntrack for kube-proxy, and Prometheus for scraping the pods. Installs only what is missing.
set -euo pipefail
declare -A wanted=(
  [containerd]=containerd [runc]=runc [/usr/lib/cni/bridge]=containernetworking-plugins [buildah]=buildah
  [mmdebstrap]=mmdebstrap [iptables]=iptables [conntrack]=conntrack [socat]=socat [prometheus]=prometheus
)
missing=()
for tool in "${!wanted[@]}"; do
  if [[ $tool == /* ]]; then [ -e "$tool" ] || missing+=("${wanted[$tool]}"); else command -v "$tool" >/dev/null || missing+=("${wanted[$tool]}"); fi
done
[ ${#missing[@]} -eq 0 ] && exit 0
SUDO=""
[ "$(id -u)" -eq 0 ] || SUDO="sudo"
command -v apt-get >/dev/null || { echo "Please install: ${missing[*]}" >&2; exit 1; }
echo "Installing Debian's ${missing[*]}..." >&2
$SUDO apt-get update -qq
DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
