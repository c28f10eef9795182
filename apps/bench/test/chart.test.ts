import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import {
  CHART_WIDTH,
  chartBars,
  chartSpec,
  chartView,
  decades,
  renderChart,
} from '../src/chart.js';
import { PASSES } from '../src/passes.js';
import { type Results, type Row, rowsWithModes } from '../src/results.js';

// the committed full run: 13 engines (backends and peers), 7 layers, 3 passes, skipped cells
const committedFile = JSON.parse(
  readFileSync(new URL('../../../docs/bench/results.json', import.meta.url), 'utf8'),
) as Results;
const committed = { ...committedFile, rows: rowsWithModes(committedFile.rows) };
const okRows = committed.rows.filter((r) => r.status === 'ok');

/** The width vega gave the SVG (autosize `pad` grows it to hold every mark, legend included). */
async function svgWidth(rows: readonly Row[]): Promise<number> {
  const svg = await renderChart(rows);
  const width = /^<svg[^>]* width="(\d+(?:\.\d+)?)"/.exec(svg)?.[1];
  expect(width).toBeDefined();
  return Number(width);
}

describe('bench chart', () => {
  it('draws the ok rows with a positive GFLOP/s only', () => {
    const bars = chartBars(committed.rows);
    expect(committed.rows.some((r) => r.status === 'skipped')).toBe(true);
    expect(bars).toHaveLength(okRows.length);
    expect(chartBars([{ ...okRows[0], gflops: 0 }])).toEqual([]);
    expect(chartBars([{ ...okRows[0], status: 'wrong' }])).toEqual([]);
  });

  it('has one panel per pass, in pass order, sharing a log GFLOP/s scale', async () => {
    const spec = chartSpec(committed.rows) as {
      facet: { row: { sort: string[] } };
      spec: { encoding: { y: { scale: { type: string } } } };
    };
    expect(spec.facet.row.sort).toHaveLength(PASSES.length);
    expect(spec.facet.row.sort[0]).toBe('forward');
    expect(spec.spec.encoding.y.scale.type).toBe('log');
    const view = await chartView(committed.rows);
    await view.runAsync();
    const gflops = okRows.map((r) => r.gflops as number);
    // a log axis that does not start at zero and holds the slowest and the fastest bar
    const [lo, hi] = view.scale('y').domain() as [number, number];
    expect(lo).toBeGreaterThan(0);
    expect(lo).toBeLessThanOrEqual(Math.min(...gflops));
    expect(hi).toBeGreaterThanOrEqual(Math.max(...gflops));
    view.finalize();
  });

  it('fits the README column with the committed run, legend included', async () => {
    const svg = await renderChart(committed.rows);
    expect(svg).toContain('gpujs:headlessgl');
    expect(svg).toContain('dx (input gradient)');
    expect(await svgWidth(committed.rows)).toBeLessThanOrEqual(CHART_WIDTH);
  });

  it('grows in height, not width, with twice the engines and twice the layers', async () => {
    const more = okRows.flatMap((r) => [
      r,
      { ...r, engine: `${r.engine} (another series with a long name)` },
      { ...r, layer: `${r.layer} again` },
    ]);
    expect(await svgWidth(more)).toBeLessThanOrEqual(CHART_WIDTH);
    const height = (svg: string) => Number(/ height="(\d+)"/.exec(svg)?.[1]);
    expect(height(await renderChart(more))).toBeGreaterThan(
      height(await renderChart(committed.rows)),
    );
  });

  it('draws both modes of an engine side by side in its color, the one-shot call outlined', async () => {
    const both = okRows.flatMap((r) =>
      r.peer ? [r] : [r, { ...r, mode: 'plan' as const, gflops: (r.gflops as number) * 2 }],
    );
    const bars = chartBars(both);
    const im2col = bars.filter((b) => b.engine === 'im2col' && b.layer === okRows[0].layer);
    expect(im2col.map((b) => b.series).sort()).toContain('im2col call');
    expect(im2col.map((b) => b.series)).toContain('im2col plan');
    const spec = chartSpec(both) as {
      spec: { encoding: { fillOpacity: { field: string; scale: { range: number[] } } } };
    };
    expect(spec.spec.encoding.fillOpacity.field).toBe('mode');
    const [call, plan] = spec.spec.encoding.fillOpacity.scale.range;
    expect(call).toBeLessThan(plan);
    // every call bar, and only those, is drawn as a faint fill
    const svg = await renderChart(both);
    const faint = svg.match(new RegExp(`fill-opacity="${call}"`, 'g')) ?? [];
    expect(faint.length).toBe(bars.filter((b) => b.mode === 'call').length);
    expect(await svgWidth(both)).toBeLessThanOrEqual(CHART_WIDTH);
  });

  it('reads a results.json from before the mode field: ours were calls, peers plans', () => {
    // the committed run's rows as an older bench wrote them: no mode
    const before = committedFile.rows.map(({ mode: _mode, ...rest }: Row) => rest);
    const modes = new Set(rowsWithModes(before).map((r) => `${r.peer}|${r.mode}`));
    expect([...modes].sort()).toEqual(['false|call', 'true|plan']);
  });

  it('labels the log axis once per decade', () => {
    expect(decades([0.0034, 120])).toEqual([0.001, 0.01, 0.1, 1, 10, 100, 1000]);
    expect(decades([10, 10])).toEqual([10]);
    expect(decades([])).toEqual([]);
  });
});
