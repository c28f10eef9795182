import { describe, expect, it } from 'vitest';
import { layerTensors } from '../src/data.js';
import { type EngineEntry, modesOf, PEERS, registryEngines } from '../src/discover.js';
import { createAdapter } from '../src/engines/index.js';
import { encodeConvModel } from '../src/engines/onnx-model.js';
import type { EngineDef } from '../src/engines/types.js';
import { describeLayer, PASSES } from '../src/passes.js';
import { registerProviders } from '../src/providers.js';
import { depthwiseLayer, expectClose, oracleResult, tinyLayer } from './helpers.js';

const layers = [tinyLayer(), depthwiseLayer(), tinyLayer({ name: 'T 1x1', kernel: 1, padding: 0 })];

async function runAll(
  def: EngineDef,
  expectedAbsent: (l: (typeof layers)[number], p: string) => boolean,
) {
  await registerProviders([]);
  const adapter = await createAdapter(def);
  try {
    for (const l of layers) {
      const inputs = layerTensors(l, describeLayer(l).yShape);
      for (const p of PASSES) {
        const absent = adapter.absent(l, p);
        expect(absent !== null, `${def.name} ${l.name} ${p} absent: ${absent}`).toBe(
          expectedAbsent(l, p),
        );
        if (absent) continue;
        for (const mode of modesOf(def)) {
          const prepared = await adapter.prepare(l, p, inputs, mode);
          await prepared.run();
          // a second run replaces the first result (a plan reuses its buffers and saved state)
          await prepared.run();
          expectClose(prepared.result(), await oracleResult(l, p));
          prepared.release();
        }
      }
    }
  } finally {
    adapter.dispose();
  }
}

describe('engine adapters against the naive oracle', () => {
  it('conv2d registry backend (naive): one-shot calls and a plan with out buffers', async () => {
    expect(modesOf({ name: 'naive', kind: 'conv2d', spec: 'naive', peer: false })).toEqual([
      'call',
      'plan',
    ]);
    await runAll({ name: 'naive', kind: 'conv2d', spec: 'naive', peer: false }, () => false);
  });

  it('conv2d registry backend, resident plan: device tensors in, read back out', async () => {
    await runAll(
      { name: 'naive', kind: 'conv2d', spec: 'naive', peer: false, resident: true },
      () => false,
    );
  });

  it('gpujs specs run their plans resident; gpujs:cpu against the oracle', async () => {
    const gpujs = (await registryEngines()).filter((e) => e.def.name.startsWith('gpujs'));
    expect(gpujs.length).toBeGreaterThan(0);
    for (const e of gpujs) expect(e.def, e.def.name).toMatchObject({ resident: true });
    const cpu = gpujs.find((e) => e.def.name === 'gpujs:cpu');
    expect(cpu?.available).toBe(true);
    await runAll((cpu as EngineEntry).def, () => false);
  });

  it('peers run as their users run them: plan only', () => {
    for (const def of PEERS) expect(modesOf(def), def.name).toEqual(['plan']);
  });

  it('tfjs-cpu: every pass, depthwise included', async () => {
    await runAll({ name: 'tfjs-cpu', kind: 'tfjs', backend: 'cpu', peer: true }, () => false);
  });

  it('tfjs-wasm: no filter-gradient kernels, reported absent', async () => {
    await runAll(
      { name: 'tfjs-wasm', kind: 'tfjs', backend: 'wasm', peer: true },
      (l, p) => p === 'dw' || (p === 'dx' && l.groups > 1),
    );
  });

  it('onnxruntime: forward only, from the hand-encoded model, 1 and 2 threads', async () => {
    for (const threads of [1, 2]) {
      await runAll(
        { name: 'onnxruntime', kind: 'onnxruntime', threads, peer: true },
        (_l, p) => p !== 'forward',
      );
    }
  });
});

describe('ONNX encoder', () => {
  it('writes a ModelProto starting with ir_version 8 and the Conv node', () => {
    const bytes = encodeConvModel({
      x: [1, 1, 3, 3],
      y: [1, 1, 3, 3],
      w: { shape: [1, 1, 1, 1], data: new Float32Array([2]) },
      b: null,
      strides: [1, 1],
      pads: [0, 0, 0, 0],
      dilations: [1, 1],
      group: 1,
    });
    expect([...bytes.slice(0, 2)]).toEqual([0x08, 8]); // field 1 varint, value 8
    const text = new TextDecoder('latin1').decode(bytes);
    expect(text).toContain('Conv');
    expect(text).toContain('kernel_shape');
    expect(text).not.toContain('\u0000b\u0000'); // no bias input without a bias
  });
});
