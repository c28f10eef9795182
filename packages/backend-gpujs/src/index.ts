export {
  backendProvider,
  createGpujsBackend,
  defaultLanes,
  type GpujsBackend,
  type GpujsBackendOptions,
} from './backend.js';
export type { CallPhases, EngineStats } from './engine.js';
export { bestMode, type GpujsMode, MODES, probeMode } from './modes.js';
