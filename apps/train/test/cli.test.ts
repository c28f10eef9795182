import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { runTrain } from '../src/run.js';

/** Runs `pnpm train` in-process; returns its exit code and what it printed. */
async function train(argv: string[]) {
  const out: string[] = [];
  const err: string[] = [];
  vi.spyOn(console, 'log').mockImplementation((line) => out.push(String(line)));
  vi.spyOn(console, 'error').mockImplementation((line) => err.push(String(line)));
  const code = await runTrain(argv);
  return { code, out, err };
}

afterEach(() => {
  vi.restoreAllMocks();
});

describe('pnpm train', () => {
  it('prints a line per epoch, writes the report and ends with the test accuracy', async () => {
    const dir = join(mkdtempSync(join(tmpdir(), 'train-')), 'out');
    const { code, out } = await train(['--backend', 'naive', '--epochs', '2', '--out', dir]);
    expect(code).toBe(0);
    const epochs = out.filter((l) => l.startsWith('epoch '));
    expect(epochs).toHaveLength(2);
    for (const line of epochs) {
      expect(line).toMatch(
        /^epoch \d: loss \d\.\d{4}, train accuracy [01]\.\d{3}, test accuracy [01]\.\d{3}, \d+ images\/s$/,
      );
    }
    const last = out.at(-1) ?? '';
    expect(last).toMatch(/^test accuracy: 0\.\d{3}$/);
    expect(Number(last.slice('test accuracy: '.length))).toBeGreaterThan(0.9);
    const report = JSON.parse(readFileSync(join(dir, 'curves.json'), 'utf8'));
    expect(report.backend).toBe('naive');
    expect(report.history).toHaveLength(2);
    expect(readFileSync(join(dir, 'curves.svg'), 'utf8')).toMatch(/^<svg/);
    expect(readFileSync(join(dir, 'confusion.md'), 'utf8')).toContain('| label \\ predicted |');
  });

  it('refuses a backend it cannot create with the reason, exit code 2', async () => {
    const unknown = await train(['--backend', 'nope']);
    expect(unknown.code).toBe(2);
    expect(unknown.err.join('\n')).toContain('--backend nope: [unknown-backend]');
    const option = await train(['--backend', 'naive', '--threads', '2']);
    expect(option.code).toBe(2);
    expect(option.err.join('\n')).toContain('options.threads');
  });

  it('prints the usage for a flag it does not know, exit code 2', async () => {
    const { code, err } = await train(['--epoch', '1']);
    expect(code).toBe(2);
    expect(err.join('\n')).toContain('usage: pnpm train');
  });
});
