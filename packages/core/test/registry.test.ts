import { afterEach, describe, expect, it, vi } from 'vitest';
import {
  type BackendProvider,
  Conv2dError,
  createBackend,
  defineBackend,
  lazyBackendProvider,
  listBackends,
  registerBackend,
  resolveThreads,
  tensor,
  unregisterBackend,
} from '../src/index.js';
import { testCaps } from './caps.js';

/** A provider that records the options each create got. */
function recording(name: string, options?: readonly string[]) {
  const created: unknown[] = [];
  const provider: BackendProvider = {
    name,
    variants: ['fast'],
    description: name,
    options,
    probe: async () => ({ available: true }),
    create: async (variant, given) => {
      created.push(given);
      return defineBackend(variant ? `${name}:${variant}` : name, testCaps(), {
        forward: (d) => new Float32Array(d.ySize),
        backward: () => ({}),
      });
    },
  };
  return { provider, created };
}

afterEach(() => {
  for (const p of listBackends()) unregisterBackend(p.name);
});

describe('createBackend', () => {
  it('rejects options the provider does not declare, and any option when it declares none', async () => {
    const plain = recording('plain');
    const tuned = recording('tuned', ['threads']);
    registerBackend(plain.provider);
    registerBackend(tuned.provider);
    await expect(createBackend('plain', { threads: 2 })).rejects.toMatchObject({
      code: 'invalid-option',
      message: '[invalid-option] options.threads is 2; expected no options: plain takes none',
    });
    await expect(createBackend('tuned', { thread: 2 })).rejects.toMatchObject({
      code: 'invalid-option',
      argument: 'options.thread',
    });
    await createBackend('tuned', { threads: 2 });
    await createBackend('plain');
    expect(plain.created).toEqual([undefined]);
    expect(tuned.created).toEqual([{ threads: 2 }]);
  });

  it('reads specs case-insensitively and calls an unknown variant unknown-backend', async () => {
    registerBackend(recording('plain').provider);
    expect((await createBackend(' PLAIN:Fast ')).name).toBe('plain:fast');
    await expect(createBackend('plain:slow')).rejects.toMatchObject({
      code: 'unknown-backend',
      message: '[unknown-backend] backend is "plain:slow"; expected one of: plain, plain:fast',
    });
  });
});

describe('lazyBackendProvider', () => {
  const info = {
    name: 'later',
    variants: ['fast'],
    description: 'loaded on demand',
    options: ['threads'],
    packageName: '@someone/later',
  };

  it('loads the engine only when probed or created, once', async () => {
    const engine = recording('later', ['threads']);
    const load = vi.fn(async () => engine.provider);
    registerBackend(lazyBackendProvider({ ...info, load }));
    expect(load).not.toHaveBeenCalled();
    expect(listBackends().map((p) => [p.name, p.variants, p.options])).toEqual([
      ['later', ['fast'], ['threads']],
    ]);
    await expect(createBackend('later', { thread: 1 })).rejects.toMatchObject({
      code: 'invalid-option',
    });
    expect(load).not.toHaveBeenCalled(); // options are checked on the description
    expect((await createBackend('later:fast', { threads: 3 })).name).toBe('later:fast');
    expect(await listBackends()[0]?.probe(null)).toEqual({ available: true });
    expect(load).toHaveBeenCalledTimes(1);
    expect(engine.created).toEqual([{ threads: 3 }]);
  });

  it('says how to install an engine that is not installed', async () => {
    const missing = Object.assign(new Error("Cannot find package '@someone/later' imported"), {
      code: 'ERR_MODULE_NOT_FOUND',
    });
    const provider = lazyBackendProvider({ ...info, load: () => Promise.reject(missing) });
    registerBackend(provider);
    expect(await provider.probe(null)).toEqual({
      available: false,
      reason: 'not installed: npm i @someone/later',
    });
    await expect(createBackend('later:fast')).rejects.toMatchObject({
      code: 'unavailable',
      message:
        '[unavailable] backend is "later:fast"; expected an engine that loads here (not installed: npm i @someone/later)',
    });
  });

  it('tells a missing module inside the engine from the engine itself missing', async () => {
    const inner = Object.assign(new Error("Cannot find module 'gl'"), { code: 'MODULE_NOT_FOUND' });
    const provider = lazyBackendProvider({ ...info, load: () => Promise.reject(inner) });
    expect(await provider.probe(null)).toEqual({
      available: false,
      reason: "@someone/later did not load: Cannot find module 'gl'",
    });
  });
});

describe('resolveThreads', () => {
  const node = { default: 8, max: Number.POSITIVE_INFINITY, why: '' };
  const browser = { default: 4, max: 1, why: 'this runtime has no worker threads' };

  it('gives the default when none is asked, capped by what runs here', () => {
    expect(resolveThreads(undefined, node)).toBe(8);
    expect(resolveThreads(undefined, browser)).toBe(1);
  });

  it('runs exactly what was asked, or says why it cannot', () => {
    expect(resolveThreads(3, node)).toBe(3);
    expect(resolveThreads(1, browser)).toBe(1);
    expect(() => resolveThreads(4, browser)).toThrow(
      '[unavailable] options.threads is 4; expected at most 1 here: this runtime has no worker threads',
    );
    for (const bad of [0, 1.5, '2', null]) {
      expect(() => resolveThreads(bad, node)).toThrow(/\[invalid-option\] options.threads/);
    }
  });
});

describe('tensor', () => {
  it('rejects a negative or fractional size as a Conv2dError naming it', () => {
    expect(() => tensor([1, -9, 1, 1])).toThrow(
      '[non-integer-param] shape[1] is -9; expected a non-negative integer size',
    );
    expect(() => tensor([3, 4.5], new Float32Array(13))).toThrow(
      '[non-integer-param] shape[1] is 4.5; expected a non-negative integer size',
    );
    expect(() => tensor([2 ** 31, 1])).toThrow(/\[too-large\] shape\[0\]/);
    expect(() => tensor([1 << 16, 1 << 16])).toThrow(/\[too-large\] shape is \[65536, 65536\]/);
    expect(() => tensor('2x2' as never)).toThrow(/\[invalid-tensor\] shape is "2x2"/);
  });
});

describe('two copies of core (an ESM and a CJS build in one process)', () => {
  it('share one registry and one Conv2dError', async () => {
    vi.resetModules();
    const copy = await import('../src/index.js');
    expect(copy.registerBackend).not.toBe(registerBackend); // really another module instance
    copy.registerBackend(recording('elsewhere').provider);
    expect(listBackends().map((p) => p.name)).toEqual(['elsewhere']);
    const fromCopy = await createBackend('elsewhere:nope').catch((e: unknown) => e);
    const theirs = await copy.createBackend('nope').catch((e: unknown) => e);
    for (const e of [fromCopy, theirs]) {
      expect(e).toBeInstanceOf(Conv2dError);
      expect(e).toBeInstanceOf(copy.Conv2dError);
    }
    expect(new Error('plain')).not.toBeInstanceOf(copy.Conv2dError);
    class Narrower extends Conv2dError {}
    expect(theirs).not.toBeInstanceOf(Narrower);
  });
});
