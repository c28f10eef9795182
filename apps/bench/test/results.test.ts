import { fileURLToPath } from 'node:url';
import { createBackend } from '@conv2d/core';
import { describe, expect, it } from 'vitest';
import { PEERS, registryEngines, selectEngines } from '../src/discover.js';
import { PASSES } from '../src/passes.js';
import { registerProviders } from '../src/providers.js';
import { consoleTable, markdown } from '../src/report.js';
import { type Results, type Row, rankAgainstPeers } from '../src/results.js';
import { QUICK_METHOD, runBench } from '../src/runner.js';
import { depthwiseLayer, tinyLayer } from './helpers.js';

const childScript = fileURLToPath(new URL('../dist/child.js', import.meta.url));

const row = (over: Partial<Row>): Row => ({
  layer: 'B 3x3 c64',
  pass: 'forward',
  engine: 'x',
  mode: 'call',
  peer: false,
  status: 'ok',
  medianMs: 1,
  gflops: 1,
  peakRssMiB: 50,
  flops: 1e6,
  ...over,
});

describe('engine selection', () => {
  it('takes every registry spec, and the peers only with --peers', async () => {
    const registry = await registryEngines();
    expect(registry.map((e) => e.def.name)).toContain('naive');
    expect(selectEngines(registry, [], false).some((e) => e.def.peer)).toBe(false);
    expect(selectEngines(registry, [], true).filter((e) => e.def.peer).length).toBe(PEERS.length);
  });

  it('filters by exact name or prefix*, peers included when named, unknown names rejected', async () => {
    const registry = await registryEngines();
    expect(selectEngines(registry, ['naive', 'tfjs-wasm'], false).map((e) => e.def.name)).toEqual([
      'naive',
      'tfjs-wasm',
    ]);
    expect(selectEngines(registry, ['onnx*'], false).map((e) => e.def.name)).toEqual([
      'onnxruntime@t1',
      'onnxruntime',
    ]);
    expect(() => selectEngines(registry, ['nope'], false)).toThrow(/no engine nope/);
  });
});

