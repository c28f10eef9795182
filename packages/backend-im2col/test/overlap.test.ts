import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { compare, describeMismatch, errorBounds } from '@conv2d/conformance/runner';
import { type Conv2dOptions, describeConv, type Tensor, type Wanted } from '@conv2d/core';
import { describe, expect, it } from 'vitest';
import { random, reference } from './reference.js';

interface Call {
  x: Tensor;
  w: Tensor;
  b: Tensor | null;
  dy: Tensor;
  options: Conv2dOptions;
  wanted: Wanted;
}

const WANTED: Wanted[] = [{}, { dx: false }, { dw: false, db: false }, { db: false }];
const CALLS = 40;
/** Rounds of (40 forward, 40 backward): an early exit struck 12 of 12 runs with 3 or more. */
const ROUNDS = 5;

/**
 * Mixed shapes, most large enough (a few MFLOP) that the worker takes part in their jobs:
 * with only tiny jobs the calling thread finishes each one before a worker wakes, and no call
 * ever waits on a worker.
 */
const SHAPES: { x: number[]; w: number[]; options: Conv2dOptions }[] = [
  { x: [2, 16, 24, 20], w: [24, 16, 3, 3], options: { padding: 1 } },
  { x: [1, 16, 24, 24], w: [16, 16, 3, 3], options: { padding: 1 } },
  { x: [2, 8, 12, 12], w: [8, 8, 3, 3], options: {} },
  { x: [1, 64, 14, 14], w: [64, 64, 1, 1], options: { stride: 2 } },
  {
    x: [2, 16, 30, 28],
    w: [32, 8, 3, 3],
    options: { stride: 2, padding: [1, 0, 1, 0], dilation: [1, 2], groups: 2 },
  },
];

/** 40 calls cycling through the shapes, both layouts, with and without bias, several `wanted`. */
function makeCalls(): Call[] {
  return Array.from({ length: CALLS }, (_, i) => {
    const s = SHAPES[i % SHAPES.length];
    const layout = i % 3 === 2 ? 'NHWC' : 'NCHW';
    const [n, ci, h, wd] = s.x;
    const options = { ...s.options, layout } as const;
    const d = describeConv(layout === 'NCHW' ? s.x : [n, h, wd, ci], s.w, null, options);
    const seed = 1000 + 4 * i;
    const size = (shape: readonly number[]) => shape.reduce((a, b) => a * b, 1);
    const cout = s.w[0] as number;
    return {
      x: { shape: [...d.xShape], data: random(size(d.xShape), seed) },
      w: { shape: [...s.w], data: random(size(s.w), seed + 1) },
      b: i % 2 === 0 ? { shape: [cout], data: random(cout, seed + 2) } : null,
      dy: { shape: [...d.yShape], data: random(size(d.yShape), seed + 3) },
      options,
      wanted: WANTED[i % WANTED.length],
    };
  });
}

const encode = (t: Tensor | null) =>
  t && { shape: t.shape, data: Buffer.from(t.data.buffer).toString('base64') };
const decode = (s: string) => new Float32Array(new Uint8Array(Buffer.from(s, 'base64')).buffer);

function runChild(input: string): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const script = fileURLToPath(new URL('./overlap-child.mjs', import.meta.url));
  const file = join(mkdtempSync(join(tmpdir(), 'im2col-overlap-')), 'calls.json');
  writeFileSync(file, input);
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      [script, file, String(ROUNDS)],
      { timeout: 60_000, maxBuffer: 64 * 1024 * 1024 },
      (error, stdout, stderr) => {
        const code = error ? (typeof error.code === 'number' ? error.code : null) : 0;
        rmSync(dirname(file), { recursive: true, force: true });
        resolve({ code, stdout, stderr });
      },
    );
  });
}

describe('overlapping calls on a 2-thread pool', () => {
  it('settle before the process may exit: 40 forward, then 40 backward, all match the oracle', async () => {
    const calls = makeCalls();
    const input = JSON.stringify(
      calls.map((c) => ({
        ...c,
        x: encode(c.x),
        w: encode(c.w),
        b: encode(c.b),
        dy: encode(c.dy),
      })),
    );
    const { code, stdout, stderr } = await runChild(input);
    const lines = stdout
      .split('\n')
      .filter((l) => l.startsWith('{'))
      .map((l) => JSON.parse(l));
    // the counts first: an early exit prints the forward results only
    expect({ code, printed: lines.length, stderr }).toEqual({
      code: 0,
      printed: 2 * CALLS + 1,
      stderr: '',
    });
    expect(lines.at(-1)).toMatchObject({ done: CALLS, rounds: ROUNDS });
    const problems: string[] = [];
    for (const line of lines.slice(0, -1)) {
      const c = calls[line.i];
      const want = reference(c.x, c.w, c.b, c.dy, c.options);
      const bounds = await errorBounds(c.x, c.w, c.b, c.dy, c.options);
      const checks: [string, string | null, Float32Array, Float64Array, boolean | undefined][] =
        line.pass === 'forward'
          ? [['y', line.y, want.y, bounds.y, true]]
          : [
              ['dx', line.dx, want.dx, bounds.dx, c.wanted.dx],
              ['dw', line.dw, want.dw, bounds.dw, c.wanted.dw],
              ['db', line.db, want.db, bounds.db, c.wanted.db],
            ];
      for (const [what, got, expected, bound, wanted] of checks) {
        if ((wanted ?? true) !== (got !== null)) {
          problems.push(`call ${line.i}: ${what} ${got === null ? 'missing' : 'not asked for'}`);
        } else if (got !== null) {
          const m = compare(decode(got), expected, bound);
          if (m) problems.push(`call ${line.i}: ${describeMismatch(what, m)}`);
        }
      }
    }
    expect(problems).toEqual([]);
  });
});
