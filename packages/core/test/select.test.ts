import { afterEach, describe, expect, it } from 'vitest';
import {
  type BackendProvider,
  type Capabilities,
  type Conv2dBackend,
  defaultCandidates,
  defineBackend,
  detectEnvironment,
  fail,
  listBackends,
  missingCapabilities,
  registerBackend,
  selectBackend,
  unregisterBackend,
} from '../src/index.js';

const fullCaps: Capabilities = {
  layouts: ['NCHW', 'NHWC'],
  groups: true,
  dilation: true,
  maxElements: 1e9,
  accumulation: 'float32',
  dxMethods: ['col2im', 'transposed'],
};

interface FakeLog {
  probed: string[];
  created: string[];
  disposed: string[];
}

/** A provider whose variants are available or not as told; records what selection did. */
function fakeProvider(
  name: string,
  log: FakeLog,
  setup: {
    unavailable?: Record<string, string>;
    caps?: Partial<Capabilities>;
    probeThrows?: boolean;
    createThrows?: boolean;
    variants?: string[];
  } = {},
): BackendProvider {
  const specOf = (v: string | null) => (v ? `${name}:${v}` : name);
  return {
    name,
    variants: setup.variants ?? ['fast', 'slow'],
    description: `fake ${name}`,
    options: ['threads', 'for'],
    async probe(variant) {
      log.probed.push(specOf(variant));
      if (setup.probeThrows) throw new Error('driver exploded');
      const reason = setup.unavailable?.[specOf(variant)];
      return reason ? { available: false, reason } : { available: true };
    },
    async create(variant, options) {
      const spec = specOf(variant);
      log.created.push(spec + (options ? ` ${JSON.stringify(options)}` : ''));
      if (setup.createThrows) fail('unavailable', 'backend', spec, 'a context (lost)');
      const backend: Conv2dBackend = defineBackend(
        spec,
        { ...fullCaps, ...setup.caps },
        {
          forward: (desc) => new Float32Array(desc.ySize),
          backward: () => ({}),
          dispose: () => log.disposed.push(spec),
        },
      );
      return backend;
    },
  };
}

const newLog = (): FakeLog => ({ probed: [], created: [], disposed: [] });
const registered: string[] = [];
function register(...providers: BackendProvider[]) {
  for (const p of providers) {
    registerBackend(p);
    registered.push(p.name);
  }
}

afterEach(() => {
  for (const name of registered.splice(0)) unregisterBackend(name);
  expect(listBackends()).toEqual([]);
});

