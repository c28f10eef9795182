import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { type Conv2dBackend, parseBackendSpec } from '@conv2d/core';
import { describe, expect, it } from 'vitest';
import {
  runStress,
  STRESS_DONE,
  STRESS_LINE,
  type StressCheck,
  type StressChildConfig,
} from './stress.js';

/** How describeConformance runs the stress group. */
export interface StressOptions {
  /**
   * Backend spec (`im2col:col2im`, `gpujs:cpu`): the group then runs in a child process that
   * creates the backend through `provider`, so an early exit or a handle left open after
   * dispose fails it. Without a spec it runs in the test's process on `create()`, where
   * neither can be seen.
   */
  spec?: string;
  /** Module exporting `backendProvider`; default `@conv2d/backend-<name of the spec>`. */
  provider?: string;
  /** Where `provider` resolves from; default the package the tests run in (cwd). */
  from?: string | URL;
  /** Options for the provider's `create`. */
  createOptions?: Record<string, unknown>;
  /** Multiplies the call counts (default 1: 48 overlapping calls, 3000 in the long run). */
  scale?: number;
}

/** The built child: next to the bundle, or in dist when the suite runs from sources. */
function childScript(): string {
  const here = import.meta.url;
  const url = here.endsWith('.ts')
    ? new URL('../dist/stress-child.js', here)
    : new URL('./stress-child.js', here);
  return fileURLToPath(url);
}

interface ChildRun {
  code: number | null;
  signal: string | null;
  lines: string[];
  stderr: string;
}

function runChild(config: StressChildConfig, timeoutMs: number): Promise<ChildRun> {
  const script = childScript();
  if (!existsSync(script)) {
    throw new Error(`${script} is missing: build @conv2d/conformance first (pnpm build)`);
  }
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      ['--experimental-import-meta-resolve', script, JSON.stringify(config)],
      { timeout: timeoutMs, maxBuffer: 16 * 1024 * 1024 },
      (error, stdout, stderr) => {
        const failed = error as (Error & { code?: unknown; signal?: string | null }) | null;
        resolve({
          code: failed ? (typeof failed.code === 'number' ? failed.code : null) : 0,
          signal: failed?.signal ?? null,
          lines: stdout.split('\n').filter((l) => l.length > 0),
          stderr,
        });
      },
    );
  });
}

function childConfig(stress: StressOptions & { spec: string }): StressChildConfig {
  const from = stress.from ?? pathToFileURL(`${process.cwd()}/`);
  return {
    spec: stress.spec,
    provider: stress.provider ?? `@conv2d/backend-${parseBackendSpec(stress.spec).name}`,
    from: String(from),
    createOptions: stress.createOptions,
    scale: stress.scale,
  };
}

/**
 * The stress group: overlapping calls, inputs changed in place, dispose with calls in flight
 * and a long run with flat memory (stress.ts), in a child process when a spec is given.
 */
export function describeStress(
  create: () => Promise<Conv2dBackend> | Conv2dBackend,
  stress: StressOptions,
  timeoutMs: number,
): void {
  describe('stress', () => {
    const { spec } = stress;
    if (spec !== undefined) {
      it(
        `in a child process (${spec}): every call settles and is right, the process ends on its own`,
        async () => {
          const run = await runChild(childConfig({ ...stress, spec }), timeoutMs);
          // the child's figures (RSS before and after the long run) belong in the test output
          for (const line of run.lines) console.log(line);
          const done = run.lines.find((l) => l.startsWith(STRESS_DONE));
          const report = [...run.lines, run.stderr].join('\n');
          const ended = run.signal
            ? `killed by ${run.signal} (still running after ${timeoutMs} ms: a call that never settled, or a worker or GPU context left open?)`
            : `exit code ${run.code}`;
          expect({ ended, done: done !== undefined }, report).toEqual({
            ended: 'exit code 0',
            done: true,
          });
          expect(JSON.parse(done?.slice(STRESS_DONE.length) ?? '{}')).toMatchObject({
            problems: 0,
          });
        },
        timeoutMs + 10_000,
      );
    } else {
      it(
        'in this process: every call settles and is right',
        async () => {
          const lines: string[] = [];
          const checks: StressCheck[] = await runStress(create, {
            scale: stress.scale,
            log: (line) => lines.push(`${STRESS_LINE}${line}`),
          });
          for (const line of lines) console.log(line);
          const problems = checks.flatMap((c) => c.problems);
          // the problems themselves as the message (an array diff would elide them)
          if (problems.length > 0) throw new Error(problems.join('\n'));
        },
        timeoutMs,
      );
    }
  });
}
