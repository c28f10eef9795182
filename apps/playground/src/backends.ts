import { backendProvider as naiveProvider } from '@conv2d/backend-naive';
import { type BackendProvider, type Conv2dBackend, specsOf } from '@conv2d/core';

/*
 * The backends this page can offer. naive is bundled directly (it must always work); the
 * engines are loaded on demand, so one that cannot load in a browser shows up as unavailable
 * with its reason instead of breaking the page.
 */

export interface BrowserBackend {
  readonly spec: string;
  /** Null when it can run here, else why not. */
  readonly unavailable: string | null;
  create(): Promise<Conv2dBackend>;
}

type ProviderLoader = { family: string; load: () => Promise<BackendProvider> };

const loaders: ProviderLoader[] = [
  { family: 'naive', load: async () => naiveProvider },
  {
    family: 'im2col',
    load: async () => (await import('@conv2d/backend-im2col')).backendProvider,
  },
  {
    family: 'gpujs',
    load: async () => (await import('@conv2d/backend-gpujs')).backendProvider,
  },
];

/** Which specs of a family the page lists: gpu.js's WebGL/WebGPU modes are the ones that matter here. */
function wanted(provider: BackendProvider, spec: string): boolean {
  if (provider.name !== 'gpujs') return true;
  return /webgl|webgpu/.test(spec);
}

function message(e: unknown): string {
  return e instanceof Error ? e.message : String(e);
}

async function specsOfFamily(loader: ProviderLoader): Promise<BrowserBackend[]> {
  let provider: BackendProvider;
  try {
    provider = await loader.load();
  } catch (e) {
    return [
      {
        spec: loader.family,
        unavailable: `does not load: ${message(e)}`,
        create: () => Promise.reject(e),
      },
    ];
  }
  const specs = specsOf(provider).filter((s) => wanted(provider, s));
  if (specs.length === 0) {
    return [
      {
        spec: loader.family,
        unavailable: `no browser variant (variants: ${provider.variants.join(', ')})`,
        create: () => Promise.reject(new Error('no browser variant')),
      },
    ];
  }
  return Promise.all(
    specs.map(async (spec) => {
      const variant = spec.includes(':') ? spec.slice(spec.indexOf(':') + 1) : null;
      let unavailable: string | null = null;
      try {
        const probe = await provider.probe(variant);
        if (!probe.available) unavailable = probe.reason ?? 'probe failed';
      } catch (e) {
        unavailable = `probe threw: ${message(e)}`;
      }
      return { spec, unavailable, create: () => provider.create(variant) };
    }),
  );
}

/** Every backend spec the page knows, probed in this browser. */
export async function browserBackends(): Promise<BrowserBackend[]> {
  return (await Promise.all(loaders.map(specsOfFamily))).flat();
}
