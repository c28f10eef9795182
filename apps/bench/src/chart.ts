import type { View } from 'vega';
import { type Mode, PASSES, type Pass } from './passes.js';
import type { Row } from './results.js';
import { vegaLiteSvg, vegaLiteView } from './vega-svg.js';

/** The whole chart fits this width (the README column), legend included. */
export const CHART_WIDTH = 1200;
// what is left after the y-axis labels and title on the left and padding on both sides
const PANEL_WIDTH = CHART_WIDTH - 90;
const PANEL_HEIGHT = 170;
// Legend entries per line, and the px after which a label is cut with an ellipsis: columns x
// (label limit + symbol and padding, about 30 px) stays under the panel width whatever the
// names, so more series add legend lines, never width. (Headless, vega estimates a 10-px label
// at 8 px per character: 180 px keeps names up to 22 characters whole.)
const LEGEND_COLUMNS = 5;
const LEGEND_LABEL_LIMIT = 180;

const PANEL_TITLES: Record<Pass, string> = {
  forward: 'forward',
  dx: 'dx (input gradient)',
  dw: 'dw (weight and bias gradients)',
};

/** One bar: a series' GFLOP/s on one layer in one pass. */
export interface Bar {
  panel: string;
  layer: string;
  engine: string;
  mode: Mode;
  series: string;
  gflops: number;
}

/** The bar a row is drawn in: one per engine and mode, both modes of an engine side by side. */
export function seriesOf(row: Row): string {
  return `${row.engine} ${row.mode}`;
}

/**
 * One-shot calls are drawn as a faint fill outlined in the engine's color, plans solid: the
 * outline keeps a call bar apart from an engine whose color is the light shade of another's.
 */
const MODE_FILL_OPACITY: Record<Mode, number> = { call: 0.2, plan: 1 };

/** The ok rows with a positive GFLOP/s (a log scale cannot show zero), as bars. */
export function chartBars(rows: readonly Row[]): Bar[] {
  return rows
    .filter((r) => r.status === 'ok' && r.gflops !== null && r.gflops > 0)
    .map((r) => ({
      panel: PANEL_TITLES[r.pass],
      layer: r.layer,
      engine: r.engine,
      mode: r.mode,
      series: seriesOf(r),
      gflops: r.gflops as number,
    }));
}

const inOrder = (values: readonly string[]) => [...new Set(values)];

/** Powers of ten spanning the values: a log axis labelled and gridded once per decade. */
export function decades(values: readonly number[]): number[] {
  if (values.length === 0) return [];
  const lo = Math.floor(Math.log10(Math.min(...values)));
  const hi = Math.ceil(Math.log10(Math.max(...values)));
  return Array.from({ length: hi - lo + 1 }, (_, i) => 10 ** (lo + i));
}

/**
 * The vega-lite spec: one panel per pass (small multiples stacked vertically, so the chart
 * grows in height, not width, with more layers or engines), grouped bars of GFLOP/s per layer,
 * one bar per series (engine and mode: the engine's color, outlined for one-shot calls), a
 * shared log y scale, and the legends wrapped above the panels.
 */
export function chartSpec(rows: readonly Row[]): Record<string, unknown> {
  const bars = chartBars(rows);
  const layers = inOrder(bars.map((b) => b.layer));
  const engineColor = {
    field: 'engine',
    type: 'nominal',
    sort: inOrder(bars.map((b) => b.engine)),
    scale: { scheme: 'tableau20' },
  };
  return {
    $schema: 'https://vega.github.io/schema/vega-lite/v5.json',
    title: {
      text: 'conv2d bench: GFLOP/s per layer, one panel per pass (log scale, higher is faster)',
      subtitle:
        'outlined bars: one-shot calls (call); solid bars: prepared plans (plan), as the peers run',
      anchor: 'start',
    },
    data: { values: bars },
    facet: {
      row: {
        field: 'panel',
        type: 'nominal',
        sort: PASSES.map((p) => PANEL_TITLES[p]),
        title: null,
        header: { labelAngle: 0, labelOrient: 'top', labelAnchor: 'start', labelFontSize: 13 },
      },
    },
    spacing: 16,
    // every panel keeps its own layer labels
    resolve: { axis: { x: 'independent' } },
    spec: {
      width: PANEL_WIDTH,
      height: PANEL_HEIGHT,
      mark: { type: 'bar', tooltip: true, strokeWidth: 1 },
      encoding: {
        x: {
          field: 'layer',
          type: 'nominal',
          sort: layers,
          title: null,
          axis: {
            labelAngle: 0,
            // two lines, 'B 3x3' over 'c64 n8': names stay whole in a narrower band
            labelExpr: String.raw`[replace(datum.label, /^(\S+ \S+) .*$/, '$1'), replace(datum.label, /^\S+ \S+ ?/, '')]`,
            // a label that still does not fit its band is cut, never pushed past the edge
            labelLimit: Math.floor(PANEL_WIDTH / Math.max(1, layers.length)) - 4,
          },
        },
        xOffset: { field: 'series', type: 'nominal', sort: inOrder(bars.map((b) => b.series)) },
        // grouped, not stacked: a stack would start at zero, which a log scale cannot show
        y: {
          field: 'gflops',
          type: 'quantitative',
          stack: null,
          scale: { type: 'log' },
          axis: { values: decades(bars.map((b) => b.gflops)), format: '~g' },
          title: 'GFLOP/s',
        },
        fillOpacity: {
          field: 'mode',
          type: 'nominal',
          sort: Object.keys(MODE_FILL_OPACITY),
          scale: {
            domain: Object.keys(MODE_FILL_OPACITY),
            range: Object.values(MODE_FILL_OPACITY),
          },
          // vega-lite draws no legend for fillOpacity: the subtitle is its key
          legend: null,
        },
        // the same engine order and scheme as color, so each bar is outlined in its own color
        // (one legend: vega-lite merges the two channels of one field)
        stroke: engineColor,
        color: {
          ...engineColor,
          legend: {
            title: null,
            orient: 'top',
            direction: 'horizontal',
            columns: LEGEND_COLUMNS,
            labelLimit: LEGEND_LABEL_LIMIT,
          },
        },
      },
    },
    config: { background: 'white' },
  };
}

/** The chart as a headless vega View (vega-lite compiled to vega). */
export function chartView(rows: readonly Row[]): Promise<View> {
  return vegaLiteView(chartSpec(rows));
}

/** Renders the chart to SVG with vega's headless renderer. */
export function renderChart(rows: readonly Row[]): Promise<string> {
  return vegaLiteSvg(chartSpec(rows));
}