describe('a bench run (tiny layers, child processes)', () => {
  it.each([true, false])(
    'checks and times every cell; absent passes have no row (process per layer: %s)',
    async (processPerLayer) => {
      await registerProviders([]);
      const oracle = await createBackend('naive');
      const engines = selectEngines(
        await registryEngines(),
        ['naive', 'onnxruntime@t1', 'tfjs-wasm'],
        false,
      );
      const layers = [tinyLayer(), depthwiseLayer()];
      const events: number[] = [];
      const rows = await runBench({
        layers,
        engines,
        method: { ...QUICK_METHOD, processPerLayer, maxReferenceFlops: 500 }, // checks on slices
        oracle,
        providers: [],
        childScript,
        onProgress: (e) => events.push(e.done),
      });
      rankAgainstPeers(rows);
      const cells = rows.map(
        (r) =>
          `${r.layer.split(' ')[0]}${r.layer.includes('depth') ? 'd' : ''} ${r.pass} ${r.engine}`,
      );
      // onnxruntime has forward only; tfjs-wasm has no dw, and no depthwise dx
      expect(
        cells.filter((c) => c.includes('onnxruntime')).every((c) => c.includes('forward')),
      ).toBe(true);
      expect(
        rows.filter((r) => r.engine === 'tfjs-wasm').map((r) => `${r.layer}|${r.pass}`),
      ).toEqual(['T tiny|forward', 'T tiny|dx', 'T depthwise|forward']);
      // ours in both modes, every pass; peers as their users run them (plan) only
      const naive = rows.filter((r) => r.engine === 'naive');
      for (const mode of ['call', 'plan'] as const) {
        expect(naive.filter((r) => r.mode === mode).map((r) => `${r.layer}|${r.pass}`)).toEqual(
          layers.flatMap((l) => PASSES.map((p) => `${l.name}|${p}`)),
        );
      }
      expect(rows.filter((r) => r.peer).every((r) => r.mode === 'plan')).toBe(true);
      // one row per cell: no engine, mode, layer and pass twice
      const keys = rows.map((r) => `${r.engine}|${r.mode}|${r.layer}|${r.pass}`);
      expect(new Set(keys).size).toBe(rows.length);
      for (const r of rows) {
        expect(r.status, `${r.engine} ${r.layer} ${r.pass}: ${r.reason}`).toBe('ok');
        expect(r.medianMs).toBeGreaterThan(0);
        expect(r.gflops).toBeCloseTo(r.flops / ((r.medianMs as number) * 1e6), 6);
        expect(r.peakRssMiB).toBeGreaterThan(10);
        expect(r.checked).toMatch(/slices n\d+-\d+ .* and n/);
        expect(r.peer).toBe(r.engine !== 'naive');
      }
      // ranked against the best peer of the same layer and pass
      const fwd = rows.filter((r) => r.layer === 'T tiny' && r.pass === 'forward');
      const best = Math.min(...fwd.filter((r) => r.peer).map((r) => r.medianMs as number));
      for (const r of fwd) expect(r.vsBestPeer).toBeCloseTo(best / (r.medianMs as number), 9);
      // naive counts twice (call and plan), each peer once
      expect(events.at(-1)).toBe(layers.length * 3 * (engines.length + 1));
      oracle.dispose();
    },
    60_000,
  );

  it('reports an engine outside the bounds as wrong (a --provider module), and a throw as failed', async () => {
    const provider = fileURLToPath(new URL('./fixtures/off-by-one-backend.js', import.meta.url));
    await registerProviders([provider]);
    const oracle = await createBackend('naive');
    const engines = selectEngines(await registryEngines([provider]), ['off-by-one'], false);
    const rows = await runBench({
      layers: [tinyLayer({ batch: 4 })],
      engines,
      method: { ...QUICK_METHOD, maxReferenceFlops: 300 }, // head and tail slices
      oracle,
      providers: [provider],
      childScript,
    });
    for (const mode of ['call', 'plan'] as const) {
      const byPass = Object.fromEntries(
        rows.filter((r) => r.mode === mode).map((r) => [r.pass, r]),
      );
      expect(byPass.forward).toMatchObject({ status: 'wrong', medianMs: null, gflops: null });
      expect(byPass.forward.reason).toMatch(/^n3-3 .*: y\[\d+\] = /);
      expect(byPass.dx).toMatchObject({ status: 'failed', reason: 'no backward' });
    }
    oracle.dispose();
  });

  it('checks a plan on a repeated call: one that accumulates into its out buffers is wrong', async () => {
    const provider = fileURLToPath(
      new URL('./fixtures/accumulating-plan-backend.js', import.meta.url),
    );
    await registerProviders([provider]);
    const oracle = await createBackend('naive');
    const engines = selectEngines(await registryEngines([provider]), ['accumulating-plan'], false);
    const rows = await runBench({
      layers: [tinyLayer()],
      engines,
      method: QUICK_METHOD,
      oracle,
      providers: [provider],
      childScript,
    });
    expect(rows).toHaveLength(6);
    for (const r of rows) {
      if (r.mode === 'call') expect(r.status, `${r.pass}: ${r.reason}`).toBe('ok');
      else {
        expect(r.status, r.pass).toBe('wrong');
        expect(r.medianMs).toBeNull();
      }
    }
    oracle.dispose();
  });

  it('reports a too-slow engine as skipped with the reason, not as a time', async () => {
    await registerProviders([]);
    const oracle = await createBackend('naive');
    const engines = selectEngines(await registryEngines(), ['naive'], false);
    const big = tinyLayer({
      batch: 4,
      inChannels: 64,
      outChannels: 64,
      height: 64,
      width: 64,
      stride: 1,
    });
    const rows = await runBench({
      layers: [big],
      engines,
      method: { ...QUICK_METHOD, runCapMs: 5, maxReferenceFlops: 1e5 },
      oracle,
      providers: [],
      childScript,
    });
    expect(rows).toHaveLength(6); // both modes
    for (const r of rows) {
      expect(r.status, r.reason).toBe('skipped');
      expect(r.reason).toMatch(/cap/);
      expect(r.medianMs).toBeNull();
      expect(r.gflops).toBeNull();
    }
    oracle.dispose();
  }, 60_000);
});

