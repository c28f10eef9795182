import type { Conv2dBackend } from './backend.js';
import { fail } from './errors.js';

/** `name` or `name:variant`, e.g. `im2col:transposed`. */
export interface BackendSpec {
  readonly name: string;
  readonly variant: string | null;
}

const SPEC_PART = /^[a-z][a-z0-9-]*$/;

/** Parses a spec; specs are case-insensitive (`CONV2D_BACKEND=NAIVE` is `naive`). */
export function parseBackendSpec(spec: string, argument = 'backend spec'): BackendSpec {
  if (typeof spec !== 'string') fail('invalid-option', argument, spec, "'name' or 'name:variant'");
  const parts = spec.trim().toLowerCase().split(':');
  if (parts.length > 2 || !parts.every((p) => SPEC_PART.test(p))) {
    fail(
      'invalid-option',
      argument,
      spec,
      "'name' or 'name:variant' (lower-case letters, digits, '-')",
    );
  }
  return { name: parts[0] as string, variant: parts[1] ?? null };
}

export function formatBackendSpec(spec: BackendSpec): string {
  return spec.variant ? `${spec.name}:${spec.variant}` : spec.name;
}

export interface Availability {
  readonly available: boolean;
  /** Why it is not available (or notes on what was found when it is). */
  readonly reason?: string;
}

/** Options every backend factory understands; engines add their own. */
export interface BackendCreateOptions {
  [option: string]: unknown;
}

/** A backend family: knows its variants, can probe them and create instances. */
export interface BackendProvider {
  readonly name: string;
  /** Variants that can be named explicitly (`name:variant`). */
  readonly variants: readonly string[];
  /** Human description for listings. */
  readonly description: string;
  /**
   * The options `create` understands. Core rejects any other (`invalid-option`) before
   * `create` runs; a provider that declares none takes none.
   */
  readonly options?: readonly string[];
  /** Really initialises the engine (a GL context, an adapter, a worker) to tell availability. */
  probe(variant: string | null): Promise<Availability>;
  /** Creates a backend; rejects with `Conv2dError` 'unavailable' when the variant cannot run. */
  create(variant: string | null, options?: BackendCreateOptions): Promise<Conv2dBackend>;
}

/**
 * One registry per process, on a global symbol: an app that `import`s core while a dependency
 * `require`s it loads two copies (the ESM and the CJS build), and a backend registered through
 * either must be known to both.
 */
const REGISTRY = Symbol.for('@conv2d/core.registry');
const shared = globalThis as { [REGISTRY]?: Map<string, BackendProvider> };
shared[REGISTRY] ??= new Map();
const providers = shared[REGISTRY];

export function registerBackend(provider: BackendProvider): void {
  providers.set(provider.name, provider);
}

export function unregisterBackend(name: string): void {
  providers.delete(name);
}

export function getBackendProvider(name: string): BackendProvider {
  const p = providers.get(name);
  if (!p)
    fail(
      'unknown-backend',
      'backend',
      name,
      `one of: ${[...providers.keys()].join(', ') || '(none registered)'}`,
    );
  return p;
}

export function listBackends(): BackendProvider[] {
  return [...providers.values()];
}

/** Every spec a provider offers: its name (default variant) and each named variant. */
export function specsOf(provider: BackendProvider): string[] {
  return [provider.name, ...provider.variants.map((v) => `${provider.name}:${v}`)];
}

/**
 * The registered provider and variant a spec names. An unknown name or variant is
 * `unknown-backend` wherever the spec comes from (`createBackend`, `CONV2D_BACKEND`); a known
 * spec that cannot run here is `unavailable`, from the provider.
 */
export function resolveBackendSpec(
  spec: string,
  argument = 'backend',
): { provider: BackendProvider; variant: string | null } {
  const { name, variant } = parseBackendSpec(spec, argument);
  const provider = providers.get(name);
  if (!provider) {
    const known = [...providers.values()].flatMap(specsOf).join(', ') || '(none registered)';
    fail('unknown-backend', argument, spec, `one of: ${known}`);
  }
  if (variant !== null && !provider.variants.includes(variant)) {
    fail('unknown-backend', argument, spec, `one of: ${specsOf(provider).join(', ')}`);
  }
  return { provider, variant };
}

