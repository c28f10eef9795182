import { createNaiveBackend } from '@conv2d/backend-naive';
import { type Conv2dBackend, fail } from '@conv2d/core';
import { describe, expect, it } from 'vitest';
import { disposeInFlight, inputsChangedInPlace, LONG_RUN_LEAST, longRun } from '../src/stress.js';

// The stress checks must be able to fail: each meets a backend broken the way it looks for.

const tick = () => new Promise((resolve) => setTimeout(resolve, 0));

/** The oracle, but reading its inputs only after a tick (as a queueing engine would). */
function readsLate(): Conv2dBackend {
  const naive = createNaiveBackend();
  return {
    ...naive,
    forward: async (...args) => {
      await tick();
      return naive.forward(...args);
    },
    backward: async (...args) => {
      await tick();
      return naive.backward(...args);
    },
  };
}

/**
 * The oracle, keeping one result-sized copy of every call (forward and backward alike): the
 * leak the long run's limit is set against (it allows half of that).
 */
function leaking(): Conv2dBackend {
  const naive = createNaiveBackend();
  const kept: Float32Array[] = [];
  return {
    ...naive,
    forward: async (...args) => {
      const y = await naive.forward(...args);
      kept.push(y.data.slice());
      return y;
    },
    backward: async (dy, ...rest) => {
      kept.push(dy.data.slice());
      return naive.backward(dy, ...rest);
    },
  };
}

/** Calls wait on a timer; dispose forgets those in flight (they never settle), later calls run. */
function forgetful(): Conv2dBackend {
  const naive = createNaiveBackend();
  let generation = 0;
  const later = <T>(work: () => Promise<T>) => {
    const started = generation;
    return new Promise<T>((resolve) => {
      setTimeout(() => (started === generation ? resolve(work()) : undefined), 5);
    });
  };
  return {
    ...naive,
    forward: (...args) => later(() => naive.forward(...args)),
    backward: (...args) => later(() => naive.backward(...args)),
    dispose: () => {
      generation++;
    },
  };
}

describe('the stress checks fail on broken backends', () => {
  it('a backend reading its inputs after the call returned', async () => {
    const check = await inputsChangedInPlace(readsLate(), 8);
    expect(check.problems.length).toBeGreaterThan(0);
    expect(check.problems.join('\n')).toMatch(/NaN/);
    expect((await inputsChangedInPlace(createNaiveBackend(), 8)).problems).toEqual([]);
  });

  it('a backend keeping every result', async () => {
    const check = await longRun(leaking(), LONG_RUN_LEAST, null);
    expect(check.problems.join('\n')).toMatch(/RSS grew by/);
  }, 60_000);

  it('a dispose that leaves calls pending, and calls after dispose that still run', async () => {
    const check = await disposeInFlight(forgetful, 6, 500);
    const found = check.problems.join('\n');
    expect(found).toMatch(/still pending after 500 ms/);
    expect(found).toMatch(/after dispose gave a result/);
  });

  it('a rejection that is not a Conv2dError disposed', async () => {
    const naive = createNaiveBackend();
    const wrongCode = (): Conv2dBackend => ({
      ...naive,
      forward: () => Promise.reject(new Error('engine gone')),
      backward: async () => fail('unavailable', 'backend', 'test', 'a backend that is still there'),
    });
    const check = await disposeInFlight(wrongCode, 6, 500);
    expect(check.problems.join('\n')).toMatch(/engine gone, not a Conv2dError 'disposed'/);
  });
});
