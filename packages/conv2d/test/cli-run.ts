import { copyFileSync, mkdirSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { bundledFixturesDir } from '@conv2d/conformance/node';
import { vi } from 'vitest';
import { conformanceCommand } from '../src/cli/conformance.js';

/** Runs `conv2d conformance` in-process; returns its exit code and what it printed. */
export async function run(...argv: string[]): Promise<{ code: number; lines: string[] }> {
  const lines: string[] = [];
  const log = vi.spyOn(console, 'log').mockImplementation((line: string) => lines.push(line));
  const error = vi.spyOn(console, 'error').mockImplementation((line: string) => lines.push(line));
  try {
    return { code: await conformanceCommand(argv), lines };
  } finally {
    log.mockRestore();
    error.mockRestore();
  }
}

/** One case's `--dump` file, parsed. */
export const dumped = (dir: string, spec: string, file: string) =>
  JSON.parse(readFileSync(join(dir, spec, file), 'utf8'));

/** A temporary folder with `fixtures/` holding copies of the named bundled cases. */
export function fixtureFolder(prefix: string, cases: string[]): { root: string; fixtures: string } {
  const root = mkdtempSync(join(tmpdir(), prefix));
  const fixtures = join(root, 'fixtures');
  mkdirSync(fixtures);
  for (const file of cases) copyFileSync(join(bundledFixturesDir, file), join(fixtures, file));
  return { root, fixtures };
}
