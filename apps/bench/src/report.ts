import type { Results, Row } from './results.js';

const fmt = (v: number | null | undefined, digits = 3): string =>
  v === null || v === undefined ? '' : v >= 100 ? v.toFixed(0) : v.toPrecision(digits);

function statusCell(r: Row): string {
  return r.status === 'ok' ? 'ok' : `${r.status}: ${r.reason ?? ''}`;
}

const HEADER = [
  'layer',
  'pass',
  'engine',
  'median ms',
  '± ms',
  'GFLOP/s',
  'vs best peer',
  'peak RSS MiB',
  'status',
];

/** Table rows, grouped by layer and pass, fastest first; not-ok rows after the ok ones. */
export function tableRows(rows: readonly Row[]): string[][] {
  const order = new Map<string, number>();
  for (const r of rows)
    if (!order.has(`${r.layer}|${r.pass}`)) order.set(`${r.layer}|${r.pass}`, order.size);
  const sorted = [...rows].sort(
    (a, b) =>
      (order.get(`${a.layer}|${a.pass}`) ?? 0) - (order.get(`${b.layer}|${b.pass}`) ?? 0) ||
      (a.medianMs ?? Number.POSITIVE_INFINITY) - (b.medianMs ?? Number.POSITIVE_INFINITY),
  );
  return sorted.map((r) => [
    r.layer,
    r.pass,
    r.engine,
    fmt(r.medianMs),
    (r.reps ?? 0) > 1 ? fmt(r.spreadMs, 2) : '',
    fmt(r.gflops),
    r.vsBestPeer === undefined ? '' : `${r.vsBestPeer.toFixed(2)}x`,
    r.peakRssMiB === null ? '' : String(r.peakRssMiB),
    statusCell(r),
  ]);
}

/** A plain-text table for the console, status reasons cut to `reasonWidth`. */
export function consoleTable(rows: readonly Row[], reasonWidth = 60): string {
  const body = tableRows(rows).map((r) => {
    const s = r[8] as string;
    return [...r.slice(0, 8), s.length > reasonWidth ? `${s.slice(0, reasonWidth - 1)}…` : s];
  });
  const all = [HEADER, ...body];
  const widths = HEADER.map((_, i) => Math.max(...all.map((r) => (r[i] as string).length)));
  const numeric = new Set([3, 4, 5, 6, 7]);
  const line = (r: string[]) =>
    r
      .map((c, i) => (numeric.has(i) ? c.padStart(widths[i]) : c.padEnd(widths[i])))
      .join('  ')
      .trimEnd();
  let previous = '';
  const out = [line(HEADER), widths.map((w) => '-'.repeat(w)).join('  ')];
  for (const r of body) {
    const group = `${r[0]}|${r[1]}`;
    if (previous && group !== previous) out.push('');
    previous = group;
    out.push(line(r));
  }
  return out.join('\n');
}

const escapeMd = (s: string) => s.replaceAll('|', '\\|');

/** results.md: the machine, the method and the full table. */
export function markdown(results: Results): string {
  const m = results.machine;
  const lines = [
    '# conv2d bench',
    '',
    `${m.date}, ${m.cpu} (${m.cores} cores, ${m.memoryGiB} GiB), Node ${m.node}, ${m.platform}, GEMM kernel ${m.gemm}.`,
    `Command: \`${m.command}\`${m.quick ? ' (quick: scaled-down layers, few repetitions; not for comparison)' : ''}.`,
    '',
    'Median of interleaved repetitions after warm-up; GFLOP/s = 2·N·Cout·Hout·Wout·(Cin/groups)·Kh·Kw / time;',
    '"vs best peer" = the fastest peer\'s median / this median. `dw` is the weight and bias gradients',
    'together. A pass an engine does not have has no row.',
    '',
    '| Layer | Shape | GFLOP per pass |',
    '|---|---|---:|',
    ...results.layers.map((l) => `| ${l.name} | ${l.shape} | ${(l.flops / 1e9).toFixed(3)} |`),
    '',
  ];
  const unavailable = results.engines.filter((e) => !e.available);
  if (unavailable.length) {
    lines.push('Unavailable here:', '');
    for (const e of unavailable) lines.push(`- ${e.name}: ${escapeMd(e.reason ?? '')}`);
    lines.push('');
  }
  lines.push(
    `| ${HEADER.join(' | ')} |`,
    `|${HEADER.map((_, i) => (i >= 3 && i <= 7 ? '---:' : '---')).join('|')}|`,
  );
  for (const r of tableRows(results.rows)) lines.push(`| ${r.map(escapeMd).join(' | ')} |`);
  return `${lines.join('\n')}\n`;
}
