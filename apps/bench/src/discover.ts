import { getBackendProvider, listBackends, parseBackendSpec, specsOf } from '@conv2d/core';
import type { EngineDef } from './engines/types.js';
import { MODES, type Mode } from './passes.js';
import { registerProviders } from './providers.js';

export interface EngineEntry {
  def: EngineDef;
  available: boolean;
  reason?: string;
}

/** The peers `--peers` adds: TensorFlow.js cpu and wasm, onnxruntime-node on 1 and 2 threads. */
export const PEERS: readonly EngineDef[] = [
  { name: 'tfjs-cpu', kind: 'tfjs', backend: 'cpu', peer: true },
  { name: 'tfjs-wasm', kind: 'tfjs', backend: 'wasm', peer: true },
  { name: 'onnxruntime@t1', kind: 'onnxruntime', threads: 1, peer: true },
  { name: 'onnxruntime', kind: 'onnxruntime', threads: 2, peer: true },
];

/** Extra single-thread runs of these registry backends (their default uses every core). */
const SINGLE_THREAD = ['im2col'];

/** Backends whose tensors live on a device (GPU memory): their plan mode keeps them resident. */
const RESIDENT = ['gpujs'];

/** Our backends run both ways; peers the way their users run them: prepared (`plan`). */
export function modesOf(def: EngineDef): readonly Mode[] {
  return def.peer ? ['plan'] : MODES;
}

/**
 * Every spec of every registered backend, probed (an unavailable one is listed with the
 * probe's reason, never dropped), plus `<name>@t1` runs with `{ threads: 1 }` for engines
 * that take a thread count.
 */
export async function registryEngines(providers: readonly string[] = []): Promise<EngineEntry[]> {
  await registerProviders(providers);
  const out: EngineEntry[] = [];
  for (const provider of listBackends()) {
    for (const spec of specsOf(provider)) {
      const { variant } = parseBackendSpec(spec);
      let probe: { available: boolean; reason?: string };
      try {
        probe = await provider.probe(variant);
      } catch (e) {
        probe = { available: false, reason: `probe failed: ${(e as Error).message}` };
      }
      const resident = RESIDENT.includes(provider.name) ? { resident: true } : {};
      out.push({
        def: { name: spec, kind: 'conv2d', spec, peer: false, ...resident },
        available: probe.available,
        ...(probe.available ? {} : { reason: probe.reason ?? 'unavailable here' }),
      });
      if (variant === null && SINGLE_THREAD.includes(provider.name) && probe.available) {
        out.push({
          def: {
            name: `${spec}@t1`,
            kind: 'conv2d',
            spec,
            options: { threads: 1 },
            peer: false,
            ...resident,
          },
          available: await acceptsThreads(spec),
        });
      }
    }
  }
  return out;
}

async function acceptsThreads(spec: string): Promise<boolean> {
  try {
    const b = await getBackendProvider(spec).create(null, { threads: 1 });
    b.dispose();
    return true;
  } catch {
    return false;
  }
}

/** `--backends` matching: an exact engine name, or `prefix*`. */
export function matchesEngine(name: string, pattern: string): boolean {
  return pattern.endsWith('*') ? name.startsWith(pattern.slice(0, -1)) : name === pattern;
}

/**
 * `--backends a,b` (exact engine names, or `prefix*`): keeps those engines, peers included
 * when named. Without it: every registry engine, and the peers with `--peers`.
 */
export function selectEngines(
  registry: readonly EngineEntry[],
  patterns: readonly string[],
  peers: boolean,
): EngineEntry[] {
  const peerEntries: EngineEntry[] = PEERS.map((def) => ({ def, available: true }));
  if (patterns.length === 0) return [...registry, ...(peers ? peerEntries : [])];
  const all = [...registry, ...peerEntries];
  const matches = matchesEngine;
  for (const p of patterns) {
    if (!all.some((e) => matches(e.def.name, p))) {
      throw new Error(
        `--backends: no engine ${p}; known: ${all.map((e) => e.def.name).join(', ')}`,
      );
    }
  }
  return all.filter((e) => patterns.some((p) => matches(e.def.name, p)) || (peers && e.def.peer));
}
