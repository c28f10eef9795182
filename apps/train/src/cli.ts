import { readFileSync } from 'node:fs';
import { createBackend, registerStandardBackends } from 'conv2d';
import { parseTrainArgs, USAGE } from './args.js';
import { type DigitsFile, parseDigits } from './data.js';
import { stepProgress } from './progress.js';
import { writeReport } from './report.js';
import { DEFAULT_CONFIG, type EpochStats, residentByDefault, train } from './train.js';

const DATA = new URL('../data/digits.json', import.meta.url);

function epochLine(s: EpochStats): string {
  return (
    `epoch ${s.epoch}: loss ${s.loss.toFixed(4)}, train accuracy ${s.trainAccuracy.toFixed(3)}, ` +
    `test accuracy ${s.testAccuracy.toFixed(3)}, ${Math.round(s.imagesPerSecond)} images/s`
  );
}

async function main(argv: string[]): Promise<number> {
  let args: ReturnType<typeof parseTrainArgs>;
  try {
    args = parseTrainArgs(argv);
  } catch (e) {
    console.error(`${(e as Error).message}\n${USAGE}`);
    return 2;
  }
  if (args.help) {
    console.log(USAGE);
    return 0;
  }
  registerStandardBackends();
  const backend = await createBackend(
    args.backend,
    args.threads === null ? {} : { threads: args.threads },
  );
  const digits = parseDigits(JSON.parse(readFileSync(DATA, 'utf8')) as DigitsFile);
  const config = { ...DEFAULT_CONFIG, epochs: args.epochs };
  console.log(
    `training on ${backend.name}: ${digits.train.count} train / ${digits.test.count} test images, ` +
      `${config.epochs} epochs of batch ${config.batch}, SGD lr ${config.lr} momentum ${config.momentum}`,
  );
  const progress = stepProgress();
  const started = performance.now();
  try {
    const result = await train(
      backend,
      digits,
      config,
      {
        onStep: (p) => progress.update(p),
        onEpoch: (s) => {
          progress.clear();
          console.log(epochLine(s));
        },
      },
      { resident: residentByDefault(backend.name) },
    );
    const seconds = (performance.now() - started) / 1000;
    if (args.out) {
      const files = await writeReport(args.out, {
        backend: backend.name,
        config,
        history: result.history,
        confusion: result.confusion,
      });
      console.log(`wrote ${files.join(', ')}`);
    }
    console.log(`${seconds.toFixed(1)} s in all`);
    console.log(`test accuracy: ${(result.history.at(-1)?.testAccuracy ?? 0).toFixed(3)}`);
    return 0;
  } finally {
    backend.dispose();
  }
}

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (e) => {
    console.error(e instanceof Error ? (e.stack ?? e.message) : e);
    process.exit(1);
  },
);
