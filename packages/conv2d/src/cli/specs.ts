import { formatBackendSpec, listBackends, resolveBackendSpec, specsOf } from '@conv2d/core';

export interface SpecAvailability {
  spec: string;
  available: boolean;
  reason?: string;
}

/**
 * Probes one spec (`name` or `name:variant`, any case); an unknown name or variant is core's
 * `unknown-backend` error.
 */
export async function probeSpec(given: string): Promise<SpecAvailability> {
  const { provider, variant } = resolveBackendSpec(given);
  const spec = formatBackendSpec({ name: provider.name, variant });
  const probe = await provider.probe(variant);
  return { spec, ...probe };
}

/** Every spec of every registered backend, probed. */
export async function probeAll(): Promise<SpecAvailability[]> {
  const result: SpecAvailability[] = [];
  for (const provider of listBackends()) {
    for (const spec of specsOf(provider)) result.push(await probeSpec(spec));
  }
  return result;
}
