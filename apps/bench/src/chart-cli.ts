import { readFileSync, writeFileSync } from 'node:fs';
import { renderChart } from './chart.js';
import { type Results, rowsWithModes } from './results.js';

const USAGE = 'usage: node apps/bench/dist/chart-cli.js <results.json> <chart.svg>';

/**
 * Re-renders a bench's chart from its results.json (after a change to the chart, say
 * docs/bench/chart.svg from docs/bench/results.json) without running the bench again.
 */
async function main(argv: string[]): Promise<number> {
  const [input, output] = argv;
  if (argv.length !== 2 || !input || !output) {
    console.error(USAGE);
    return 2;
  }
  const rows = rowsWithModes((JSON.parse(readFileSync(input, 'utf8')) as Results).rows);
  writeFileSync(output, await renderChart(rows));
  console.log(`wrote ${output} from the ${rows.length} rows of ${input}`);
  return 0;
}

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (e) => {
    console.error(e instanceof Error ? (e.stack ?? e.message) : e);
    process.exit(2);
  },
);
