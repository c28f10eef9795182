import { describe, expect, it } from 'vitest';
import { parseBenchArgs } from '../src/args.js';

describe('parseBenchArgs', () => {
  it('defaults to a full run of every engine, no peers, no output', () => {
    expect(parseBenchArgs([])).toEqual({
      quick: false,
      peers: false,
      backends: [],
      layers: [],
      out: null,
      providers: [],
      browser: false,
      help: false,
    });
  });

  it('reads the DESIGN.md flags', () => {
    const a = parseBenchArgs([
      '--quick',
      '--peers',
      '--backends',
      'im2col, naive,',
      '--out',
      'docs/bench',
    ]);
    expect(a.quick).toBe(true);
    expect(a.peers).toBe(true);
    expect(a.backends).toEqual(['im2col', 'naive']);
    expect(a.out).toBe('docs/bench');
  });

  it('reads --layers and repeated --provider', () => {
    const a = parseBenchArgs(['--layers', 'A,c', '--provider', './a.js', '--provider', 'pkg']);
    expect(a.layers).toEqual(['A', 'c']);
    expect(a.providers).toEqual(['./a.js', 'pkg']);
  });

  it('rejects unknown flags, missing values and empty lists', () => {
    expect(() => parseBenchArgs(['--fast'])).toThrow();
    expect(() => parseBenchArgs(['--out'])).toThrow();
    expect(() => parseBenchArgs(['--backends', ','])).toThrow(/--backends/);
    expect(() => parseBenchArgs(['extra'])).toThrow();
  });
});
