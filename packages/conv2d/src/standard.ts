import { backendProvider as naive } from '@conv2d/backend-naive';
import { type BackendProvider, registerBackend } from '@conv2d/core';

/** The backends this repository ships, in order of preference for listings. */
export const standardProviders: readonly BackendProvider[] = [naive];

/** Registers every standard backend in core's registry (idempotent). */
export function registerStandardBackends(): void {
  for (const provider of standardProviders) registerBackend(provider);
}
