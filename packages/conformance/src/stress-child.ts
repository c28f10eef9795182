/**
 * The stress group in a process of its own, so that an early exit (work left unsettled when
 * nothing kept the event loop alive) or a handle left open after dispose fails it:
 *
 *   node --experimental-import-meta-resolve stress-child.js '<StressChildConfig as JSON>'
 *
 * It imports the provider module, creates backends by spec, runs every check, prints one line
 * per check and a last line `stress done {...}`, and ends on its own: it never calls
 * process.exit, so a worker thread or a GPU context that dispose did not release keeps it
 * running, and the parent's timeout reports that.
 */
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { type BackendProvider, parseBackendSpec } from '@conv2d/core';
import { runStress, STRESS_DONE, STRESS_LINE, type StressChildConfig } from './stress.js';

function exposeGc(): () => void {
  // Without --expose-gc on the command line: that flag makes Node refuse to start workers
  // with the parent's execArgv (ERR_WORKER_INVALID_EXEC_ARGV).
  setFlagsFromString('--expose-gc');
  return runInNewContext('gc') as () => void;
}

async function loadProvider(config: StressChildConfig): Promise<BackendProvider> {
  const url = import.meta.resolve(config.provider, config.from);
  const mod = (await import(url)) as { backendProvider?: BackendProvider };
  const provider = mod.backendProvider;
  if (!provider || typeof provider.create !== 'function') {
    throw new Error(`${config.provider} (${url}) exports no backendProvider`);
  }
  return provider;
}

const config = JSON.parse(process.argv[2] ?? '{}') as StressChildConfig;
const say = (line: string) => console.log(`${STRESS_LINE}${line}`);
let finished = false;
process.on('exit', () => {
  if (finished) return;
  // Node ends a process whose event loop is empty even while promises are pending.
  say('exiting before the checks ended: calls were left unsettled with nothing to finish them');
  process.exitCode = 13;
});

async function main(): Promise<void> {
  try {
    const { name, variant } = parseBackendSpec(config.spec);
    const provider = await loadProvider(config);
    if (provider.name !== name) {
      throw new Error(`${config.provider} provides ${provider.name}, not ${name}`);
    }
    const checks = await runStress(() => provider.create(variant, config.createOptions), {
      scale: config.scale,
      log: say,
      gc: exposeGc(),
    });
    const problems = checks.reduce((a, c) => a + c.problems.length, 0);
    const summary = { spec: config.spec, checks: checks.length, problems };
    console.log(`${STRESS_DONE} ${JSON.stringify(summary)}`);
    process.exitCode = problems === 0 ? 0 : 1;
  } catch (e) {
    say(`could not run: ${e instanceof Error ? (e.stack ?? e.message) : String(e)}`);
    process.exitCode = 2;
  }
  finished = true;
}

// Not a top-level await: the CommonJS build of this package cannot have one.
void main();
