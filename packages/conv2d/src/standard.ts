import { backendProvider as gpujs } from '@conv2d/backend-gpujs';
import { backendProvider as im2col } from '@conv2d/backend-im2col';
import { backendProvider as naive } from '@conv2d/backend-naive';
import { type BackendProvider, registerBackend } from '@conv2d/core';

/** The backends this repository ships, in order of preference for listings. */
export const standardProviders: readonly BackendProvider[] = [naive, im2col, gpujs];

/** Registers every standard backend in core's registry (idempotent). */
export function registerStandardBackends(): void {
  for (const provider of standardProviders) registerBackend(provider);
}
