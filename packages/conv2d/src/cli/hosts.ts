import type { CaseResult, ConformanceApi, Fixture } from '@conv2d/conformance/runner';
import type { SpecAvailability } from './specs.js';

/** One backend opened for a run of cases. */
export interface OpenBackend {
  run(fixture: Fixture, api: ConformanceApi): Promise<CaseResult>;
  close(): Promise<void>;
}

/**
 * Where the conformance command runs cases: this Node process, or a page in headless Chromium
 * (`--browser`). The command's output, exit codes and dumps are the same for both.
 */
export interface ConformanceHost {
  /** `all`: every spec known there, probed there; otherwise the one spec, probed there. */
  probe(backend: string): Promise<SpecAvailability[]>;
  open(spec: string): Promise<OpenBackend>;
  close(): Promise<void>;
}
