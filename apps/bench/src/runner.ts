import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Conv2dBackend } from '@conv2d/core';
import { ChildHandle, TimeoutError } from './child-handle.js';
import { layerTensors } from './data.js';
import { type EngineEntry, modesOf } from './discover.js';
import type { Layer } from './layers.js';
import { describeLayer, gflops, type Mode, PASSES, type Pass, passFlops } from './passes.js';
import type { Reply } from './protocol.js';
import type { Row } from './results.js';
import { summarize } from './stats.js';
import {
  checkAgainst,
  computeReference,
  describeSlice,
  isWhole,
  planSlices,
  type Reference,
  type Slice,
} from './verify.js';

export interface Method {
  /** Time the timed repetitions of one cell may take (the warm-up runs not counted). */
  cellBudgetMs: number;
  maxReps: number;
  /** Repetitions at least, for a cell whose first run fits in the budget. */
  minReps: number;
  /** One run longer than this is stopped and the cell reported skipped. */
  runCapMs: number;
  /**
   * A fresh process per engine and layer (peak RSS per layer), or one per engine for the
   * whole run (start-up paid once; the RSS is then the peak so far).
   */
  processPerLayer: boolean;
  /** Largest naive reference computed for the check; bigger layers are checked on a slice. */
  maxReferenceFlops: number;
}

export const DEFAULT_METHOD: Method = {
  cellBudgetMs: 1000,
  maxReps: 9,
  minReps: 3,
  runCapMs: 8_000,
  processPerLayer: true,
  maxReferenceFlops: 6e7,
};

/**
 * `--browser`: SwiftShader takes 5-10 s for one pass of layer T (the target), so the
 * cap per run is 30 s; the rest as DEFAULT_METHOD.
 */
export const BROWSER_METHOD: Method = { ...DEFAULT_METHOD, runCapMs: 30_000 };

export const QUICK_METHOD: Method = {
  cellBudgetMs: 100,
  maxReps: 3,
  minReps: 1,
  runCapMs: 1_000,
  processPerLayer: false,
  maxReferenceFlops: 1e7,
};

/** A hung engine start-up or pass preparation must not stall the run: it is stopped. */
const SETUP_CAP_MS = 120_000;

export interface ProgressEvent {
  done: number;
  total: number;
  label: string;
  row?: Row;
}

export interface RunOptions {
  layers: readonly Layer[];
  engines: readonly EngineEntry[];
  method: Method;
  oracle: Conv2dBackend;
  /** Modules whose `backendProvider` each child registers too (`--provider`). */
  providers: readonly string[];
  onProgress?: (e: ProgressEvent) => void;
  /** The built child entry (dist/child.js); by default the one next to this module. */
  childScript?: string;
}

/** What a cell came to: a row without the fields every row of the layer and pass shares. */
type Outcome = Omit<Row, 'layer' | 'pass' | 'flops' | 'engine' | 'mode' | 'peer' | 'peakRssMiB'>;

/** One engine driven in one mode: its own child process, so its own peak RSS. */
interface Contestant {
  engine: EngineEntry;
  mode: Mode;
  /** `<engine>|<mode>`: keys its child, its absent passes, its RSS and its best rates. */
  key: string;
}

interface Cell {
  contestant: Contestant;
  child: ChildHandle;
  times: number[];
  planned: number;
}

class ReplyError extends Error {
  constructor(
    message: string,
    readonly code?: string,
  ) {
    super(message);
  }
}

function expectOk(r: Reply): Extract<Reply, { ok: true }> {
  if (!r.ok) throw new ReplyError(r.error, r.code);
  return r;
}

export function checkedLabel(l: Layer, slices: readonly Slice[]): string {
  if (slices.length === 1 && isWhole(l, slices[0] as Slice)) return 'naive, whole layer';
  return `naive on slices ${slices.map(describeSlice).join(' and ')}`;
}

/** Writes the layer's tensors once, for every child to read (see child.ts). */
function writeLayerData(l: Layer, dir: string): void {
  mkdirSync(dir, { recursive: true });
  const t = layerTensors(l, describeLayer(l).yShape);
  for (const [name, tensor] of Object.entries(t)) {
    writeFileSync(join(dir, `${name}.f32`), new Uint8Array(tensor.data.buffer));
  }
}

/**
 * Runs every engine, in each of its modes, on every layer and pass: each engine's mode and
 * layer in its own child process (peak RSS), each result checked before timing, warm-up,
 * then repetitions interleaved across engines and modes, a budget per cell and a cap per
 * run. Returns one row per cell; a pass an engine lacks gives no row.
 */
