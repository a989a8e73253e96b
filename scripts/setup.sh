#!/usr/bin/env bash
# Idempotent set-up of a fresh Debian machine for building and testing Lanes: system packages
# the build needs, the pinned npm tools (anvil, cast, solc-js, viem) and the Python venv.
# Quiet unless a step fails; one line per step that does something.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

APT_PACKAGES=(build-essential pkg-config libclang-dev)

say() { printf 'setup: %s\n' "$*"; }

# Runs a command with its output kept back, and shows that output only if it fails.
quiet() {
  local log status=0
  log="$(mktemp)"
  "$@" >"$log" 2>&1 || status=$?
  if [ "$status" -ne 0 ]; then
    printf 'setup: FAILED (exit %s): %s\n' "$status" "$*" >&2
    cat "$log" >&2
  fi
  rm -f "$log"
  return "$status"
}

sha() { sha256sum "$@" | sha256sum | cut -d' ' -f1; }

# System packages.
missing=()
for pkg in "${APT_PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q 'install ok installed' || missing+=("$pkg")
done
if [ "${#missing[@]}" -gt 0 ]; then
  sudo=()
  if [ "$(id -u)" -ne 0 ]; then sudo=(sudo); fi
  say "apt-get install ${missing[*]}"
  quiet "${sudo[@]}" apt-get update
  quiet "${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends "${missing[@]}"
fi

# npm tools, from the lockfile. A stamp of the lockfile's hash tells a stale node_modules apart.
for tool in node npm python3 cargo; do
  command -v "$tool" >/dev/null || { echo "setup: $tool is not installed" >&2; exit 1; }
done
npm_stamp=node_modules/.lanes-lock.sha256
npm_want="$(sha package.json package-lock.json)"
if [ ! -x node_modules/@foundry-rs/cast-linux-amd64/bin/cast ] || [ ! -x node_modules/@foundry-rs/anvil-linux-amd64/bin/anvil ] ||
  [ "$(cat "$npm_stamp" 2>/dev/null)" != "$npm_want" ]; then
  say "npm ci"
  quiet npm ci --no-audit --no-fund --loglevel=error
  echo "$npm_want" >"$npm_stamp"
fi

# Python venv for web3.py and pytest, re-synced when requirements.txt changes.
venv_stamp=.venv/.lanes-requirements.sha256
venv_want="$(sha requirements.txt)"
if [ ! -x .venv/bin/python ] || ! .venv/bin/python -c '' 2>/dev/null; then
  say "python3 -m venv .venv"
  rm -rf .venv
  quiet python3 -m venv .venv
fi
if [ "$(cat "$venv_stamp" 2>/dev/null)" != "$venv_want" ]; then
  say "pip install -r requirements.txt"
  quiet .venv/bin/python -m pip install --disable-pip-version-check -q -r requirements.txt
  echo "$venv_want" >"$venv_stamp"
fi
