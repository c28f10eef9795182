#!/usr/bin/env node
// `pnpm check-install`: installs the packed tarballs the way users do (npm, in fresh projects
// outside the workspace, registry dependencies from the registry) and checks what they get:
//   1. an app of conv2d (the umbrella) without gpu.js: nothing compiles, no gpu.js / gl / webgpu
//      in node_modules (size and time printed); it runs on im2col; `npx conv2d backends` runs
//      from the tarball and says how to install gpu.js; ESM and CJS copies of @conv2d/core share
//      one registry and one Conv2dError;
//   2. that app bundled by esbuild into one file runs im2col on 2 worker threads;
//   3. with @conv2d/conformance added (no vitest), `npx conv2d conformance` passes the bundled
//      fixtures and `require('@conv2d/conformance/runner')` works;
//   4. with @conv2d/backend-gpujs added, an esbuild browser page that runs im2col through the
//      umbrella loads no gpu.js in its initial chunks (sizes printed).
// Exits 1 on any failed check. Run after `pnpm build` (CI: after `pnpm check-packages`).
import { spawnSync } from 'node:child_process';
import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { packPublishable, root } from './pack.mjs';

// esbuild as the workspace has it (tsup's): the bundler version is not what is checked
const esbuild = createRequire(createRequire(join(root, 'package.json')).resolve('tsup'))('esbuild');

const failures = [];
function check(ok, what, detail = '') {
  console.log(`  ${ok ? 'ok  ' : 'FAIL'} ${what}${detail ? `: ${detail}` : ''}`);
  if (!ok) failures.push(what);
  return ok;
}

const seconds = (since) => `${((Date.now() - since) / 1000).toFixed(1)} s`;
const kib = (bytes) => `${(bytes / 1024).toFixed(1)} KiB`;

/** Bytes under a folder (files only, links not followed). */
function du(dir) {
  let total = 0;
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) total += du(path);
    else if (entry.isFile()) total += statSync(path).size;
  }
  return total;
}

/** Runs a command in `cwd`; returns { code, out } (stdout and stderr together). */
function run(cwd, command, args, env = {}) {
  const r = spawnSync(command, args, {
    cwd,
    encoding: 'utf8',
    env: { ...process.env, CONV2D_BACKEND: '', ...env },
    timeout: 600_000,
  });
  return { code: r.status, out: `${r.stdout ?? ''}${r.stderr ?? ''}` };
}

function npmInstall(cwd, tarballs, extra = []) {
  const started = Date.now();
  const r = run(cwd, 'npm', ['install', '--no-audit', '--no-fund', ...extra, ...tarballs]);
  if (r.code !== 0) console.log(r.out.replace(/^/gm, '       '));
  return { ok: r.code === 0, time: seconds(started), out: r.out };
}

