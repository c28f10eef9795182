import { rmSync } from 'node:fs';
import { join } from 'node:path';
import {
  type BackendProvider,
  Conv2dError,
  registerBackend,
  unregisterBackend,
} from '@conv2d/core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { standardProviders } from '../src/index.js';
import { dumped, fixtureFolder, run } from './cli-run.js';

const naive = standardProviders.find((p) => p.name === 'naive') as BackendProvider;

// The oracle, but every plan it makes fails: a case run through a plan must notice.
const planless: BackendProvider = {
  ...naive,
  name: 'planless',
  description: 'naive without plans',
  create: async () => ({
    ...(await naive.create(null)),
    name: 'planless',
    plan: () =>
      Promise.reject(
        new Conv2dError('not-implemented', {
          argument: 'planless plan',
          value: 'not implemented',
          expected: 'a plan',
        }),
      ),
  }),
};

// valid cases in both layouts, an empty batch, and inputs invalid in three ways
const cases = [
  'seed-example.json',
  'nhwc-stride2-pad1.json',
  'batch0.json',
  'error-data-length-x.json',
  'error-bias-shape.json',
  'error-rank-w3d.json',
];
let root = '';
let fixtures = '';

beforeAll(() => {
  registerBackend(naive);
  registerBackend(planless);
  ({ root, fixtures } = fixtureFolder('conv2d-cli-', cases));
});
afterAll(() => {
  unregisterBackend('naive');
  unregisterBackend('planless');
  rmSync(root, { recursive: true, force: true });
});

describe('pnpm conformance --api plan', () => {
  it('runs every case through a plan with the output and dumps of the one-shot calls', async () => {
    const callDump = join(root, 'dump-call');
    const planDump = join(root, 'dump-plan');
    const call = await run('--backend', 'naive', '--fixtures', fixtures, '--dump', callDump);
    const plan = await run(
      '--backend',
      'naive',
      '--fixtures',
      fixtures,
      '--dump',
      planDump,
      '--api',
      'plan',
    );
    expect(call.code).toBe(0);
    expect(plan.code).toBe(0);
    // one line per case, in the same order; an invalid case's message is the plan's own
    const verdicts = (lines: string[]) => lines.map((line) => line.split(':')[0]);
    expect(verdicts(plan.lines)).toEqual(verdicts(call.lines));
    expect(plan.lines.at(-1)).toBe(`${cases.length} passed, 0 failed`);
    expect(plan.lines).toContain(
      "PASS naive error-bias-shape.json: rejected: [bias-shape] b.shape is [3]; expected [2] (the plan's bias shape)",
    );
    for (const file of cases) {
      // the naive plan runs the one-shot loops: the same numbers, bit for bit
      const planned = dumped(planDump, 'naive', file);
      const called = dumped(callDump, 'naive', file);
      if ('error' in called) expect(Object.keys(planned)).toEqual(['error']);
      else expect(planned).toEqual(called);
    }
    expect(dumped(planDump, 'naive', 'error-data-length-x.json').error).toMatch(
      /^\[data-length\] x\.data\.length is 74/,
    );
    expect(dumped(planDump, 'naive', 'seed-example.json').y.length).toBeGreaterThan(0);
  });

  it('fails every case of a backend whose plans fail, and dumps the error', async () => {
    const dump = join(root, 'dump-planless');
    const call = await run('--backend', 'planless', '--fixtures', fixtures);
    const plan = await run(
      '--backend',
      'planless',
      '--fixtures',
      fixtures,
      '--api',
      'plan',
      '--dump',
      dump,
    );
    expect(call.code).toBe(0);
    expect(plan.code).toBe(1);
    expect(plan.lines.at(-1)).toBe(`0 passed, ${cases.length} failed`);
    expect(plan.lines[0]).toMatch(/^FAIL planless batch0\.json: threw \[not-implemented\]/);
    expect(dumped(dump, 'planless', 'seed-example.json')).toEqual({
      error: '[not-implemented] planless plan is "not implemented"; expected a plan',
    });
  });

  it('rejects an unknown --api with the usage', async () => {
    const { code, lines } = await run(
      '--backend',
      'naive',
      '--fixtures',
      fixtures,
      '--api',
      'graph',
    );
    expect(code).toBe(2);
    expect(lines[0]).toMatch(/^--api is "graph"; expected call or plan\nusage: /);
  });
});
