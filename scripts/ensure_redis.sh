#!/usr/bin/env bash
# Make sure a redis-server binary exists: install Debian's package when we can, else say what to install.
set -euo pipefail
if command -v redis-server >/dev/null 2>&1; then
  exit 0
fi
echo "redis-server not found."
if command -v apt-get >/dev/null 2>&1; then
  SUDO=""
  if [ "$(id -u)" -ne 0 ]; then
    if command -v sudo >/dev/null 2>&1; then SUDO="sudo"; else
      echo "Install it as root: apt-get install -y redis-server" >&2; exit 1
    fi
  fi
  echo "Installing Debian's redis-server package..."
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq redis-server >/dev/null
  # Debian's package may start a system service on 6379; that is harmless, but we never rely on it.
  command -v redis-server >/dev/null 2>&1 && exit 0
fi
echo "Please install Redis 6 or newer so that 'redis-server' is on PATH" >&2
echo "  Debian/Ubuntu: apt-get install redis-server   Fedora: dnf install redis   macOS: brew install redis" >&2
exit 1
