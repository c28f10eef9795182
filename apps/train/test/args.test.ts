import { describe, expect, it } from 'vitest';
import { parseTrainArgs } from '../src/args.js';
import { DEFAULT_CONFIG } from '../src/train.js';

describe('pnpm train flags', () => {
  it('defaults to im2col and the default epochs', () => {
    expect(parseTrainArgs([])).toEqual({
      backend: 'im2col',
      epochs: DEFAULT_CONFIG.epochs,
      threads: null,
      out: null,
      help: false,
    });
  });

  it('reads every flag', () => {
    const args = parseTrainArgs([
      '--backend',
      'gpujs:webasm',
      '--epochs',
      '3',
      '--threads',
      '1',
      '--out',
      'o',
    ]);
    expect(args).toMatchObject({ backend: 'gpujs:webasm', epochs: 3, threads: 1, out: 'o' });
  });

  it('refuses what it does not know, and counts that are not positive integers', () => {
    expect(() => parseTrainArgs(['--epoch', '3'])).toThrow();
    expect(() => parseTrainArgs(['--epochs', '0'])).toThrow(
      '--epochs: "0", expected an integer >= 1',
    );
    expect(() => parseTrainArgs(['--threads', '1.5'])).toThrow('--threads');
    expect(() => parseTrainArgs(['--out', ''])).toThrow('--out needs a directory');
  });
});