const work = mkdtempSync(join(tmpdir(), 'conv2d-install-'));
try {
  console.log('packing every publishable package');
  const tgz = packPublishable(join(work, 'tarballs'));
  const app = join(work, 'app');
  mkdirSync(app);
  writeFileSync(
    join(app, 'package.json'),
    `${JSON.stringify({ name: 'app', version: '1.0.0', private: true, type: 'module' }, null, 2)}\n`,
  );

  // 1. conv2d without gpu.js
  console.log('\n1. npm i conv2d (its tarball and its dependencies\u2019, no gpu.js)');
  const umbrella = ['conv2d', '@conv2d/core', '@conv2d/backend-naive', '@conv2d/backend-im2col'];
  const installed = npmInstall(
    app,
    [...umbrella, '@conv2d/gemm'].map((n) => tgz[n]),
  );
  check(installed.ok, `installed in ${installed.time}`);
  const modules = join(app, 'node_modules');
  const heavy = ['gpu.js', 'gl', 'webgpu', 'node-gyp', 'vitest'].filter((n) =>
    existsSync(join(modules, n)),
  );
  check(heavy.length === 0, 'no gpu.js, gl, webgpu, node-gyp or vitest', heavy.join(', '));
  const compiled = readdirSync(modules, { recursive: true }).filter((f) =>
    String(f).endsWith('.node'),
  );
  check(compiled.length === 0, 'nothing compiled (no .node binaries)', compiled.join(', '));
  console.log(`       node_modules: ${(du(modules) / 2 ** 20).toFixed(1)} MiB`);

  writeFileSync(
    join(app, 'app.mjs'),
    `import { conv2d, tensor } from 'conv2d';
const started = performance.now();
const y = await conv2d.forward(tensor([1, 1, 3, 3], [1, 2, 3, 4, 5, 6, 7, 8, 9]), tensor([1, 1, 2, 2], [1, 1, 1, 1]));
const { spec, skipped } = await conv2d.selection();
console.log(JSON.stringify({ spec, y: [...y.data], skipped }));
conv2d.dispose();
`,
  );
  const ran = run(app, 'node', ['app.mjs']);
  const result = ran.code === 0 ? JSON.parse(ran.out.trim().split('\n').at(-1)) : null;
  check(
    result?.spec === 'im2col' && result.y.join() === '12,16,24,28',
    'conv2d.forward runs on im2col',
    result ? `${result.spec}, y = ${result.y}` : ran.out,
  );
  const importTimes = [1, 2, 3].map(() => {
    const r = run(app, 'node', [
      '-e',
      "const t = performance.now(); import('conv2d').then(() => console.log(performance.now() - t))",
    ]);
    return Number(r.out.trim());
  });
  console.log(`       import('conv2d'): ${importTimes.map((t) => t.toFixed(0)).join(', ')} ms`);

  const backends = run(app, 'npx', ['--no-install', 'conv2d', 'backends']);
  check(
    backends.code === 0 && /^im2col \*/m.test(backends.out),
    '`npx conv2d backends` runs from the tarball and selects im2col',
  );
  check(
    backends.out.includes('not installed: npm i @conv2d/backend-gpujs'),
    'it says how to install gpu.js',
  );
  if (process.env.VERBOSE) console.log(backends.out.replace(/^/gm, '       '));

  writeFileSync(
    join(app, 'mixed.mjs'),
    `import { createRequire } from 'node:module';
import { Conv2dError, createBackend, tensor } from '@conv2d/core';
const require = createRequire(import.meta.url);
const cjs = require('@conv2d/core');
cjs.registerBackend(require('@conv2d/backend-naive').backendProvider);
const fromEsm = await createBackend('naive'); // registered through require
const cjsError = (() => { try { cjs.tensor([2], [1]); } catch (e) { return e; } })();
const esmError = (() => { try { tensor([-1]); } catch (e) { return e; } })();
const umbrella = require('conv2d');
console.log(JSON.stringify({
  two: cjs.registerBackend !== (await import('@conv2d/core')).registerBackend,
  naive: fromEsm.name,
  across: cjsError instanceof Conv2dError && esmError instanceof cjs.Conv2dError,
  umbrella: typeof umbrella.conv2d.forward,
}));
`,
  );
  const mixed = run(app, 'node', ['mixed.mjs']);
  check(
    mixed.out.trim() ===
      JSON.stringify({ two: true, naive: 'naive', across: true, umbrella: 'function' }),
    'ESM and CJS copies of @conv2d/core share the registry and Conv2dError',
    mixed.out.trim(),
  );

  // 2. an esbuild single-file Node bundle keeps its worker threads
  console.log('\n2. the app bundled by esbuild into one file (im2col, 2 threads)');
  writeFileSync(
    join(app, 'threads.mjs'),
    `import { createRequire, syncBuiltinESMExports } from 'node:module';
import { createIm2colBackend } from '@conv2d/backend-im2col';
import { tensor } from '@conv2d/core';
process.on('warning', (w) => console.log('warning', w.code, w.message));
// count the job replies of worker threads: workers that fail to load never answer
let replies = 0;
const threads = createRequire(import.meta.url)('node:worker_threads');
const Real = threads.Worker;
threads.Worker = class extends Real {
  constructor(...args) {
    super(...args);
    this.on('message', (m) => { if (m?.ok === true) replies++; });
  }
};
syncBuiltinESMExports();
const backend = await createIm2colBackend({ threads: 2, minThreadedFlops: 0 });
const x = tensor([2, 16, 32, 32], Float32Array.from({ length: 32768 }, (_, i) => Math.sin(i)));
const w = tensor([32, 16, 3, 3], Float32Array.from({ length: 4608 }, (_, i) => Math.cos(i)));
const y = await backend.forward(x, w, null, { padding: 1 });
// the caller may finish the job before the worker wakes; the worker still answers it
await new Promise((resolve) => setTimeout(resolve, 500));
console.log(JSON.stringify({ threads: backend.threads, threadedJobs: backend.stats.threadedJobs, replies, finite: y.data.every(Number.isFinite) }));
backend.dispose();
`,
  );
  const bundleDir = join(work, 'bundled-node-app');
  await esbuild.build({
    entryPoints: [join(app, 'threads.mjs')],
    bundle: true,
    platform: 'node',
    format: 'esm',
    outfile: join(bundleDir, 'app.mjs'),
    logLevel: 'warning',
  });
  const files = readdirSync(bundleDir);
  const threaded = run(bundleDir, 'node', ['app.mjs']);
  check(
    files.length === 1 &&
      threaded.out.trim() ===
        JSON.stringify({ threads: 2, threadedJobs: 1, replies: 1, finite: true }),
    'the single-file bundle runs on 2 worker threads',
    `${files.join(', ')} (${kib(statSync(join(bundleDir, 'app.mjs')).size)}): ${threaded.out.trim()}`,
  );

  // 3. the conformance suite's runner without vitest
  console.log('\n3. npm i -D @conv2d/conformance (no vitest): the CLI checks a backend');
  const conformance = npmInstall(app, [tgz['@conv2d/conformance']], ['--save-dev']);
  check(conformance.ok, `installed in ${conformance.time}`);
  check(!existsSync(join(modules, 'vitest')), 'vitest is not installed (optional peer)');
  const fixtures = join(modules, '@conv2d', 'conformance', 'fixtures');
  const conf = run(app, 'npx', [
    '--no-install',
    'conv2d',
    'conformance',
    '--backend',
    'im2col',
    '--fixtures',
    fixtures,
  ]);
  const summary = conf.out.trim().split('\n').at(-1);
  check(conf.code === 0 && / 0 failed$/.test(summary), '`npx conv2d conformance` passes', summary);
  const cjsRunner = run(app, 'node', [
    '-e',
    "const r = require('@conv2d/conformance/runner'); console.log(typeof r.runFixture)",
  ]);
  check(cjsRunner.out.trim() === 'function', "require('@conv2d/conformance/runner') works");
  // 4. a browser page through the umbrella, with gpu.js installed (last: its install skips
  // scripts and the optional gl, which a later plain `npm i` would compile)
  console.log('\n4. npm i @conv2d/backend-gpujs (scripts and optional gl skipped), a browser page');
  const gpujs = npmInstall(
    app,
    [tgz['@conv2d/backend-gpujs']],
    ['--omit=optional', '--ignore-scripts'],
  );
  check(gpujs.ok, `installed in ${gpujs.time}`);
  console.log(`       node_modules now: ${(du(modules) / 2 ** 20).toFixed(1)} MiB`);
  writeFileSync(
    join(app, 'page.js'),
    `import { conv2d, tensor } from 'conv2d';
const backend = await conv2d.use('im2col');
const y = await conv2d.forward(tensor([1, 1, 3, 3], [1, 2, 3, 4, 5, 6, 7, 8, 9]), tensor([1, 1, 2, 2], [1, 1, 1, 1]));
document.body.textContent = backend.name + ': ' + [...y.data];
`,
  );
  const page = await esbuild.build({
    entryPoints: [join(app, 'page.js')],
    bundle: true,
    splitting: true,
    format: 'esm',
    platform: 'browser',
    minify: true,
    outdir: join(work, 'page'),
    absWorkingDir: work,
    metafile: true,
    logLevel: 'warning',
  });
  const outputs = page.metafile.outputs;
  const entry = Object.keys(outputs).find((o) => outputs[o].entryPoint && o.endsWith('.js'));
  // what the page loads before any import(): the entry and the chunks it imports statically
  const initial = new Set();
  const visit = (out) => {
    if (initial.has(out)) return;
    initial.add(out);
    for (const i of outputs[out].imports) if (i.kind === 'import-statement') visit(i.path);
  };
  visit(entry);
  const hasGpujs = (out) => Object.keys(outputs[out].inputs).some((i) => i.includes('gpu.js'));
  const size = (outs, zip) =>
    [...outs].reduce((sum, o) => {
      const bytes = readFileSync(join(work, o));
      return sum + (zip ? gzipSync(bytes, { level: 9 }).length : bytes.length);
    }, 0);
  const all = Object.keys(outputs).filter((o) => o.endsWith('.js'));
  const lazy = all.filter((o) => !initial.has(o));
  check(
    [...initial].every((o) => !hasGpujs(o)) && lazy.some(hasGpujs),
    'gpu.js is only in chunks loaded on demand',
  );
  console.log(
    `       initial JS: ${kib(size(initial))} (gzip ${kib(size(initial, true))}) in ${initial.size} file(s)`,
  );
  for (const chunk of lazy) {
    const from = new Set(
      Object.keys(outputs[chunk].inputs).map(
        (i) => i.match(/node_modules\/((?:@[^/]+\/)?[^/]+)/)?.[1] ?? 'page',
      ),
    );
    console.log(
      `       on demand: ${kib(size([chunk]))} (gzip ${kib(size([chunk], true))}) from ${[...from].join(', ')}`,
    );
  }
  const listed = run(app, 'npx', ['--no-install', 'conv2d', 'backends']);
  check(/^gpujs:cpu\s+yes/m.test(listed.out), '`npx conv2d backends` now runs gpujs:cpu');
} finally {
  rmSync(work, { recursive: true, force: true });
}

console.log(
  failures.length === 0
    ? '\nthe tarballs install and run as users get them'
    : `\n${failures.length} check(s) failed: ${failures.join('; ')}`,
);
process.exit(failures.length === 0 ? 0 : 1);
