import { parseArgs } from 'node:util';
import { DEFAULT_CONFIG } from './train.js';

export interface TrainArgs {
  backend: string;
  epochs: number;
  /** Worker threads for im2col; null: the backend's default. */
  threads: number | null;
  out: string | null;
  help: boolean;
}

export const USAGE =
  'usage: pnpm train [--backend <spec>] [--epochs N] [--threads N] [--out <dir>]';

function positiveInteger(flag: string, value: string | undefined, fallback: number): number {
  if (value === undefined) return fallback;
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1) {
    throw new Error(`${flag}: ${JSON.stringify(value)}, expected an integer >= 1`);
  }
  return n;
}

/** Parses the flags of issue 15; throws on anything else. */
export function parseTrainArgs(argv: readonly string[]): TrainArgs {
  const { values } = parseArgs({
    args: [...argv],
    options: {
      backend: { type: 'string', default: 'im2col' },
      epochs: { type: 'string' },
      threads: { type: 'string' },
      out: { type: 'string' },
      help: { type: 'boolean', short: 'h', default: false },
    },
    strict: true,
    allowPositionals: false,
  });
  if (values.out === '') throw new Error('--out needs a directory');
  return {
    backend: values.backend ?? 'im2col',
    epochs: positiveInteger('--epochs', values.epochs, DEFAULT_CONFIG.epochs),
    threads: values.threads === undefined ? null : positiveInteger('--threads', values.threads, 1),
    out: values.out ?? null,
    help: values.help ?? false,
  };
}
