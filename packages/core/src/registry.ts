import type { Conv2dBackend } from './backend.js';
import { fail } from './errors.js';

/** `name` or `name:variant`, e.g. `im2col:transposed`. */
export interface BackendSpec {
  readonly name: string;
  readonly variant: string | null;
}

const SPEC_PART = /^[a-z][a-z0-9-]*$/;

export function parseBackendSpec(spec: string): BackendSpec {
  if (typeof spec !== 'string')
    fail('invalid-option', 'backend spec', spec, "'name' or 'name:variant'");
  const parts = spec.trim().split(':');
  if (parts.length > 2 || !parts.every((p) => SPEC_PART.test(p))) {
    fail(
      'invalid-option',
      'backend spec',
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
  /** Really initialises the engine (a GL context, an adapter, a worker) to tell availability. */
  probe(variant: string | null): Promise<Availability>;
  /** Creates a backend; rejects with `Conv2dError` 'unavailable' when the variant cannot run. */
  create(variant: string | null, options?: BackendCreateOptions): Promise<Conv2dBackend>;
}

const providers = new Map<string, BackendProvider>();

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

/** Creates a backend from a spec string, checking the variant name. */
export async function createBackend(
  spec: string,
  options?: BackendCreateOptions,
): Promise<Conv2dBackend> {
  const { name, variant } = parseBackendSpec(spec);
  const provider = getBackendProvider(name);
  if (variant !== null && !provider.variants.includes(variant)) {
    fail('unknown-backend', 'backend variant', spec, `one of: ${specsOf(provider).join(', ')}`);
  }
  return provider.create(variant, options);
}
