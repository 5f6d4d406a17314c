#!/usr/bin/env bash
# The lock: uv.lock, resolved by uv from pyproject.toml for every extra and platform, and the hashed
# requirements files exported from it that pip installs (`make install`, both Dockerfiles, so CI).
#   scripts/lock.sh                           refresh after a change to pyproject.toml (pins kept)
#   scripts/lock.sh --upgrade-package redis   move one dependency to its newest allowed version
#   scripts/lock.sh --check                   offline: fail when pyproject.toml, uv.lock and the files disagree
# UV names the uv binary (default: the venv's, which the dev extra pins).
set -euo pipefail
cd "$(dirname "$0")/.."
UV=${UV:-.venv/bin/uv}

# Which file holds what: an image installs only its part's extras. The build group (setuptools) is in each,
# since the project itself is installed without build isolation.
declare -A EXPORTS=(
  [requirements/api.txt]="--extra api --extra operator"
  [requirements/worker.txt]="--extra worker"
  [requirements/dev.txt]="--all-extras"
)

export_to() {  # $1: the file's name in requirements/, $2: where to write it
  # shellcheck disable=SC2086  # the options are words
  "$UV" export --frozen --quiet --no-emit-project --group build ${EXPORTS[$1]} > "$2"
}

if [ "${1:-}" = "--check" ]; then
  "$UV" lock --check --offline --quiet || {
    echo "uv.lock does not match pyproject.toml: run make lock" >&2; exit 1; }
  scratch=$(mktemp -d)
  trap 'rm -rf "$scratch"' EXIT
  for file in "${!EXPORTS[@]}"; do
    export_to "$file" "$scratch/${file##*/}"
    cmp -s "$file" "$scratch/${file##*/}" || { echo "$file is not what uv.lock exports: run make lock" >&2; exit 1; }
  done
  exit 0
fi

"$UV" lock --quiet "$@"
for file in "${!EXPORTS[@]}"; do export_to "$file" "$file"; done
