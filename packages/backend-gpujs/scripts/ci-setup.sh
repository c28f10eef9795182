#!/usr/bin/env bash
# Installs what gpu.js's headlessgl mode needs on Debian/Ubuntu (run as root, before
# `pnpm install`): the headers that headless-gl (`gl`) compiles against, and Xvfb + Mesa
# (llvmpipe) to give it a GL context without a display. Idempotent; safe to re-run.
set -euo pipefail

packages=(
  # build of the native `gl` module (node-gyp)
  pkg-config python3 make g++ libx11-dev libxi-dev libxext-dev libgl1-mesa-dev
  # runtime: virtual X server and the software GL driver
  xvfb xauth libgl1-mesa-dri
)

missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done

if ((${#missing[@]})); then
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi

# node-gyp needs Node's headers; pnpm silently skips `gl`'s build without them.
if [[ -z "${npm_config_nodedir:-}" ]]; then
  prefix="$(dirname "$(dirname "$(command -v node)")")"
  if [[ -f "$prefix/include/node/node.h" ]]; then
    echo "note: export npm_config_nodedir=$prefix before pnpm install" >&2
  fi
fi
