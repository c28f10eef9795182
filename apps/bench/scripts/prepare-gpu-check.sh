#!/usr/bin/env bash
# Run here (no GPU needed), from anywhere in the checkout: makes .device-carry/ with the device
# recipe's node binary and GL/Vulkan loaders (../shared/device/prepare.sh), plus a
# self-contained gpu-check bundle: our code bundled, gpu.js and its dependencies copied
# (webgpu with only its Linux Dawn binary), and the PyTorch fixtures.
set -euo pipefail
root=$(git rev-parse --show-toplevel)
cd "$root"
bash "$root/../shared/device/prepare.sh"
out=.device-carry/gpu-check
rm -rf "$out" && mkdir -p "$out/node_modules"
pnpm turbo run build --filter=@conv2d/bench... --output-logs=errors-only
(cd apps/bench && GPU_CHECK_OUT="$root/$out" pnpm exec tsup --config tsup.gpu-check.config.ts)
store=node_modules/.pnpm
copy() { cp -rL "$1" "$out/node_modules/$2"; }
copy "$(ls -d $store/gpu.js@2.24.1*/node_modules/gpu.js | head -1)" gpu.js
copy "$(ls -d $store/acorn@8.14.0/node_modules/acorn)" acorn
copy "$(ls -d $store/gpu-mock.js@1.4.1*/node_modules/gpu-mock.js | head -1)" gpu-mock.js
mkdir -p "$out/node_modules/webgpu/dist"
webgpu=$store/webgpu@0.2.9/node_modules/webgpu
cp "$webgpu/package.json" "$webgpu/index.js" "$out/node_modules/webgpu/"
cp "$webgpu/dist/linux-x64.dawn.node" "$out/node_modules/webgpu/dist/"
rm -rf "$out/node_modules/gpu.js/dist" 2>/dev/null || true # browser builds; Node uses src/
cp -r packages/conformance/fixtures "$out/fixtures"
du -sh .device-carry
