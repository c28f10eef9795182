export {
  backendProvider,
  createGpujsBackend,
  defaultKernels,
  defaultLanes,
  type GpujsBackend,
  type GpujsBackendOptions,
} from './backend.js';
export type { CallPhases, EngineStats, KernelFamily } from './engine.js';
export { bestMode, type GpujsMode, MODES, probeMode } from './modes.js';
