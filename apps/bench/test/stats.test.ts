import { describe, expect, it } from 'vitest';
import { DEFAULT_METHOD, plannedReps, QUICK_METHOD } from '../src/runner.js';
import { median, summarize } from '../src/stats.js';

describe('median and spread', () => {
  it('takes the middle value, or the mean of the two middle ones, whatever the order', () => {
    expect(median([5, 1, 3])).toBe(3);
    expect(median([4, 1, 3, 2])).toBe(2.5);
    expect(median([7])).toBe(7);
    expect(() => median([])).toThrow();
  });

  it('reports the median absolute deviation, min, max and the count', () => {
    // deviations from 11: 1, 2, 0, 1, 89 -> MAD 1; one outlier does not inflate it
    expect(summarize([10, 9, 11, 12, 100])).toEqual({
      medianMs: 11,
      spreadMs: 1,
      minMs: 9,
      maxMs: 100,
      reps: 5,
    });
    expect(summarize([3]).spreadMs).toBe(0);
  });
});

describe('repetitions per cell', () => {
  it('fills the budget between minReps and maxReps', () => {
    const m = { ...DEFAULT_METHOD, cellBudgetMs: 1000, minReps: 3, maxReps: 9 };
    expect(plannedReps(m, 1)).toBe(9);
    expect(plannedReps(m, 200)).toBe(5);
    expect(plannedReps(m, 900)).toBe(3);
    expect(plannedReps(m, 1000)).toBe(3);
    expect(plannedReps(QUICK_METHOD, 1)).toBe(QUICK_METHOD.maxReps);
  });
});
