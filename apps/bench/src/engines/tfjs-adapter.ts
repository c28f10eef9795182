import { transposeLayout } from '@conv2d/core';
import type * as TF from '@tensorflow/tfjs-core';
import type { Layer } from '../layers.js';
import { describeLayer, type Pass } from '../passes.js';
import { hwioToOihw, oihwToHwio } from './layout.js';
import { concat, type EngineAdapter, type PassInputs, type PreparedPass } from './types.js';

export type Tf = typeof TF;

/**
 * The kernels a TensorFlow.js user reaches through `tf.conv2d`, its gradients and
 * `tf.depthwiseConv2d`, called directly with `engine().runKernel` (tfjs-core's Node bundle
 * registers no gradient functions). A kernel the backend does not register is an absent pass.
 */
function kernelsFor(layer: Layer, pass: Pass): string[] {
  const depthwise = layer.groups > 1;
  if (pass === 'forward') return [depthwise ? 'FusedDepthwiseConv2D' : 'FusedConv2D'];
  if (pass === 'dx')
    return [depthwise ? 'DepthwiseConv2dNativeBackpropInput' : 'Conv2DBackpropInput'];
  return [depthwise ? 'DepthwiseConv2dNativeBackpropFilter' : 'Conv2DBackpropFilter', 'Sum'];
}

/**
 * tfjs on a backend already set (`tf.setBackend`), on resident tensors: inputs made once,
 * each run's outputs read back into JavaScript memory inside the timed region. `read: 'async'`
 * reads with `data()`, as a GPU backend (webgpu, webgl) must; cpu and wasm read with
 * `dataSync()`. Browser-safe: Node's loader is tfjs.ts, the browser bench's its page.
 */
export function tfjsAdapter(tf: Tf, backend: string, read: 'sync' | 'async'): EngineAdapter {
  const engine = tf.engine();
  return {
    absent(layer, pass) {
      if (layer.groups > 1 && layer.groups !== layer.inChannels) {
        return 'grouped convolution other than depthwise';
      }
      const missing = kernelsFor(layer, pass).filter((k) => !tf.getKernel(k, backend));
      return missing.length ? `kernel ${missing.join(', ')} not registered` : null;
    },
    async prepare(layer: Layer, pass: Pass, t: PassInputs): Promise<PreparedPass> {
      const d = describeLayer(layer);
      const depthwise = layer.groups > 1;
      const strides: [number, number] = [layer.stride, layer.stride];
      const common = {
        strides,
        pad: layer.padding,
        dilations: [1, 1] as [number, number],
        dataFormat: 'NHWC' as const,
      };
      // [Kh, Kw, Cin, Cout], or for depthwise [Kh, Kw, C, multiplier]: the same flat order as
      // HWIO of the OIHW [C*m, 1, Kh, Kw] weights.
      const filterShape: [number, number, number, number] = depthwise
        ? [layer.kernel, layer.kernel, layer.inChannels, layer.outChannels / layer.inChannels]
        : [layer.kernel, layer.kernel, layer.inChannels, layer.outChannels];
      const nhwc = (x: PassInputs['x']) => {
        const n = transposeLayout(x, 'NCHW', 'NHWC');
        return tf.tensor4d(n.data, n.shape as [number, number, number, number]);
      };
      const owned: TF.Tensor[] = [];
      const keep = <T extends TF.Tensor>(x: T) => {
        owned.push(x);
        return x;
      };
      let outputs: TF.Tensor[] = [];
      let values: Float32Array[] = [];
      let call: () => TF.Tensor[];
      if (pass === 'forward') {
        const x = keep(nhwc(t.x));
        const filter = keep(tf.tensor4d(oihwToHwio(t.w), filterShape));
        const bias = keep(tf.tensor1d(t.b.data));
        const name = kernelsFor(layer, pass)[0] as string;
        call = () => [
          engine.runKernel(
            name,
            { x, filter, bias },
            { ...common, activation: 'linear' },
          ) as TF.Tensor,
        ];
      } else if (pass === 'dx') {
        const dy = keep(nhwc(t.dy));
        const filter = keep(tf.tensor4d(oihwToHwio(t.w), filterShape));
        const inputShape = [layer.batch, layer.height, layer.width, layer.inChannels];
        const name = kernelsFor(layer, pass)[0] as string;
        call = () => [
          engine.runKernel(name, { dy, filter }, { ...common, inputShape }) as TF.Tensor,
        ];
      } else {
        const x = keep(nhwc(t.x));
        const dy = keep(nhwc(t.dy));
        const [name, sum] = kernelsFor(layer, pass) as [string, string];
        call = () => [
          engine.runKernel(name, { x, dy }, { ...common, filterShape }) as TF.Tensor,
          engine.runKernel(sum, { x: dy }, { axis: [0, 1, 2], keepDims: false }) as TF.Tensor,
        ];
      }
      const free = () => {
        for (const o of outputs) o.dispose();
        outputs = [];
      };
      return {
        async run() {
          free();
          outputs = call();
          // materialised in JavaScript memory, as the other engines return them
          values =
            read === 'sync'
              ? outputs.map((o) => o.dataSync() as Float32Array)
              : ((await Promise.all(outputs.map((o) => o.data()))) as Float32Array[]);
        },
        result() {
          const nchw = (shape: number[]) =>
            transposeLayout({ shape, data: values[0] as Float32Array }, 'NHWC', 'NCHW').data;
          if (pass === 'forward') return nchw([d.batch, d.outHeight, d.outWidth, d.outChannels]);
          if (pass === 'dx') return nchw([d.batch, d.inHeight, d.inWidth, d.inChannels]);
          return concat(hwioToOihw(values[0] as Float32Array, d.wShape), values[1] as Float32Array);
        },
        release() {
          free();
          for (const o of owned) o.dispose();
          values = [];
        },
      };
    },
    dispose() {
      tf.disposeVariables();
    },
  };
}
