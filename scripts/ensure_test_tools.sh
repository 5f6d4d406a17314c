#!/usr/bin/env bash
# What the browser and Node.js tests need: Chromium, Node.js with npm, and tests/js's pinned packages.
set -euo pipefail
cd "$(dirname "$0")/.."
missing=()
command -v chromium >/dev/null 2>&1 || missing+=(chromium)
command -v node >/dev/null 2>&1 || missing+=(nodejs)
command -v npm >/dev/null 2>&1 || missing+=(npm)
if [ ${#missing[@]} -gt 0 ]; then
  SUDO=""
  [ "$(id -u)" -eq 0 ] || SUDO="sudo"
  if ! command -v apt-get >/dev/null 2>&1; then
    echo "Please install: ${missing[*]}" >&2
    exit 1
  fi
  echo "Installing Debian's ${missing[*]}..."
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "${missing[@]}" >/dev/null
fi
# npm ci only when the lock file changed since the last install.
stamp=tests/js/node_modules/.lock-$(cksum < tests/js/package-lock.json | cut -d' ' -f1)
if [ ! -f "$stamp" ]; then
  npm ci --prefix tests/js --no-audit --no-fund --loglevel=error
  touch "$stamp"
fi
