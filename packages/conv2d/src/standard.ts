import { type BackendProvider, lazyBackendProvider, registerBackend } from '@conv2d/core';

/*
 * The standard engines are registered by description and loaded with `import()` when a backend
 * is probed or created: `import 'conv2d'` loads none of them, and a bundler puts each in a chunk
 * of its own, so a page that runs im2col never downloads gpu.js. gpu.js (with Dawn and
 * headless-gl, ~140 MB and a native compile) is an optional peer: without it, `gpujs` probes
 * "not installed: npm i @conv2d/backend-gpujs". The descriptions repeat each engine's own
 * provider; test/standard.test.ts checks that they agree.
 */

const naive = lazyBackendProvider({
  name: 'naive',
  variants: [],
  description: 'Direct loops from the formula, float64 accumulation (the reference oracle)',
  packageName: '@conv2d/backend-naive',
  load: () => import('@conv2d/backend-naive').then((m) => m.backendProvider),
});

const im2col = lazyBackendProvider({
  name: 'im2col',
  variants: ['col2im', 'transposed'],
  options: ['threads', 'workspaceBytes', 'dxMethod', 'minThreadedFlops'],
  description:
    'im2col + GEMM (WebAssembly SIMD or TypeScript), col2im or transposed-convolution dX, bounded workspace, worker threads',
  packageName: '@conv2d/backend-im2col',
  load: () => import('@conv2d/backend-im2col').then((m) => m.backendProvider),
});

const gpujs = lazyBackendProvider({
  name: 'gpujs',
  variants: ['cpu', 'webasm', 'headlessgl', 'webgl2', 'webgl', 'webgpu'],
  options: ['mode', 'kernels'],
  description:
    'gpu.js kernels: webgpu (Dawn or the browser), webgl2/webgl (browser), headlessgl (WebGL via headless-gl), webasm (WebAssembly SIMD), cpu (JavaScript)',
  packageName: '@conv2d/backend-gpujs',
  load: () => import('@conv2d/backend-gpujs').then((m) => m.backendProvider),
});

/** The backends this repository ships, in order of preference for listings (loaded on use). */
export const standardProviders: readonly BackendProvider[] = [naive, im2col, gpujs];

/** Registers every standard backend in core's registry (idempotent). */
export function registerStandardBackends(): void {
  for (const provider of standardProviders) registerBackend(provider);
}
