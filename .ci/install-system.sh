#!/usr/bin/env bash
# Debian packages the build and tests need (also usable on a developer machine, as root).
set -euo pipefail
packages=(
  # build headless-gl (gpu.js headlessgl mode)
  build-essential python3 pkg-config libx11-dev libxi-dev libxext-dev libgl1-mesa-dev
  # run it: a virtual X server and Mesa's software GL (llvmpipe)
  xvfb xauth libgl1-mesa-dri
  # browser tests (apps/playground): Debian's Chromium, driven by playwright-core; SwiftShader gives it WebGL
  chromium fonts-liberation
)
missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  export DEBIAN_FRONTEND=noninteractive
  apt-get update
  apt-get install -y --no-install-recommends "${missing[@]}"
fi
