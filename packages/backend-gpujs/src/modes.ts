import type { Availability } from '@conv2d/core';
import { GPU, HeadlessGLKernel, type KernelClass, WebGL2Kernel, WebGLKernel } from './gpujs.js';

/**
 * The gpu.js modes this backend runs, best first (the order `gpujs` tries them in). webgl2 and
 * webgl are the browser's WebGL; headlessgl is WebGL in Node through headless-gl.
 */
export const MODES = ['webgpu', 'webgl2', 'webgl', 'headlessgl', 'webasm', 'cpu'] as const;
export type GpujsMode = (typeof MODES)[number];

export function isMode(value: unknown): value is GpujsMode {
  return typeof value === 'string' && (MODES as readonly string[]).includes(value);
}

type NodeRequire = (id: string) => unknown;

/** A `require` that resolves from gpu.js's own folder (where `gl` and `webgpu` are installed). */
async function gpujsRequire(): Promise<NodeRequire | null> {
  if (typeof process === 'undefined' || !process.versions?.node) return null;
  const { createRequire } = await import('node:module');
  const base = createRequire(import.meta.url).resolve('gpu.js');
  return createRequire(base);
}

/** The gpu.js kernel class of each WebGL-based mode (their limits come from its features). */
export const GL_KERNELS: Partial<Record<GpujsMode, KernelClass>> = {
  webgl2: WebGL2Kernel,
  webgl: WebGLKernel,
  headlessgl: HeadlessGLKernel,
};

/** Why the browser's WebGL (version 1 or 2) cannot run single precision here, or null. */
function browserGLProblem(mode: 'webgl' | 'webgl2'): string | null {
  const supported = mode === 'webgl2' ? GPU.isWebGL2Supported : GPU.isWebGLSupported;
  const kernel = GL_KERNELS[mode] as KernelClass;
  if (!supported) {
    return !('document' in globalThis)
      ? `${mode} needs a browser canvas (in Node, use headlessgl)`
      : `this browser gives no ${mode === 'webgl2' ? 'WebGL2' : 'WebGL'} context`;
  }
  if (!kernel.features?.isTextureFloat) {
    return `${mode} has no float textures: single precision is impossible`;
  }
  return null;
}

/** Why headless-gl cannot give a context here, or null when it can. */
async function headlessGLProblem(): Promise<string | null> {
  if (HeadlessGLKernel.isSupported) {
    if (!HeadlessGLKernel.features?.isTextureFloat) {
      return 'headless-gl has no OES_texture_float: single precision is impossible';
    }
    return null;
  }
  const req = await gpujsRequire();
  if (!req) return 'headless-gl runs only in Node';
  let createContext: unknown;
  try {
    createContext = req('gl');
  } catch (e) {
    return (
      'the native module `gl` (headless-gl) did not load: ' +
      `${(e as Error).message.split('\n')[0]}. It builds from source at install time; see ` +
      'packages/backend-gpujs/scripts/ci-setup.sh (apt headers, npm_config_nodedir, allowBuilds)'
    );
  }
  if (typeof createContext === 'function' && createContext(1, 1) === null) {
    return (
      'headless-gl loaded but could not create a GL context ' +
      `(DISPLAY=${process.env.DISPLAY ?? 'unset'}; run under \`xvfb-run -a\` with Mesa installed)`
    );
  }
  return 'gpu.js reports the headlessgl kernel as unsupported';
}

let webgpuSetup: Promise<string | null> | null = null;

type Dawnish = Record<string, unknown> & {
  requestAdapter(options?: unknown): Promise<(Record<string, unknown> & Dawnish) | null>;
  requestDevice(descriptor?: unknown): Promise<Record<string, unknown>>;
};

/**
 * Dawn's Node binding (npm `webgpu` 0.2.9) throws "object is not of the correct interface
 * type" when a function is assigned to `device.onuncapturederror`, which gpu.js does for
 * every device (seen on an H200). An own data property on each device shadows that setter;
 * errors still reach gpu.js through the device's lost promise and its failed calls.
 */
export function acceptEventHandlers(gpu: unknown): unknown {
  const native = gpu as Dawnish;
  const requestAdapter = native.requestAdapter.bind(native);
  Object.defineProperty(native, 'requestAdapter', {
    configurable: true,
    value: async (options?: unknown) => {
      const adapter = await requestAdapter(options);
      if (!adapter) return adapter;
      const requestDevice = adapter.requestDevice.bind(adapter);
      Object.defineProperty(adapter, 'requestDevice', {
        configurable: true,
        value: async (descriptor?: unknown) => {
          const device = await requestDevice(descriptor);
          Object.defineProperty(device, 'onuncapturederror', { value: null, writable: true });
          return device;
        },
      });
      return adapter;
    },
  });
  return gpu;
}

/**
 * Makes `navigator.gpu` exist in Node through the `webgpu` package (Dawn), then asks for an
 * adapter. Resolves to why WebGPU cannot run, or null when an adapter answered.
 */
function webGPUProblem(): Promise<string | null> {
  webgpuSetup ??= (async () => {
    const nav = (globalThis as { navigator?: { gpu?: unknown } }).navigator;
    if (!nav?.gpu) {
      const req = await gpujsRequire();
      if (!req) return 'this environment has no navigator.gpu';
      let dawn: { create(flags: string[]): unknown; globals: Record<string, unknown> };
      try {
        dawn = req('webgpu') as typeof dawn;
      } catch (e) {
        return `the \`webgpu\` package (Dawn) did not load: ${(e as Error).message.split('\n')[0]}`;
      }
      // Dawn's classes (GPUBufferUsage, ...) must be globals for gpu.js's WGSL backend.
      for (const [k, v] of Object.entries(dawn.globals)) {
        if (!(k in globalThis)) Object.defineProperty(globalThis, k, { value: v, writable: true });
      }
      const gpu = acceptEventHandlers(dawn.create([]));
      if (nav) Object.defineProperty(nav, 'gpu', { value: gpu, configurable: true });
      else Object.defineProperty(globalThis, 'navigator', { value: { gpu }, configurable: true });
    }
    try {
      if (!(await GPU.isWebGPUAvailable())) return 'navigator.gpu exists but no adapter answered';
    } catch (e) {
      return `requesting a WebGPU adapter failed: ${(e as Error).message}`;
    }
    return null;
  })();
  return webgpuSetup;
}

/** Really initialises a mode and tells whether it can run here. */
export async function probeMode(mode: GpujsMode): Promise<Availability> {
  let problem: string | null;
  switch (mode) {
    case 'cpu':
      problem = null;
      break;
    case 'webasm':
      problem = GPU.isWebAssemblySupported ? null : 'WebAssembly is not supported here';
      break;
    case 'webgl2':
    case 'webgl':
      problem = browserGLProblem(mode);
      break;
    case 'headlessgl':
      problem = await headlessGLProblem();
      break;
    case 'webgpu':
      problem = await webGPUProblem();
      break;
  }
  return problem === null ? { available: true } : { available: false, reason: problem };
}

/** The best mode that really works here, or the reasons none does (cpu always does). */
export async function bestMode(): Promise<GpujsMode> {
  for (const mode of MODES) {
    if ((await probeMode(mode)).available) return mode;
  }
  return 'cpu';
}
