import type { Capabilities, Conv2dBackend } from './backend.js';
import { Conv2dError, fail } from './errors.js';
import {
  type BackendCreateOptions,
  type BackendProvider,
  checkCreateOptions,
  formatBackendSpec,
  listBackends,
  parseBackendSpec,
  resolveBackendSpec,
  specsOf,
} from './registry.js';
import type { Layout } from './tensor.js';

/** The environment variable that overrides the choice: a backend spec such as `im2col:transposed`. */
export const BACKEND_ENV_VAR = 'CONV2D_BACKEND';

export interface Candidate {
  /** `name` or `name:variant`. */
  readonly spec: string;
  /** Higher is tried first; equal priorities keep the list order. Default 0. */
  readonly priority?: number;
}

/** What the chosen backend must be able to do. */
export interface Requirements {
  /** A layout (or several) the backend must accept. */
  readonly layout?: Layout | readonly Layout[];
  /** The backend must run grouped convolutions (groups > 1). */
  readonly groups?: boolean;
  /** The backend must run dilated convolutions. */
  readonly dilation?: boolean;
  /** The backend must accept tensors of at least this many elements. */
  readonly maxElements?: number;
  /** The backend must implement this dX method. */
  readonly dxMethod?: Capabilities['dxMethods'][number];
}

export interface SelectOptions {
  /** Specs to try; default `defaultCandidates()` for the environment this runs in. */
  readonly candidates?: readonly Candidate[];
  readonly require?: Requirements;
  /** Where `CONV2D_BACKEND` is read from; default `process.env` where it exists. */
  readonly env?: Readonly<Record<string, string | undefined>>;
  /** Passed to `provider.create`; a function gets the spec and may return per-spec options. */
  readonly createOptions?:
    | BackendCreateOptions
    | ((spec: string) => BackendCreateOptions | undefined);
}

export interface SkippedCandidate {
  readonly spec: string;
  readonly reason: string;
}

export interface Selection {
  readonly backend: Conv2dBackend;
  /** The spec that was chosen (the backend's own `name` may be more specific). */
  readonly spec: string;
  /** The candidates tried before it (or not registered), with why each was passed over. */
  readonly skipped: readonly SkippedCandidate[];
  /** True when the choice came from `CONV2D_BACKEND`. */
  readonly fromEnv: boolean;
}

export type Environment = 'node' | 'browser';

/** `node` where Node's `process.versions.node` exists; anything else is treated as web-like. */
export function detectEnvironment(): Environment {
  const p = (globalThis as { process?: { versions?: { node?: string } } }).process;
  return p?.versions?.node ? 'node' : 'browser';
}

/**
 * The default order, best first. A candidate whose provider is not registered or whose probe
 * fails is skipped with its reason, so the list can name engines that only some
 * environments have (`gpujs:webgl2` / `gpujs:webgl` run only where the gpujs provider offers
 * those variants).
 * - Node: WebGPU through gpu.js when an adapter answers, else im2col (worker threads).
 * - Browser: WebGPU, then gpu.js WebGL2 / WebGL, then im2col.
 * - naive last everywhere: slow, but it always runs.
 */
export function defaultCandidates(environment: Environment = detectEnvironment()): Candidate[] {
  if (environment === 'node') {
    return [
      { spec: 'gpujs:webgpu', priority: 30 },
      { spec: 'im2col', priority: 20 },
      { spec: 'naive', priority: 0 },
    ];
  }
  return [
    { spec: 'gpujs:webgpu', priority: 30 },
    { spec: 'gpujs:webgl2', priority: 26 },
    { spec: 'gpujs:webgl', priority: 25 },
    { spec: 'im2col', priority: 20 },
    { spec: 'naive', priority: 0 },
  ];
}

/** The requirements `caps` does not meet, in words (empty when it meets them all). */
export function missingCapabilities(caps: Capabilities, require: Requirements = {}): string[] {
  const missing: string[] = [];
  const layouts = require.layout === undefined ? [] : ([] as Layout[]).concat(require.layout);
  for (const layout of layouts) {
    if (!caps.layouts.includes(layout)) missing.push(`no ${layout} layout`);
  }
  if (require.groups && !caps.groups) missing.push('no grouped convolution');
  if (require.dilation && !caps.dilation) missing.push('no dilation');
  if (require.maxElements !== undefined && caps.maxElements < require.maxElements) {
    missing.push(`at most ${caps.maxElements} elements per tensor (${require.maxElements} needed)`);
  }
  if (require.dxMethod !== undefined && !caps.dxMethods.includes(require.dxMethod)) {
    missing.push(`no ${require.dxMethod} dX (has ${caps.dxMethods.join(', ')})`);
  }
  return missing;
}

