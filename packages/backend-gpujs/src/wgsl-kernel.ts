import type { WgslProgram } from './wgsl-sources.js';

/**
 * Runs a hand-written WGSL shader inside a gpu.js 2.24.1 webgpu kernel.
 *
 * gpu.js assembles a kernel's shader in `assembleWGSL()`: its bindings (a `params` uniform, one
 * `user_<argument>` storage array per argument, `result`), then helpers and the translated
 * JavaScript. Everything up to its first helper is kept, so buffers, bind groups, pipeline
 * results, immutable outputs and reads stay gpu.js's; the rest is replaced by `program.body`.
 * gpu.js dispatches one thread per output element in 8x8 workgroups (`_computeDispatch`); a tiled
 * shader's threads each compute several elements, so the dispatch is the program's own.
 *
 * Pinned to gpu.js 2.24.1 (package.json): both methods are internal, so a kernel without them
 * is refused rather than run with gpu.js's own shader.
 */
export function hostWgsl(kernel: object, program: WgslProgram): void {
  const k = kernel as {
    assembleWGSL?: () => string;
    _computeDispatch?: (threadDim: number[]) => unknown;
    workgroupSize?: readonly number[];
  };
  const assemble = k.assembleWGSL?.bind(k);
  if (!assemble || typeof k._computeDispatch !== 'function') {
    throw new Error(
      'gpu.js has no assembleWGSL/_computeDispatch: a WGSL kernel needs gpu.js 2.24.1',
    );
  }
  k.assembleWGSL = () => {
    const generated = assemble();
    const end = generated.indexOf('var<private> threadGid');
    if (end < 0) throw new Error('unexpected gpu.js WGSL: no threadGid declaration');
    k.workgroupSize = program.workgroupSize;
    return `${generated.slice(0, end)}\n${program.body}`;
  };
  k._computeDispatch = () => ({ groups: [...program.groups], dispatchWidth: 0 });
}
