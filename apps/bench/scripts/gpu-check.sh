#!/usr/bin/env bash
# Run on the GPU machine from the project root, after scripts/prepare-gpu-check.sh made
# .device-carry here (call the device tool with carry [".device-carry"]):
#   bash apps/bench/scripts/gpu-check.sh [--mode webgpu] [--reps 5]
# Prints every fixture's result on gpujs:webgpu, then GFLOP/s per layer and pass, one-shot (with
# where each call's time went: submit, device wait+readback, gpu.js shaping, unpack) and from a
# plan with resident tensors (layer T also with the block kernels), and beside each layer tfjs-webgpu (@tensorflow/tfjs-backend-webgpu, bundled) on the
# same Dawn device, resident tensors, with our time / its time (--no-tfjs leaves it out); writes
# $OUT/gpu-check.json when $OUT is set.
set -euo pipefail
source .device-carry/prelude.sh
cd .device-carry/gpu-check
node gpu-check.js --fixtures fixtures ${OUT:+--out "$OUT/gpu-check.json"} "$@"
