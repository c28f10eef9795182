import { getBackendProvider, listBackends, parseBackendSpec, specsOf } from '@conv2d/core';

export interface SpecAvailability {
  spec: string;
  available: boolean;
  reason?: string;
}

/** Probes one spec (`name` or `name:variant`), rejecting unknown names and variants. */
export async function probeSpec(spec: string): Promise<SpecAvailability> {
  const { name, variant } = parseBackendSpec(spec);
  const provider = getBackendProvider(name);
  if (variant !== null && !provider.variants.includes(variant)) {
    return {
      spec,
      available: false,
      reason: `unknown variant; known: ${specsOf(provider).join(', ')}`,
    };
  }
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