describe('outputs', () => {
  const rows: Row[] = [
    row({ engine: 'im2col', medianMs: 2, gflops: 50 }),
    row({ engine: 'tfjs-wasm', mode: 'plan', peer: true, medianMs: 4, gflops: 25 }),
    row({ engine: 'naive', status: 'skipped', reason: 'slow', medianMs: null, gflops: null }),
    row({ pass: 'dw', engine: 'im2col', medianMs: 3, gflops: 33 }),
    row({ engine: 'im2col', mode: 'plan', medianMs: 0.5, gflops: 200 }),
  ];
  rankAgainstPeers(rows);

  it('ranks both modes against the best peer of the row only where a peer ran', () => {
    expect(rows[0].vsBestPeer).toBe(2);
    expect(rows[1].vsBestPeer).toBe(1);
    expect(rows[2].vsBestPeer).toBeUndefined();
    expect(rows[3].vsBestPeer).toBeUndefined();
    expect(rows[4].vsBestPeer).toBe(8);
  });

  it('results.json keeps null for skipped cells and survives JSON', () => {
    const r = JSON.parse(JSON.stringify({ rows })) as Pick<Results, 'rows'>;
    const skipped = r.rows.find((x) => x.status === 'skipped');
    expect(skipped).toMatchObject({ medianMs: null, gflops: null, reason: 'slow' });
    for (const x of r.rows) {
      expect(Object.keys(x)).toEqual(
        expect.arrayContaining([
          'layer',
          'pass',
          'engine',
          'mode',
          'medianMs',
          'gflops',
          'peakRssMiB',
        ]),
      );
    }
  });

  it('tables list every row, fastest first, with the status', () => {
    const table = consoleTable(rows);
    const full = table.slice(table.indexOf('median ms'));
    expect(full.split('\n').filter((l) => l.startsWith('B 3x3 c64'))).toHaveLength(5);
    expect(full).toMatch(/im2col +plan .*\n.*im2col +call .*\n.*tfjs-wasm +plan/);
    expect(table).toContain('skipped: slow');
    const md = markdown({
      machine: {
        cpu: 'cpu',
        cores: 2,
        memoryGiB: 1,
        node: '20',
        v8: '',
        platform: 'linux',
        gemm: 'wasm-relaxed-simd',
        date: 'd',
        command: 'pnpm bench',
        quick: false,
      },
      method: {},
      layers: [{ name: 'B 3x3 c64', shape: 's', flops: 1 }],
      engines: [
        {
          name: 'gpujs:webgpu',
          peer: false,
          modes: ['call', 'plan'],
          available: false,
          reason: 'no adapter',
        },
      ],
      rows,
    });
    expect(md).toContain('| B 3x3 c64 | forward | im2col | call | 2.00 |');
    expect(md).toContain('| B 3x3 c64 | forward | im2col | plan | 0.500 |');
    // call vs plan: both medians, the plan's gain, each mode against the best peer
    expect(md).toContain('| B 3x3 c64 | forward | im2col | 2.00 | 0.500 | 4.00x | 2.00x | 8.00x |');
    expect(md).toContain('| B 3x3 c64 | dw | im2col | 3.00 |  |  |  |  |');
    expect(md).not.toMatch(/\| forward \| (tfjs-wasm|naive) \| [\d.]+ \| [\d.]+ \|/);
    expect(md).toContain('gpujs:webgpu: no adapter');
  });
});
