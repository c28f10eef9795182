import type { View } from 'vega';
import type { Row } from './results.js';

/** The vega-lite spec: grouped bars of GFLOP/s per layer and pass, one bar per engine, log y. */
export function chartSpec(rows: readonly Row[]): Record<string, unknown> {
  const values = rows
    .filter((r) => r.status === 'ok' && r.gflops !== null && r.gflops > 0)
    .map((r) => ({
      cell: `${r.layer.split(' ')[0]} ${r.pass}`,
      layer: r.layer,
      pass: r.pass,
      engine: r.engine,
      gflops: r.gflops,
    }));
  const cells = [...new Set(values.map((v) => v.cell))];
  return {
    $schema: 'https://vega.github.io/schema/vega-lite/v5.json',
    title: 'conv2d bench: GFLOP/s per layer and pass (log scale)',
    width: Math.max(400, cells.length * 70),
    height: 320,
    data: { values },
    mark: { type: 'bar', tooltip: true },
    encoding: {
      x: {
        field: 'cell',
        type: 'nominal',
        sort: cells,
        title: 'layer and pass',
        axis: { labelAngle: -45 },
      },
      xOffset: { field: 'engine', type: 'nominal' },
      // grouped, not stacked: a stack would start at zero, which a log scale cannot show
      y: {
        field: 'gflops',
        type: 'quantitative',
        stack: null,
        scale: { type: 'log' },
        title: 'GFLOP/s',
      },
      color: {
        field: 'engine',
        type: 'nominal',
        scale: { scheme: 'tableau20' },
        legend: { title: 'engine' },
      },
    },
    config: { background: 'white' },
  };
}

/** The chart as a headless vega View (vega-lite compiled to vega). */
export async function chartView(rows: readonly Row[]): Promise<View> {
  const [vega, vl] = await Promise.all([import('vega'), import('vega-lite')]);
  const { spec } = vl.compile(chartSpec(rows) as unknown as Parameters<typeof vl.compile>[0]);
  return new vega.View(vega.parse(spec), { renderer: 'none' });
}

/** Renders the chart to SVG with vega's headless renderer. */
export async function renderChart(rows: readonly Row[]): Promise<string> {
  const view = await chartView(rows);
  try {
    return await view.toSVG();
  } finally {
    view.finalize();
  }
}
