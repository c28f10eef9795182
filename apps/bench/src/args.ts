import { parseArgs } from 'node:util';

export interface BenchArgs {
  quick: boolean;
  peers: boolean;
  /** Engine names or `prefix*`; empty: all. */
  backends: string[];
  /** Layer letters; empty: all. */
  layers: string[];
  out: string | null;
  /** Extra modules whose backendProvider is registered (`--provider`, repeatable). */
  providers: string[];
  /** Run in headless Chromium (our GPU modes and im2col beside tfjs webgpu/webgl/wasm). */
  browser: boolean;
  help: boolean;
}

export const USAGE =
  'usage: pnpm bench [--quick] [--backends a,b] [--peers] [--out <dir>] [--layers A,B] [--provider <module>]... [--browser]';

const list = (v: string | undefined): string[] =>
  v
    ? v
        .split(',')
        .map((s) => s.trim())
        .filter((s) => s.length > 0)
    : [];

/** Parses the DESIGN.md flags (plus `--layers`); throws on anything else. */
export function parseBenchArgs(argv: readonly string[]): BenchArgs {
  const { values } = parseArgs({
    args: [...argv],
    options: {
      quick: { type: 'boolean', default: false },
      peers: { type: 'boolean', default: false },
      backends: { type: 'string' },
      layers: { type: 'string' },
      out: { type: 'string' },
      provider: { type: 'string', multiple: true },
      browser: { type: 'boolean', default: false },
      help: { type: 'boolean', short: 'h', default: false },
    },
    strict: true,
    allowPositionals: false,
  });
  if (values.out === '') throw new Error('--out needs a directory');
  if (values.backends !== undefined && list(values.backends).length === 0) {
    throw new Error('--backends needs a comma-separated list of engine names');
  }
  return {
    quick: values.quick ?? false,
    peers: values.peers ?? false,
    backends: list(values.backends),
    layers: list(values.layers),
    out: values.out ?? null,
    providers: values.provider ?? [],
    browser: values.browser ?? false,
    help: values.help ?? false,
  };
}
