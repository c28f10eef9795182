import type { EngineDef } from './engines/types.js';
import type { Layer } from './layers.js';
import type { Mode, Pass } from './passes.js';
import type { Slice } from './slice.js';

/**
 * Parent -> child. One child runs one engine in one mode on one layer (or, with --quick, on
 * each layer in turn: `init` again), one command at a time.
 */
export type Command =
  | {
      op: 'init';
      def: EngineDef;
      mode: Mode;
      layer: Layer;
      dataDir: string;
      providers: readonly string[];
    }
  | { op: 'prepare'; pass: Pass }
  | { op: 'run'; slices: readonly Slice[] }
  | { op: 'release' }
  | { op: 'rss' };

/** Child -> parent. */
export type Reply =
  | {
      ok: true;
      absent?: Partial<Record<Pass, string>>;
      ms?: number;
      slices?: Float32Array[];
      maxRssKiB?: number;
    }
  | { ok: false; error: string; code?: string };
