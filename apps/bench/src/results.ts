import type { Mode, Pass } from './passes.js';

/**
 * - ok: checked, then timed;
 * - wrong: its result failed the check (not timed, not ranked);
 * - skipped: not run to the end, with the reason (too slow for the budget, too large);
 * - failed: it threw.
 * A pass an engine does not have has no row at all.
 */
export type Status = 'ok' | 'wrong' | 'skipped' | 'failed';

export interface Row {
  /** Letter first: `B 3x3 c64`. */
  layer: string;
  pass: Pass;
  /** A backend spec (`im2col:col2im`), a spec run with options (`im2col@t1`) or a peer. */
  engine: string;
  /** `call` (one-shot calls on plain arrays) or `plan` (prepared once; peers are always `plan`). */
  mode: Mode;
  peer: boolean;
  status: Status;
  /** Why it is not ok (the mismatch, the skip reason, the error). */
  reason?: string;
  /** Median of the timed repetitions; null unless status is ok. */
  medianMs: number | null;
  /** FLOPs / median time, core's count `2·N·Cout·Hout·Wout·(Cin/groups)·Kh·Kw`. */
  gflops: number | null;
  /** Peak resident memory of the process that ran this engine in this mode on this layer (all passes). */
  peakRssMiB: number | null;
  /** Median absolute deviation of the repetitions. */
  spreadMs?: number;
  minMs?: number;
  maxMs?: number;
  reps?: number;
  flops: number;
  /**
   * Best peer's median / this median: above 1 is faster than every peer on this layer and
   * pass. Rows of both modes are ratioed to the same peers, which run as their users run them.
   */
  vsBestPeer?: number;
  /** What the result was checked against: the whole layer or a slice of it. */
  checked?: string;
}

export interface Machine {
  cpu: string;
  cores: number;
  memoryGiB: number;
  node: string;
  v8: string;
  platform: string;
  /** The kernel `@conv2d/gemm` picked here (`gemmKernel()`): im2col's speed depends on it. */
  gemm: string;
  date: string;
  command: string;
  quick: boolean;
}

export interface EngineInfo {
  name: string;
  peer: boolean;
  /** The modes it is measured in. */
  modes: readonly Mode[];
  available: boolean;
  reason?: string;
}

export interface LayerInfo {
  name: string;
  shape: string;
  flops: number;
}

export interface Results {
  machine: Machine;
  /** How the numbers were taken (budget, repetitions, caps). */
  method: Record<string, unknown>;
  layers: LayerInfo[];
  engines: EngineInfo[];
  rows: Row[];
}

/** Sets `vsBestPeer` on every ok row of a (layer, pass) that a peer also ran. */
export function rankAgainstPeers(rows: Row[]): void {
  const best = new Map<string, number>();
  for (const r of rows) {
    if (!r.peer || r.status !== 'ok' || r.medianMs === null) continue;
    const key = `${r.layer}|${r.pass}`;
    best.set(key, Math.min(best.get(key) ?? Number.POSITIVE_INFINITY, r.medianMs));
  }
  for (const r of rows) {
    const b = best.get(`${r.layer}|${r.pass}`);
    if (b !== undefined && r.status === 'ok' && r.medianMs !== null) r.vsBestPeer = b / r.medianMs;
  }
}

/**
 * Rows of a results.json, those written before rows had a `mode` included: then our engines
 * ran one-shot calls and the peers ran as their users run them (`plan`).
 */
export function rowsWithModes(rows: readonly (Omit<Row, 'mode'> & { mode?: Mode })[]): Row[] {
  return rows.map((r) => ({ ...r, mode: r.mode ?? (r.peer ? 'plan' : 'call') }));
}