describe('selectBackend', () => {
  it('takes the highest-priority candidate that probes available', async () => {
    const log = newLog();
    register(
      fakeProvider('gpu', log, { unavailable: { 'gpu:fast': 'no adapter' } }),
      fakeProvider('cpu', log),
    );
    const s = await selectBackend({
      env: {},
      candidates: [
        { spec: 'cpu', priority: 10 },
        { spec: 'gpu:fast', priority: 30 },
        { spec: 'cpu:slow', priority: 10 },
      ],
    });
    expect(s.spec).toBe('cpu');
    expect(s.backend.name).toBe('cpu');
    expect(s.fromEnv).toBe(false);
    expect(s.skipped).toEqual([{ spec: 'gpu:fast', reason: 'no adapter' }]);
    // the lower candidates are never probed or created
    expect(log.probed).toEqual(['gpu:fast', 'cpu']);
    expect(log.created).toEqual(['cpu']);
  });

  it('keeps the list order among equal (or missing) priorities', async () => {
    const log = newLog();
    register(fakeProvider('a', log), fakeProvider('b', log));
    const s = await selectBackend({ env: {}, candidates: [{ spec: 'b' }, { spec: 'a' }] });
    expect(s.spec).toBe('b');
  });

  it('skips unregistered providers, unknown variants, throwing probes and failed creates', async () => {
    const log = newLog();
    register(
      fakeProvider('flaky', log, { probeThrows: true }),
      fakeProvider('lost', log, { createThrows: true }),
      fakeProvider('ok', log),
    );
    const s = await selectBackend({
      env: {},
      candidates: [
        { spec: 'absent', priority: 5 },
        { spec: 'ok:webgl', priority: 4 },
        { spec: 'flaky', priority: 3 },
        { spec: 'lost', priority: 2 },
        { spec: 'ok:slow', priority: 1 },
      ],
    });
    expect(s.spec).toBe('ok:slow');
    const reasons = Object.fromEntries(s.skipped.map((k) => [k.spec, k.reason]));
    expect(Object.keys(reasons)).toEqual(['absent', 'ok:webgl', 'flaky', 'lost']);
    expect(reasons.absent).toBe('absent is not registered (registered: flaky, lost, ok)');
    expect(reasons['ok:webgl']).toMatch(/no such variant; ok offers ok, ok:fast, ok:slow/);
    expect(reasons.flaky).toBe('probe threw: driver exploded');
    expect(reasons.lost).toMatch(/^create failed: \[unavailable\] backend is "lost"/);
  });

  it('skips a backend lacking a required capability, disposing it, and says which', async () => {
    const log = newLog();
    register(
      fakeProvider('small', log, { caps: { maxElements: 1000, groups: false } }),
      fakeProvider('nchw', log, { caps: { layouts: ['NCHW'] } }),
      fakeProvider('full', log),
    );
    const s = await selectBackend({
      env: {},
      candidates: [{ spec: 'small' }, { spec: 'nchw' }, { spec: 'full' }],
      require: { layout: 'NHWC', groups: true, maxElements: 5000 },
    });
    expect(s.spec).toBe('full');
    expect(s.skipped).toEqual([
      {
        spec: 'small',
        reason:
          'lacks required capabilities: no grouped convolution; at most 1000 elements per tensor (5000 needed)',
      },
      { spec: 'nchw', reason: 'lacks required capabilities: no NHWC layout' },
    ]);
    expect(log.disposed).toEqual(['small', 'nchw']);
  });

  it('passes createOptions, per spec when given a function', async () => {
    const log = newLog();
    register(fakeProvider('cpu', log));
    await selectBackend({ env: {}, candidates: [{ spec: 'cpu' }], createOptions: { threads: 2 } });
    await selectBackend({
      env: {},
      candidates: [{ spec: 'cpu:fast' }],
      createOptions: (spec) => ({ for: spec }),
    });
    expect(log.created).toEqual(['cpu {"threads":2}', 'cpu:fast {"for":"cpu:fast"}']);
  });

  it('fails with every reason when nothing runs', async () => {
    const log = newLog();
    register(fakeProvider('gpu', log, { unavailable: { gpu: 'no adapter' } }));
    const error = await selectBackend({
      env: {},
      candidates: [{ spec: 'gpu' }, { spec: 'im2col' }],
    }).catch((e) => e);
    expect(error).toMatchObject({ code: 'unavailable', argument: 'backend candidates' });
    expect(error.message).toContain('gpu: no adapter');
    expect(error.message).toContain('im2col: im2col is not registered (registered: gpu)');
  });

  describe('CONV2D_BACKEND', () => {
    it('overrides the candidates', async () => {
      const log = newLog();
      register(fakeProvider('gpu', log), fakeProvider('cpu', log));
      const s = await selectBackend({
        env: { CONV2D_BACKEND: ' cpu:slow ' },
        candidates: [{ spec: 'gpu', priority: 9 }],
      });
      expect(s).toMatchObject({ spec: 'cpu:slow', fromEnv: true, skipped: [] });
      expect(s.backend.name).toBe('cpu:slow');
      expect(log.probed).toEqual(['cpu:slow']);
    });

    it('is an error with the reason when it cannot run, never a fallback', async () => {
      const log = newLog();
      register(
        fakeProvider('gpu', log, { unavailable: { 'gpu:fast': 'no WebGPU adapter' } }),
        fakeProvider('cpu', log),
      );
      const error = await selectBackend({
        env: { CONV2D_BACKEND: 'gpu:fast' },
        candidates: [{ spec: 'cpu' }],
      }).catch((e) => e);
      expect(error).toMatchObject({ code: 'unavailable', argument: 'CONV2D_BACKEND' });
      expect(error.message).toBe(
        '[unavailable] CONV2D_BACKEND is "gpu:fast"; expected a backend that runs here: no WebGPU adapter',
      );
      expect(log.created).toEqual([]);
    });

    it('is an error when the override lacks a required capability', async () => {
      register(fakeProvider('cpu', newLog(), { caps: { dilation: false } }));
      await expect(
        selectBackend({ env: { CONV2D_BACKEND: 'cpu' }, require: { dilation: true } }),
      ).rejects.toThrow(/CONV2D_BACKEND is "cpu".*lacks required capabilities: no dilation/);
    });

    it('rejects an unknown name or a malformed spec with their own codes', async () => {
      register(fakeProvider('cpu', newLog()));
      await expect(selectBackend({ env: { CONV2D_BACKEND: 'cuda' } })).rejects.toMatchObject({
        code: 'unknown-backend',
        message:
          '[unknown-backend] CONV2D_BACKEND is "cuda"; expected one of: cpu, cpu:fast, cpu:slow',
      });
      await expect(selectBackend({ env: { CONV2D_BACKEND: 'CPU::x' } })).rejects.toMatchObject({
        code: 'invalid-option',
        argument: 'CONV2D_BACKEND',
      });
      // an unknown variant is unknown-backend here as in createBackend (it was 'unavailable')
      await expect(selectBackend({ env: { CONV2D_BACKEND: 'cpu:webgl' } })).rejects.toMatchObject({
        code: 'unknown-backend',
        message:
          '[unknown-backend] CONV2D_BACKEND is "cpu:webgl"; expected one of: cpu, cpu:fast, cpu:slow',
      });
    });

    it('reads specs case-insensitively, as createBackend does', async () => {
      register(fakeProvider('cpu', newLog()));
      const s = await selectBackend({ env: { CONV2D_BACKEND: 'CPU:Fast' } });
      expect(s).toMatchObject({ spec: 'cpu:fast', fromEnv: true });
      expect(s.backend.name).toBe('cpu:fast');
    });

    it('is ignored when empty', async () => {
      register(fakeProvider('cpu', newLog()));
      const s = await selectBackend({ env: { CONV2D_BACKEND: '' }, candidates: [{ spec: 'cpu' }] });
      expect(s.fromEnv).toBe(false);
    });

    it('is read from process.env by default', async () => {
      register(fakeProvider('cpu', newLog()), fakeProvider('gpu', newLog()));
      const before = process.env.CONV2D_BACKEND;
      process.env.CONV2D_BACKEND = 'gpu';
      try {
        const s = await selectBackend({ candidates: [{ spec: 'cpu' }] });
        expect(s.spec).toBe('gpu');
      } finally {
        if (before === undefined) delete process.env.CONV2D_BACKEND;
        else process.env.CONV2D_BACKEND = before;
      }
    });
  });
});

