import type { Results, Row } from './results.js';

const fmt = (v: number | null | undefined, digits = 3): string =>
  v === null || v === undefined ? '' : v >= 100 ? v.toFixed(0) : v.toPrecision(digits);

const ratio = (v: number | undefined): string => (v === undefined ? '' : `${v.toFixed(2)}x`);

function statusCell(r: Row): string {
  return r.status === 'ok' ? 'ok' : `${r.status}: ${r.reason ?? ''}`;
}

/** A table: its header, its rows of cells, and which columns are numbers (right-aligned). */
interface Table {
  header: readonly string[];
  body: string[][];
  numeric: ReadonlySet<number>;
}

const HEADER = [
  'layer',
  'pass',
  'engine',
  'mode',
  'median ms',
  '± ms',
  'GFLOP/s',
  'vs best peer',
  'peak RSS MiB',
  'status',
];
const STATUS = HEADER.length - 1;

/** The (layer, pass) groups in order of first appearance. */
function groupOrder(rows: readonly Row[]): Map<string, number> {
  const order = new Map<string, number>();
  for (const r of rows) {
    const key = `${r.layer}|${r.pass}`;
    if (!order.has(key)) order.set(key, order.size);
  }
  return order;
}

/** Table rows, grouped by layer and pass, fastest first; not-ok rows after the ok ones. */
export function tableRows(rows: readonly Row[]): string[][] {
  const order = groupOrder(rows);
  const sorted = [...rows].sort(
    (a, b) =>
      (order.get(`${a.layer}|${a.pass}`) ?? 0) - (order.get(`${b.layer}|${b.pass}`) ?? 0) ||
      (a.medianMs ?? Number.POSITIVE_INFINITY) - (b.medianMs ?? Number.POSITIVE_INFINITY),
  );
  return sorted.map((r) => [
    r.layer,
    r.pass,
    r.engine,
    r.mode,
    fmt(r.medianMs),
    (r.reps ?? 0) > 1 ? fmt(r.spreadMs, 2) : '',
    fmt(r.gflops),
    ratio(r.vsBestPeer),
    r.peakRssMiB === null ? '' : String(r.peakRssMiB),
    statusCell(r),
  ]);
}

const MODES_HEADER = [
  'layer',
  'pass',
  'engine',
  'call ms',
  'plan ms',
  'call / plan',
  'call vs best peer',
  'plan vs best peer',
];

/**
 * One line per layer, pass and engine of ours: its `call` and `plan` medians side by side,
 * how much the plan saves (call / plan: above 1, the plan is faster), and each mode's ratio
 * to the best peer. Engines without an ok row in either mode are left out.
 */
export function modeRows(rows: readonly Row[]): string[][] {
  const order = groupOrder(rows);
  const lines = new Map<string, { call?: Row; plan?: Row }>();
  for (const r of rows) {
    if (r.peer || r.status !== 'ok') continue;
    const key = `${r.layer}|${r.pass}|${r.engine}`;
    lines.set(key, { ...lines.get(key), [r.mode]: r });
  }
  const fastest = (m: { call?: Row; plan?: Row }) =>
    Math.min(m.call?.medianMs ?? Number.POSITIVE_INFINITY, m.plan?.medianMs ?? Infinity);
  const group = (m: { call?: Row; plan?: Row }) => {
    const r = (m.call ?? m.plan) as Row;
    return order.get(`${r.layer}|${r.pass}`) ?? 0;
  };
  return [...lines.values()]
    .sort((a, b) => group(a) - group(b) || fastest(a) - fastest(b))
    .map((m) => {
      const r = (m.call ?? m.plan) as Row;
      const speedup =
        m.call?.medianMs && m.plan?.medianMs ? m.call.medianMs / m.plan.medianMs : undefined;
      return [
        r.layer,
        r.pass,
        r.engine,
        fmt(m.call?.medianMs),
        fmt(m.plan?.medianMs),
        ratio(speedup),
        ratio(m.call?.vsBestPeer),
        ratio(m.plan?.vsBestPeer),
      ];
    });
}

/** Plain text, columns padded, a blank line between (layer, pass) groups. */
function textTable(t: Table): string {
  const all = [t.header, ...t.body];
  const widths = t.header.map((_, i) => Math.max(...all.map((r) => (r[i] as string).length)));
  const line = (r: readonly string[]) =>
    r
      .map((c, i) => (t.numeric.has(i) ? c.padStart(widths[i]) : c.padEnd(widths[i])))
      .join('  ')
      .trimEnd();
  let previous = '';
  const out = [line(t.header), widths.map((w) => '-'.repeat(w)).join('  ')];
  for (const r of t.body) {
    const group = `${r[0]}|${r[1]}`;
    if (previous && group !== previous) out.push('');
    previous = group;
    out.push(line(r));
  }
  return out.join('\n');
}

const escapeMd = (s: string) => s.replaceAll('|', '\\|');

function markdownTable(t: Table): string[] {
  return [
    `| ${t.header.join(' | ')} |`,
    `|${t.header.map((_, i) => (t.numeric.has(i) ? '---:' : '---')).join('|')}|`,
    ...t.body.map((r) => `| ${r.map(escapeMd).join(' | ')} |`),
  ];
}

const fullTable = (rows: readonly Row[]): Table => ({
  header: HEADER,
  body: tableRows(rows),
  numeric: new Set([4, 5, 6, 7, 8]),
});

const modesTable = (rows: readonly Row[]): Table => ({
  header: MODES_HEADER,
  body: modeRows(rows),
  numeric: new Set([3, 4, 5, 6, 7]),
});

/**
 * For the console: the call-vs-plan summary, then every row, status reasons cut to
 * `reasonWidth`.
 */
export function consoleTable(rows: readonly Row[], reasonWidth = 60): string {
  const full = fullTable(rows);
  full.body = full.body.map((r) => {
    const s = r[STATUS] as string;
    return [...r.slice(0, STATUS), s.length > reasonWidth ? `${s.slice(0, reasonWidth - 1)}…` : s];
  });
  const modes = modesTable(rows);
  return [
    ...(modes.body.length ? ['call vs plan', textTable(modes), ''] : []),
    textTable(full),
  ].join('\n');
}

/** results.md: the machine, the method, the call-vs-plan summary and the full table. */
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
    'Modes: `call` = one-shot `forward` / `backward` on plain arrays (validation, weight packing and',
    'fresh results on every call); `plan` = `backend.plan(...)` with the weights set once, forward',
    'with `save`, backward from the saved state, results into reused buffers (or resident, read back',
    'in the timed region, for GPU engines). Peers run as their users run them (tfjs on resident',
    'tensors, onnxruntime in a session with prepacked weights): `plan`. Both modes of ours are',
    'ratioed to the same best peer.',
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
  const modes = modesTable(results.rows);
  if (modes.body.length) {
    lines.push(
      '## call vs plan',
      '',
      '"call / plan" above 1: the plan is that much faster than one-shot calls.',
      '',
      ...markdownTable(modes),
      '',
      '## Every cell',
      '',
    );
  }
  lines.push(...markdownTable(fullTable(results.rows)));
  return `${lines.join('\n')}\n`;
}
