import type * as Ort from 'onnxruntime-node';
import type { Layer } from '../layers.js';
import { describeLayer, type Pass } from '../passes.js';
import { encodeConvModel } from './onnx-model.js';
import type { EngineAdapter, PassInputs, PreparedPass } from './types.js';

/** onnxruntime-node (its CPU execution provider, MLAS): inference only, so forward only. */
export async function createOnnxAdapter(threads: number): Promise<EngineAdapter> {
  const ort: typeof Ort = await import('onnxruntime-node');
  const sessions: Ort.InferenceSession[] = [];
  return {
    absent: (_layer, pass) => (pass === 'forward' ? null : 'inference only (no gradients)'),
    async prepare(layer: Layer, pass: Pass, t: PassInputs): Promise<PreparedPass> {
      if (pass !== 'forward') throw new Error(`onnxruntime has no ${pass} pass`);
      const d = describeLayer(layer);
      const model = encodeConvModel({
        x: d.xShape,
        y: d.yShape,
        w: { shape: d.wShape, data: t.w.data },
        b: t.b.data,
        strides: [d.strideHeight, d.strideWidth],
        pads: [d.padTop, d.padLeft, d.padBottom, d.padRight],
        dilations: [d.dilationHeight, d.dilationWidth],
        group: d.groups,
      });
      const session = await ort.InferenceSession.create(model, {
        executionProviders: ['cpu'],
        intraOpNumThreads: threads,
        interOpNumThreads: 1,
        executionMode: 'sequential',
        graphOptimizationLevel: 'all',
        // Idle intra-op threads would otherwise spin and slow the next engine's turn.
        extra: { session: { intra_op: { allow_spinning: '0' } } },
      });
      sessions.push(session);
      const x = new ort.Tensor('float32', t.x.data, [...d.xShape]);
      let y: Float32Array = new Float32Array(0);
      return {
        async run() {
          const out = await session.run({ x });
          y = (out.y as Ort.Tensor).data as Float32Array;
        },
        result: () => y,
        release() {
          y = new Float32Array(0);
          void session.release();
          sessions.splice(sessions.indexOf(session), 1);
        },
      };
    },
    dispose() {
      for (const s of sessions) void s.release();
    },
  };
}
