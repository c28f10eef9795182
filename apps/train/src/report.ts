import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { vegaLiteSvg } from '@conv2d/bench/vega-svg';
import type { EpochStats, TrainConfig } from './train.js';

export interface TrainReport {
  backend: string;
  config: TrainConfig;
  history: EpochStats[];
  /** confusion[label][predicted], test set, after the last epoch. */
  confusion: number[][];
}

/** Loss and accuracies per epoch: two panels side by side (vega-lite, as the bench's chart). */
export function curvesSpec(report: TrainReport): Record<string, unknown> {
  const points = report.history.flatMap((s) => [
    { epoch: s.epoch, panel: 'loss', series: 'train loss', value: s.loss },
    { epoch: s.epoch, panel: 'accuracy', series: 'train accuracy', value: s.trainAccuracy },
    { epoch: s.epoch, panel: 'accuracy', series: 'test accuracy', value: s.testAccuracy },
  ]);
  return {
    $schema: 'https://vega.github.io/schema/vega-lite/v5.json',
    title: { text: `conv2d train: digits CNN on ${report.backend}`, anchor: 'start' },
    data: { values: points },
    facet: { column: { field: 'panel', type: 'nominal', sort: ['loss', 'accuracy'], title: null } },
    resolve: { scale: { y: 'independent' } },
    spec: {
      width: 360,
      height: 220,
      mark: { type: 'line', point: true, tooltip: true },
      encoding: {
        x: { field: 'epoch', type: 'quantitative', axis: { tickMinStep: 1 } },
        y: { field: 'value', type: 'quantitative', title: null, scale: { zero: false } },
        color: { field: 'series', type: 'nominal', legend: { orient: 'bottom', title: null } },
      },
    },
    config: { background: 'white' },
  };
}

/** The confusion matrix as a Markdown table (rows: true label, columns: predicted). */
export function confusionMarkdown(confusion: number[][]): string {
  const header = `| label \\ predicted | ${confusion.map((_, c) => c).join(' | ')} |`;
  const rule = `|---|${confusion.map(() => '---:').join('|')}|`;
  const rows = confusion.map((row, label) => `| **${label}** | ${row.join(' | ')} |`);
  return [header, rule, ...rows, ''].join('\n');
}

/** Writes curves.json, curves.svg and confusion.md into `dir`. */
export async function writeReport(dir: string, report: TrainReport): Promise<string[]> {
  mkdirSync(dir, { recursive: true });
  const files = {
    'curves.json': `${JSON.stringify(report, null, 1)}\n`,
    'curves.svg': await vegaLiteSvg(curvesSpec(report)),
    'confusion.md': confusionMarkdown(report.confusion),
  };
  for (const [name, text] of Object.entries(files)) writeFileSync(join(dir, name), text);
  return Object.keys(files).map((name) => join(dir, name));
}
