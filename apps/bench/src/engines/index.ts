import { createConv2dAdapter } from './conv2d.js';
import { createOnnxAdapter } from './onnxruntime.js';
import { createTfjsAdapter } from './tfjs.js';
import type { EngineAdapter, EngineDef } from './types.js';

export type { EngineAdapter, EngineDef, PassInputs, PreparedPass } from './types.js';

/** Builds an engine in this process (a bench child, or a test). */
export function createAdapter(def: EngineDef): Promise<EngineAdapter> {
  switch (def.kind) {
    case 'conv2d':
      return createConv2dAdapter(def.spec, def.options, def.resident);
    case 'tfjs':
      return createTfjsAdapter(def.backend);
    case 'onnxruntime':
      return createOnnxAdapter(def.threads);
  }
}