describe('defaultCandidates', () => {
  it('prefers WebGPU, then im2col, then naive in Node', () => {
    expect(detectEnvironment()).toBe('node');
    expect(defaultCandidates().map((c) => c.spec)).toEqual(['gpujs:webgpu', 'im2col', 'naive']);
  });

  it('prefers WebGPU, then gpu.js WebGL2 and WebGL, then im2col, then naive in a browser', () => {
    expect(defaultCandidates('browser').map((c) => c.spec)).toEqual([
      'gpujs:webgpu',
      'gpujs:webgl2',
      'gpujs:webgl',
      'im2col',
      'naive',
    ]);
  });

  it('falls through the defaults by registry contents and probes', async () => {
    const log = newLog();
    register(
      fakeProvider('gpujs', log, {
        variants: ['webgpu', 'cpu'],
        unavailable: { 'gpujs:webgpu': 'no adapter' },
      }),
      fakeProvider('naive', log, { variants: [] }),
    );
    const s = await selectBackend({ env: {}, candidates: defaultCandidates('node') });
    expect(s.spec).toBe('naive');
    expect(s.skipped.map((k) => k.spec)).toEqual(['gpujs:webgpu', 'im2col']);
    expect(s.skipped[0]?.reason).toBe('no adapter');
  });
});

describe('missingCapabilities', () => {
  it('is empty when every requirement is met', () => {
    expect(
      missingCapabilities(fullCaps, {
        layout: ['NCHW', 'NHWC'],
        groups: true,
        dilation: true,
        maxElements: 1e9,
        dxMethod: 'transposed',
      }),
    ).toEqual([]);
  });

  it('names each requirement not met', () => {
    const caps: Capabilities = {
      ...fullCaps,
      layouts: ['NHWC'],
      dilation: false,
      dxMethods: ['direct'],
    };
    expect(
      missingCapabilities(caps, { layout: 'NCHW', dilation: true, dxMethod: 'col2im' }),
    ).toEqual(['no NCHW layout', 'no dilation', 'no col2im dX (has direct)']);
  });
});
