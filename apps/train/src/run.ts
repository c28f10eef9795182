import { readFileSync } from 'node:fs';
import { type Conv2dBackend, createBackend, isConv2dError, registerStandardBackends } from 'conv2d';
import { parseTrainArgs, USAGE } from './args.js';
import { type DigitsFile, parseDigits } from './data.js';
import { stepProgress } from './progress.js';
import { writeReport } from './report.js';
import { DEFAULT_CONFIG, type EpochStats, residentByDefault, train } from './train.js';

/** The committed digits, next to src/ and dist/ alike. */
const DATA = new URL('../data/digits.json', import.meta.url);

function epochLine(s: EpochStats): string {
  return (
    `epoch ${s.epoch}: loss ${s.loss.toFixed(4)}, train accuracy ${s.trainAccuracy.toFixed(3)}, ` +
    `test accuracy ${s.testAccuracy.toFixed(3)}, ${Math.round(s.imagesPerSecond)} images/s`
  );
}

/** `pnpm train` with these arguments; resolves to the exit code (2: usage or backend refused). */
export async function runTrain(argv: readonly string[]): Promise<number> {
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
  let backend: Conv2dBackend;
  try {
    backend = await createBackend(
      args.backend,
      args.threads === null ? {} : { threads: args.threads },
    );
  } catch (e) {
    // an unknown spec, a variant that cannot run here, a bad option: the message says which
    if (!isConv2dError(e)) throw e;
    console.error(`--backend ${args.backend}: ${e.message}`);
    return 2;
  }
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
