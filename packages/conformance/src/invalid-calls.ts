import type { Conv2dBackend, Conv2dErrorCode, Conv2dOptions, Tensor } from '@conv2d/core';

/** One call that must be rejected, the code it must carry and the argument its message names. */
export interface InvalidCall {
  title: string;
  code: Conv2dErrorCode;
  /** Text the message must contain (the argument's name). */
  names: string;
  call: (backend: Conv2dBackend) => Promise<unknown>;
}

const t = (shape: number[], length = shape.reduce((a, b) => a * b, 1)): Tensor => ({
  shape,
  data: new Float32Array(length),
});

const x = t([1, 2, 5, 5]);
const w = t([3, 2, 3, 3]);
const fwd = (xx: Tensor, ww: Tensor, b: Tensor | null, o?: Conv2dOptions) => (be: Conv2dBackend) =>
  be.forward(xx, ww, b, o);
const bwd = (dy: Tensor, o?: Conv2dOptions) => (be: Conv2dBackend) => be.backward(dy, x, w, o);
const bad = (o: unknown) => o as Conv2dOptions;

/** Invalid calls beyond the fixtures: every rule of core, through forward and backward. */
export const invalidCalls: InvalidCall[] = [
  { title: 'x of rank 3', code: 'rank', names: 'x.shape', call: fwd(t([2, 5, 5]), w, null) },
  { title: 'w of rank 5', code: 'rank', names: 'w.shape', call: fwd(x, t([3, 2, 3, 3, 1]), null) },
  {
    title: 'x data too short',
    code: 'data-length',
    names: 'x.data',
    call: fwd(t([1, 2, 5, 5], 49), w, null),
  },
  {
    title: 'w data too long',
    code: 'data-length',
    names: 'w.data',
    call: fwd(x, t([3, 2, 3, 3], 55), null),
  },
  {
    title: 'x data not a Float32Array',
    code: 'invalid-tensor',
    names: 'x.data',
    call: fwd(
      { shape: [1, 2, 5, 5], data: new Array(50).fill(0) as unknown as Float32Array },
      w,
      null,
    ),
  },
  {
    title: 'x missing',
    code: 'invalid-tensor',
    names: 'x',
    call: fwd(null as unknown as Tensor, w, null),
  },
  {
    title: 'channel mismatch',
    code: 'channel-mismatch',
    names: 'w.shape[1]',
    call: fwd(x, t([3, 1, 3, 3]), null),
  },
  {
    title: 'groups not dividing Cin',
    code: 'groups-not-dividing',
    names: 'options.groups',
    call: fwd(t([1, 3, 5, 5]), t([3, 1, 3, 3]), null, { groups: 2 }),
  },
  {
    title: 'groups not dividing Cout',
    code: 'groups-not-dividing',
    names: 'options.groups',
    call: fwd(x, t([3, 1, 3, 3]), null, { groups: 2 }),
  },
  {
    title: 'kernel taller than padded input',
    code: 'kernel-larger-than-padded-input',
    names: 'w.shape[2]',
    call: fwd(x, t([3, 2, 6, 3]), null),
  },
  {
    title: 'dilated kernel wider than padded input',
    code: 'kernel-larger-than-padded-input',
    names: 'w.shape[3]',
    call: fwd(x, w, null, { dilation: [1, 3] }),
  },
  {
    title: 'stride 0',
    code: 'non-positive-stride',
    names: 'options.stride',
    call: fwd(x, w, null, { stride: 0 }),
  },
  {
    title: 'stride [1, -2]',
    code: 'non-positive-stride',
    names: 'options.stride[1]',
    call: fwd(x, w, null, { stride: [1, -2] }),
  },
  {
    title: 'negative padding',
    code: 'negative-padding',
    names: 'options.padding[2]',
    call: fwd(x, w, null, { padding: [0, 0, -1, 0] }),
  },
  {
    title: 'dilation 0',
    code: 'non-positive-dilation',
    names: 'options.dilation',
    call: fwd(x, w, null, { dilation: 0 }),
  },
  {
    title: 'groups 0',
    code: 'non-positive-groups',
    names: 'options.groups',
    call: fwd(x, w, null, { groups: 0 }),
  },
  {
    title: 'stride 1.5',
    code: 'non-integer-param',
    names: 'options.stride',
    call: fwd(x, w, null, { stride: 1.5 }),
  },
  {
    title: 'padding NaN',
    code: 'non-integer-param',
    names: 'options.padding',
    call: fwd(x, w, null, { padding: Number.NaN }),
  },
  {
    title: 'shape entry 2.5',
    code: 'non-integer-param',
    names: 'x.shape[2]',
    call: fwd(t([1, 2, 2.5, 5], 25), w, null),
  },
  {
    title: 'unknown layout',
    code: 'invalid-option',
    names: 'options.layout',
    call: fwd(x, w, null, bad({ layout: 'NCWH' })),
  },
  {
    title: "padding 'full'",
    code: 'invalid-option',
    names: 'options.padding',
    call: fwd(x, w, null, bad({ padding: 'full' })),
  },
  {
    title: 'unknown option',
    code: 'invalid-option',
    names: 'options.strides',
    call: fwd(x, w, null, bad({ strides: 2 })),
  },
  {
    title: 'stride as a string',
    code: 'invalid-option',
    names: 'options.stride',
    call: fwd(x, w, null, bad({ stride: '2' })),
  },
  {
    title: 'bias of the wrong length',
    code: 'bias-shape',
    names: 'b.shape',
    call: fwd(x, w, t([2])),
  },
  { title: 'bias of rank 2', code: 'rank', names: 'b.shape', call: fwd(x, w, t([1, 3])) },
  {
    title: 'zero-height input',
    code: 'empty-tensor',
    names: 'x.shape[2]',
    call: fwd(t([1, 2, 0, 5]), t([3, 2, 1, 1]), null),
  },
  {
    title: 'zero output channels',
    code: 'empty-tensor',
    names: 'w.shape[0]',
    call: fwd(x, t([0, 2, 3, 3]), null),
  },
  {
    title: 'an input too large to index',
    code: 'too-large',
    names: 'x.shape',
    call: fwd(t([1, 1, 70000, 70000], 0), t([1, 1, 1, 1]), null),
  },
  {
    title: 'dy of the wrong shape',
    code: 'grad-shape',
    names: 'dy.shape',
    call: bwd(t([1, 3, 4, 3])),
  },
  { title: 'dy of rank 3', code: 'rank', names: 'dy.shape', call: bwd(t([3, 3, 3])) },
  {
    title: 'backward with stride 0',
    code: 'non-positive-stride',
    names: 'options.stride',
    call: bwd(t([1, 3, 3, 3]), { stride: 0 }),
  },
];