function defaultEnv(): Readonly<Record<string, string | undefined>> {
  const p = (globalThis as { process?: { env?: Record<string, string | undefined> } }).process;
  return p?.env ?? {};
}

function messageOf(e: unknown): string {
  return e instanceof Error ? e.message : String(e);
}

type Attempt = { ok: true; backend: Conv2dBackend } | { ok: false; reason: string };

/** Probes, creates and checks one spec; never throws for a spec that merely cannot run. */
async function attempt(spec: string, options: SelectOptions): Promise<Attempt> {
  let provider: BackendProvider;
  let variant: string | null;
  try {
    const parsed = parseBackendSpec(spec);
    variant = parsed.variant;
    const found = listBackends().find((p) => p.name === parsed.name);
    if (!found) {
      const names = listBackends().map((p) => p.name);
      return {
        ok: false,
        reason: `${parsed.name} is not registered (registered: ${names.join(', ') || 'none'})`,
      };
    }
    provider = found;
  } catch (e) {
    return { ok: false, reason: messageOf(e) };
  }
  if (variant !== null && !provider.variants.includes(variant)) {
    return {
      ok: false,
      reason: `no such variant; ${provider.name} offers ${specsOf(provider).join(', ')}`,
    };
  }
  try {
    const probe = await provider.probe(variant);
    if (!probe.available) return { ok: false, reason: probe.reason ?? 'probe failed' };
  } catch (e) {
    return { ok: false, reason: `probe threw: ${messageOf(e)}` };
  }
  const createOptions =
    typeof options.createOptions === 'function'
      ? options.createOptions(spec)
      : options.createOptions;
  let backend: Conv2dBackend;
  try {
    checkCreateOptions(provider, createOptions);
    backend = await provider.create(variant, createOptions);
  } catch (e) {
    return { ok: false, reason: `create failed: ${messageOf(e)}` };
  }
  const missing = missingCapabilities(backend.capabilities, options.require);
  if (missing.length > 0) {
    backend.dispose();
    return { ok: false, reason: `lacks required capabilities: ${missing.join('; ')}` };
  }
  return { ok: true, backend };
}

/** Candidates by descending priority, keeping the list order among equals. */
function ordered(candidates: readonly Candidate[]): Candidate[] {
  return candidates
    .map((c, i) => ({ c, i }))
    .sort((a, b) => (b.c.priority ?? 0) - (a.c.priority ?? 0) || a.i - b.i)
    .map(({ c }) => c);
}

/**
 * Picks a backend from the registry: `CONV2D_BACKEND` when set (an override that cannot run is
 * an error, never replaced by another backend), else the first candidate, by priority, that
 * probes available, is created and meets `require`. The others come back with their reasons.
 */
export async function selectBackend(options: SelectOptions = {}): Promise<Selection> {
  const override = (options.env ?? defaultEnv())[BACKEND_ENV_VAR]?.trim();
  if (override) {
    // the same rules as createBackend: a bad spec is invalid-option, an unknown name or
    // variant unknown-backend; a known one that cannot run here is 'unavailable'
    const { provider, variant } = resolveBackendSpec(override, BACKEND_ENV_VAR);
    const spec = formatBackendSpec({ name: provider.name, variant });
    const result = await attempt(spec, options);
    if (!result.ok) {
      fail('unavailable', BACKEND_ENV_VAR, override, `a backend that runs here: ${result.reason}`);
    }
    return { backend: result.backend, spec, skipped: [], fromEnv: true };
  }
  const candidates = ordered(options.candidates ?? defaultCandidates());
  const skipped: SkippedCandidate[] = [];
  for (const { spec } of candidates) {
    const result = await attempt(spec, options);
    if (result.ok) return { backend: result.backend, spec, skipped, fromEnv: false };
    skipped.push({ spec, reason: result.reason });
  }
  throw new Conv2dError('unavailable', {
    argument: 'backend candidates',
    value: candidates.map((c) => c.spec),
    expected: `one that runs here (registered: ${
      listBackends()
        .map((p) => p.name)
        .join(', ') || 'none'
    }); ${skipped.map((s) => `${s.spec}: ${s.reason}`).join('; ') || 'no candidates given'}`,
  });
}