export async function runBench(o: RunOptions): Promise<Row[]> {
  const rows: Row[] = [];
  const contestants: Contestant[] = o.engines
    .filter((e) => e.available)
    .flatMap((engine) =>
      modesOf(engine.def).map((mode) => ({ engine, mode, key: `${engine.def.name}|${mode}` })),
    );
  const total = o.layers.length * PASSES.length * contestants.length;
  let done = 0;
  // best GFLOP/s seen per engine, mode and pass: predicts runs that would blow the cap
  const bestRate = new Map<string, number>();
  const dataRoot = mkdtempSync(join(tmpdir(), 'conv2d-bench-'));
  const tick = (label: string, row?: Row) => {
    done++;
    o.onProgress?.({ done, total, label, ...(row ? { row } : {}) });
  };
  const kept = new Map<string, ChildHandle>();
  const keptLayer = new Map<ChildHandle, number>();
  try {
    for (const [index, layer] of o.layers.entries()) {
      const dataDir = join(dataRoot, String(index));
      writeLayerData(layer, dataDir);
      const children = o.method.processPerLayer ? new Map<string, ChildHandle>() : kept;
      const absent = new Map<string, Partial<Record<Pass, string>>>();
      const initErrors = new Map<string, string>();
      const rss = new Map<string, number>();
      const layerRows: Row[] = [];
      const noteRss = (key: string, kib: number | undefined) => {
        if (kib !== undefined) rss.set(key, Math.max(rss.get(key) ?? 0, kib / 1024));
      };
      // a child per engine and mode; a killed one is replaced for the next pass
      const childFor = async (c: Contestant): Promise<ChildHandle> => {
        const existing = children.get(c.key);
        if (existing?.alive && keptLayer.get(existing) === index) return existing;
        const child = existing?.alive ? existing : new ChildHandle(o.childScript);
        children.set(c.key, child);
        keptLayer.set(child, index);
        const { def } = c.engine;
        const r = expectOk(
          await child.send(
            { op: 'init', def, mode: c.mode, layer, dataDir, providers: o.providers },
            SETUP_CAP_MS,
          ),
        );
        absent.set(c.key, r.absent ?? {});
        noteRss(c.key, r.maxRssKiB);
        return child;
      };
      await Promise.all(
        contestants.map((c) =>
          childFor(c).catch((err: Error) => initErrors.set(c.key, err.message)),
        ),
      );
      for (const pass of PASSES) {
        const flops = passFlops(layer, pass);
        const base = { layer: layer.name, pass, flops };
        const slices = planSlices(layer, pass, o.method.maxReferenceFlops);
        const refs: Reference[] = [];
        for (const s of slices) refs.push(await computeReference(o.oracle, layer, pass, s));
        const checked = checkedLabel(layer, slices);
        const cells: Cell[] = [];
        const labelOf = (c: Contestant) => `${layer.id} ${pass} ${c.engine.def.name} ${c.mode}`;
        const finish = (c: Contestant, row: Outcome) => {
          const full: Row = {
            ...base,
            engine: c.engine.def.name,
            mode: c.mode,
            peer: c.engine.def.peer,
            peakRssMiB: null,
            ...row,
          };
          layerRows.push(full);
          tick(labelOf(c), full);
        };
        const notRun = { medianMs: null, gflops: null };
        for (const e of contestants) {
          const rateKey = `${e.key}|${pass}`;
          const initError = initErrors.get(e.key);
          if (initError) {
            finish(e, { ...notRun, status: 'failed', reason: `could not start: ${initError}` });
            continue;
          }
          let child: ChildHandle;
          try {
            child = await childFor(e);
          } catch (err) {
            finish(e, {
              ...notRun,
              status: 'failed',
              reason: `could not start: ${(err as Error).message}`,
            });
            continue;
          }
          const why = absent.get(e.key)?.[pass];
          if (why) {
            tick(`${labelOf(e)} (absent: ${why})`);
            continue;
          }
          const rate = bestRate.get(rateKey);
          if (rate !== undefined) {
            const predicted = flops / (rate * 1e6);
            if (predicted > o.method.runCapMs * 1.5) {
              finish(e, {
                ...notRun,
                status: 'skipped',
                reason: `one run would take about ${(predicted / 1000).toFixed(0)} s at its best ${rate.toPrecision(2)} GFLOP/s on earlier layers (cap ${o.method.runCapMs / 1000} s)`,
              });
              continue;
            }
          }
          try {
            expectOk(await child.send({ op: 'prepare', pass }, SETUP_CAP_MS));
            // a plan is checked on its second run: reused buffers and a replaced saved state
            // are where a plan goes wrong when a one-shot call does not
            if (e.mode === 'plan') {
              expectOk(await child.send({ op: 'run', slices: [] }, o.method.runCapMs));
            }
            const first = expectOk(await child.send({ op: 'run', slices }, o.method.runCapMs));
            const got = first.slices ?? [];
            const mismatch =
              refs
                .map((ref, i) => {
                  const m = checkAgainst(ref, got[i] ?? new Float32Array(0), pass);
                  return m && refs.length > 1 ? `${describeSlice(ref.slice)}: ${m}` : m;
                })
                .find((m) => m !== null) ?? null;
            if (mismatch) {
              await child.send({ op: 'release' });
              finish(e, { ...notRun, status: 'wrong', reason: mismatch, checked });
              continue;
            }
            const ms0 = first.ms as number;
            bestRate.set(rateKey, Math.max(rate ?? 0, gflops(flops, ms0)));
            // a second warm-up where it is cheap: the first run also paid for allocation and JIT
            if (ms0 * 4 <= o.method.cellBudgetMs) {
              expectOk(await child.send({ op: 'run', slices: [] }, o.method.runCapMs));
            }
            // a run longer than the whole budget is timed once: its first run is the measure
            // (JIT and allocation are noise at that length)
            if (ms0 > o.method.cellBudgetMs)
              cells.push({ contestant: e, child, times: [ms0], planned: 0 });
            else
              cells.push({
                contestant: e,
                child,
                times: [],
                planned: plannedReps(o.method, ms0),
              });
          } catch (err) {
            if (err instanceof TimeoutError) {
              // slower than flops/cap: an upper bound on its rate, so bigger layers are predicted
              bestRate.set(rateKey, Math.max(rate ?? 0, gflops(flops, o.method.runCapMs)));
            }
            finish(e, failure(err));
            await child.send({ op: 'release' }).catch(() => undefined);
          }
        }
        // interleaved repetitions: A B C A B C ..., so drift hits every engine alike
        const rounds = Math.max(0, ...cells.map((c) => c.planned));
        const failed = new Map<Cell, Outcome>();
        for (let r = 0; r < rounds; r++) {
          for (const c of cells) {
            if (r >= c.planned || failed.has(c)) continue;
            try {
              const reply = expectOk(
                await c.child.send({ op: 'run', slices: [] }, o.method.runCapMs),
              );
              c.times.push(reply.ms as number);
            } catch (err) {
              failed.set(c, failure(err));
            }
          }
        }
        for (const c of cells) {
          await c.child.send({ op: 'release' }).catch(() => undefined);
          const f = failed.get(c);
          if (f) {
            finish(c.contestant, f);
            continue;
          }
          const s = summarize(c.times);
          const rateKey = `${c.contestant.key}|${pass}`;
          bestRate.set(rateKey, Math.max(bestRate.get(rateKey) ?? 0, gflops(flops, s.medianMs)));
          finish(c.contestant, { status: 'ok', ...s, gflops: gflops(flops, s.medianMs), checked });
        }
      }
      for (const [key, child] of children) {
        if (child.alive) {
          const r = await child.send({ op: 'rss' }).catch(() => null);
          if (r?.ok) noteRss(key, r.maxRssKiB);
        }
        if (o.method.processPerLayer) await child.close();
      }
      for (const row of layerRows) {
        const peak = rss.get(`${row.engine}|${row.mode}`);
        row.peakRssMiB = peak === undefined ? null : Math.round(peak);
      }
      rows.push(...layerRows);
      rmSync(dataDir, { recursive: true, force: true });
    }
  } finally {
    await Promise.all([...kept.values()].map((c) => c.close()));
    rmSync(dataRoot, { recursive: true, force: true });
  }
  return rows;
}

/** Repetitions that fit the cell's budget after a first run of `ms0` (<= the budget). */
export function plannedReps(m: Method, ms0: number): number {
  return Math.max(m.minReps, Math.min(m.maxReps, Math.floor(m.cellBudgetMs / ms0)));
}

function failure(err: unknown): Outcome {
  const notRun = { medianMs: null, gflops: null };
  if (err instanceof TimeoutError) {
    const what = err.op === 'run' ? 'one run' : err.op;
    return {
      ...notRun,
      status: 'skipped',
      reason: `${what} took more than the ${err.capMs / 1000} s cap (stopped)`,
    };
  }
  const e = err as ReplyError;
  // the engine's own refusal of a size or option it does not support is a skip, not a failure
  if (e.code === 'too-large' || e.code === 'unsupported') {
    return { ...notRun, status: 'skipped', reason: `${e.code}: ${e.message}` };
  }
  return { ...notRun, status: 'failed', reason: e.message ?? String(err) };
}