/** Rejects create options `provider` does not declare (see `BackendProvider.options`). */
export function checkCreateOptions(provider: BackendProvider, options: unknown): void {
  if (options === undefined) return;
  if (options === null || typeof options !== 'object' || Array.isArray(options)) {
    fail('invalid-option', 'options', options, 'an object or undefined');
  }
  const known = provider.options ?? [];
  for (const [key, value] of Object.entries(options)) {
    if (!known.includes(key)) {
      fail(
        'invalid-option',
        `options.${key}`,
        value,
        known.length > 0
          ? `one of ${known.join(', ')} (the options of ${provider.name})`
          : `no options: ${provider.name} takes none`,
      );
    }
  }
}

/** Creates a backend from a spec string, checking the variant name and the options. */
export async function createBackend(
  spec: string,
  options?: BackendCreateOptions,
): Promise<Conv2dBackend> {
  const { provider, variant } = resolveBackendSpec(spec);
  checkCreateOptions(provider, options);
  return provider.create(variant, options);
}

/** A provider whose engine is loaded (`import()`) only when it is probed or created. */
export interface LazyProviderInfo {
  readonly name: string;
  readonly variants: readonly string[];
  readonly description: string;
  readonly options?: readonly string[];
  /** The npm package that holds the engine: what a "not installed" reason tells to install. */
  readonly packageName: string;
  /** Loads the engine's own provider, e.g. `() => import('pkg').then((m) => m.backendProvider)`. */
  load(): Promise<BackendProvider>;
}

/** Whether `e` says that `packageName` itself (not something inside it) could not be found. */
function isNotInstalled(e: unknown, packageName: string): boolean {
  const code = (e as { code?: unknown } | null)?.code;
  const message = e instanceof Error ? e.message : String(e);
  const missing =
    code === 'ERR_MODULE_NOT_FOUND' ||
    code === 'MODULE_NOT_FOUND' ||
    /failed to (fetch|resolve)|cannot find (module|package)/i.test(message);
  return missing && message.includes(packageName);
}

/**
 * Registers an engine by name without loading it: `import 'conv2d'` and an app's first bundle
 * chunk carry only this description, and the engine (gpu.js, say) is loaded when the backend
 * is probed or created. An engine that is not installed probes unavailable with the reason
 * `not installed: npm i <package>`; creating it is an `unavailable` error saying the same.
 */
export function lazyBackendProvider(info: LazyProviderInfo): BackendProvider {
  type Loaded = { provider: BackendProvider } | { why: string };
  let loading: Promise<Loaded> | null = null;
  const load = () => {
    loading ??= info.load().then(
      (provider): Loaded => ({ provider }),
      (e: unknown): Loaded => ({
        why: isNotInstalled(e, info.packageName)
          ? `not installed: npm i ${info.packageName}`
          : `${info.packageName} did not load: ${e instanceof Error ? e.message.split('\n')[0] : String(e)}`,
      }),
    );
    return loading;
  };
  return {
    name: info.name,
    variants: info.variants,
    description: info.description,
    options: info.options,
    async probe(variant) {
      const loaded = await load();
      if ('why' in loaded) return { available: false, reason: loaded.why };
      return loaded.provider.probe(variant);
    },
    async create(variant, options) {
      const loaded = await load();
      if ('why' in loaded) {
        const spec = formatBackendSpec({ name: info.name, variant });
        fail('unavailable', 'backend', spec, `an engine that loads here (${loaded.why})`);
      }
      return loaded.provider.create(variant, options);
    },
  };
}

/** How many threads a backend can run here: its default and the most it can start. */
export interface ThreadsHere {
  readonly default: number;
  readonly max: number;
  /** Why no more than `max` (named in the error), e.g. 'this runtime has no worker threads'. */
  readonly why: string;
}

/**
 * The one rule for `options.threads`: absent, the default here; given, an integer >= 1 that
 * runs as asked, or an `unavailable` error naming why it cannot (never silently fewer).
 */
export function resolveThreads(requested: unknown, here: ThreadsHere): number {
  if (requested === undefined) return Math.min(here.default, here.max);
  if (typeof requested !== 'number' || !Number.isInteger(requested) || requested < 1) {
    fail('invalid-option', 'options.threads', requested, 'an integer >= 1');
  }
  if (requested > here.max) {
    fail('unavailable', 'options.threads', requested, `at most ${here.max} here: ${here.why}`);
  }
  return requested;
}
