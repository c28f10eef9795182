import { execFileSync } from 'node:child_process';
import { copyFileSync, mkdtempSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const pkg = fileURLToPath(new URL('..', import.meta.url));
const dist = join(pkg, 'dist', 'index.js');

/** Runs an ESM script in a fresh Node; returns what it printed. */
function node(script: string): string {
  const out = execFileSync(process.execPath, ['--input-type=module', '-e', script], {
    encoding: 'utf8',
    timeout: 30_000,
  });
  return out.trim();
}

// a 1x4x16x16 input and 4 3x3 kernels of ones, padded: y[17] (an inner element) is 36
const conv = (backend: string) => `
  const x = { shape: [1, 4, 16, 16], data: new Float32Array(1024).fill(1) };
  const w = { shape: [4, 4, 3, 3], data: new Float32Array(144).fill(1) };
  const y = await ${backend}.forward(x, w, null, { padding: 1 });`;

describe('worker threads wherever the index runs', () => {
  it('start from the index alone, with no worker file next to it (as in an app bundle)', () => {
    // inside the package, so that @conv2d/core and @conv2d/gemm still resolve
    const alone = mkdtempSync(join(pkg, '.index-alone-'));
    try {
      copyFileSync(dist, join(alone, 'index.js'));
      const out = node(`
        import { createIm2colBackend } from ${JSON.stringify(join(alone, 'index.js'))};
        const b = await createIm2colBackend({ threads: 2, minThreadedFlops: 0 });
        ${conv('b')}
        console.log(b.threads, b.stats.threadedJobs, y.data[17]);
        b.dispose();`);
      expect(out).toBe('2 1 36');
    } finally {
      rmSync(alone, { recursive: true, force: true });
    }
  });

  // Every worker this process starts fails as it loads (what a missing worker file did).
  const breakWorkers = `
    import { createRequire, syncBuiltinESMExports } from 'node:module';
    const threads = createRequire(import.meta.url)('node:worker_threads');
    const Real = threads.Worker;
    threads.Worker = class extends Real {
      constructor() { super('throw new Error("cannot load the worker")', { eval: true }); }
    };
    syncBuiltinESMExports();
    import(${JSON.stringify(dist)}).then(async ({ createIm2colBackend }) => {`;

  it('says so and runs on one thread when the default threads cannot start', () => {
    const out = node(`${breakWorkers}
      const warnings = [];
      process.on('warning', (w) => warnings.push(w.code + ': ' + w.message));
      const b = await createIm2colBackend({ minThreadedFlops: 0 });
      const before = b.threads;
      ${conv('b')}
      await new Promise((r) => setImmediate(r));
      console.log(JSON.stringify({ before, after: b.threads, jobs: b.stats.threadedJobs, y: y.data[17], warnings }));
    });`);
    const result = JSON.parse(out);
    expect(result).toMatchObject({ after: 1, jobs: 0, y: 36 });
    expect(result.warnings).toEqual([
      'CONV2D_NO_WORKERS: conv2d im2col runs on 1 thread: worker threads did not start (cannot load the worker)',
    ]);
  });

  it('fails a call that asked for threads explicitly, with a typed error', () => {
    const out = node(`${breakWorkers}
      const b = await createIm2colBackend({ threads: 2, minThreadedFlops: 0 });
      const e = await b.forward({ shape: [1, 4, 16, 16], data: new Float32Array(1024) },
        { shape: [4, 4, 3, 3], data: new Float32Array(144) }, null, { padding: 1 }).catch((e) => e);
      console.log(e.code + ' ' + e.message);
    });`);
    expect(out).toBe(
      'unavailable [unavailable] options.threads is 2; expected at most 1 here: worker threads did not start (cannot load the worker)',
    );
  });
});
