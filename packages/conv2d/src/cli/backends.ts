import { parseArgs } from 'node:util';
import {
  BACKEND_ENV_VAR,
  type Capabilities,
  createBackend,
  defaultCandidates,
  detectEnvironment,
  selectBackend,
} from '@conv2d/core';
import { probeAll } from './specs.js';

export interface BackendRow {
  spec: string;
  available: boolean;
  /** Why not available, or what the probe found. */
  reason?: string;
  /** Read from a created backend (null when it cannot be created here). */
  capabilities: Capabilities | null;
}

export interface BackendsReport {
  environment: string;
  rows: BackendRow[];
  candidates: string[];
  /** The spec `selectBackend` chooses here, or null when it fails. */
  selected: string | null;
  fromEnv: boolean;
  skipped: { spec: string; reason: string }[];
  /** Why selection failed (e.g. a CONV2D_BACKEND that cannot run). */
  error?: string;
}

function messageOf(e: unknown): string {
  return e instanceof Error ? e.message : String(e);
}

/** Probes every registered spec, reads capabilities from a real instance, and selects. */
export async function collectBackends(): Promise<BackendsReport> {
  const rows: BackendRow[] = [];
  for (const probe of await probeAll()) {
    const row: BackendRow = { ...probe, capabilities: null };
    if (probe.available) {
      try {
        const backend = await createBackend(probe.spec);
        row.capabilities = backend.capabilities;
        backend.dispose();
      } catch (e) {
        // a probe that passes while create fails is reported, not hidden
        row.available = false;
        row.reason = `probe passed but create failed: ${messageOf(e)}`;
      }
    }
    rows.push(row);
  }
  const environment = detectEnvironment();
  const report: BackendsReport = {
    environment,
    rows,
    candidates: defaultCandidates(environment).map((c) => c.spec),
    selected: null,
    fromEnv: false,
    skipped: [],
  };
  try {
    const selection = await selectBackend();
    selection.backend.dispose();
    report.selected = selection.spec;
    report.fromEnv = selection.fromEnv;
    report.skipped = [...selection.skipped];
  } catch (e) {
    report.error = messageOf(e);
  }
  return report;
}

function formatElements(n: number): string {
  if (n >= 2 ** 31 - 1) return '2^31-1';
  if (n >= 2 ** 20 && Number.isInteger(Math.log2(n))) return `2^${Math.log2(n)}`;
  return n.toLocaleString('en-US');
}

/** A plain-text table: columns padded to their widest cell. */
export function formatTable(header: string[], rows: string[][]): string {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (cells: string[]) =>
    cells
      .map((c, i) => (i === cells.length - 1 ? c : c.padEnd(widths[i] ?? 0)))
      .join('  ')
      .trimEnd();
  return [line(header), line(widths.map((w) => '-'.repeat(w))), ...rows.map(line)].join('\n');
}

export function formatReport(report: BackendsReport): string {
  const header = [
    'spec',
    'available',
    'layouts',
    'groups',
    'dilation',
    'max elements',
    'accum',
    'dX',
    'notes',
  ];
  const rows = report.rows.map((r) => {
    const c = r.capabilities;
    const mark = r.spec === report.selected ? ' *' : '';
    return [
      r.spec + mark,
      r.available ? 'yes' : 'no',
      c ? c.layouts.join(',') : '',
      c ? (c.groups ? 'yes' : 'no') : '',
      c ? (c.dilation ? 'yes' : 'no') : '',
      c ? formatElements(c.maxElements) : '',
      c ? c.accumulation : '',
      c ? c.dxMethods.join(',') : '',
      r.reason ?? '',
    ];
  });
  const lines = [formatTable(header, rows), ''];
  lines.push(`environment: ${report.environment}; default order: ${report.candidates.join(' > ')}`);
  if (report.selected) {
    const how = report.fromEnv ? ` (from ${BACKEND_ENV_VAR})` : '';
    lines.push(`selected here (*): ${report.selected}${how}`);
    for (const s of report.skipped) lines.push(`  skipped ${s.spec}: ${s.reason}`);
  } else {
    lines.push(`selection failed: ${report.error}`);
  }
  return lines.join('\n');
}

const USAGE = 'usage: conv2d backends [--json]';

/**
 * `backends [--json]`: every registered backend spec, whether it runs here and why not, its
 * capabilities, and which one `selectBackend` chooses. Exits 1 when selection fails.
 */
export async function backendsCommand(argv: string[]): Promise<number> {
  let json = false;
  try {
    ({
      values: { json = false },
    } = parseArgs({ args: argv, options: { json: { type: 'boolean' } }, strict: true }));
  } catch (e) {
    console.error(`${messageOf(e)}\n${USAGE}`);
    return 2;
  }
  const report = await collectBackends();
  console.log(json ? JSON.stringify(report, null, 2) : formatReport(report));
  return report.selected ? 0 : 1;
}
