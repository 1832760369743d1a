#!/usr/bin/env bash
# Builds a GPU host's ComfyUI from a lock file (gpu-backend/locks/*.lock.json), nothing unpinned:
# ComfyUI and every custom node checked out at their 40-character commits, Python requirements
# installed with --require-hashes (and --no-deps, so nothing outside the lock comes in), models
# downloaded with resume and SHA-256 checks, then the whole folder verified against the lock.
# Needs git, node >= 22.12, and the Python version the lock names as python3 (or $PYTHON).
# Usage: gpu-backend/scripts/setup-host.sh LOCK_FILE COMFY_DIR
set -euo pipefail

lock=${1:?usage: setup-host.sh LOCK_FILE COMFY_DIR}
comfy_dir=${2:?usage: setup-host.sh LOCK_FILE COMFY_DIR}
python=${PYTHON:-python3}
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
requirements=$(mktemp)
trap 'rm -f "$requirements"' EXIT

plan=$(node "$here/../src/cli/lock-plan.ts" "$lock" "$requirements")

mkdir -p "$comfy_dir"
while read -r dir repo commit; do
  target="$comfy_dir/$dir"
  mkdir -p "$target"
  if [ ! -d "$target/.git" ]; then
    git -C "$target" init -q
    git -C "$target" remote add origin "$repo"
  fi
  # Fetching one commit by its SHA works on GitHub and needs no branch or tag.
  git -C "$target" fetch -q --depth 1 origin "$commit"
  git -C "$target" checkout -q --detach "$commit"
  echo "checked out $dir at $commit"
done <<< "$plan"

if [ ! -x "$comfy_dir/.venv/bin/python" ]; then
  "$python" -m venv "$comfy_dir/.venv"
fi
"$comfy_dir/.venv/bin/python" -m pip install --require-hashes --no-deps -r "$requirements"

node "$here/../src/cli/fetch-models.ts" --lock "$lock" --comfy-dir "$comfy_dir"
node "$here/../src/cli/verify-locks.ts" --lock "$lock" --comfy-dir "$comfy_dir"
