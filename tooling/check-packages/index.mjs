#!/usr/bin/env node
// `pnpm check-packages`: packs every publishable (non-private) workspace package with
// `pnpm pack` (workspace: ranges replaced, as on publish) and checks the tarballs that would be
// published: publint (package.json vs files), attw (ESM and CJS types resolve under node10,
// node16 and bundler resolution), and the contents (no workspace: ranges, a LICENSE, a README,
// registry metadata, every `files` entry shipped, nothing outside `files`). Exits 1 on any
// error. Run it after `pnpm build`; `install.mjs` then installs the tarballs as users do.
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { packOne, publishablePackages, root } from './pack.mjs';

const here = dirname(fileURLToPath(import.meta.url));
// this folder's own devDependencies (a private workspace package)
const bin = (name) => join(here, 'node_modules', '.bin', name);

const only = process.argv.slice(2);
const packages = publishablePackages().filter(
  ({ manifest }) => only.length === 0 || only.includes(manifest.name),
);

/**
 * Entry points that are deliberately not CommonJS. The conformance suite (the main entry of
 * @conv2d/conformance) imports vitest, which cannot be required, so its exports map offers no
 * `require` there and attw's "a require resolves to ESM (dynamic import only)" is what is meant.
 */
const ATTW_IGNORES = {
  '@conv2d/conformance': ['--ignore-rules', 'cjs-resolves-to-esm'],
};

/** Runs a checker, echoing its output; returns whether it passed. */
function run(label, command, args) {
  const r = spawnSync(command, args, {
    encoding: 'utf8',
    env: { ...process.env, FORCE_COLOR: '0' },
  });
  const output = `${r.stdout ?? ''}${r.stderr ?? ''}`.trim();
  const ok = r.status === 0;
  console.log(`  ${ok ? 'ok  ' : 'FAIL'} ${label}`);
  if (!ok || process.env.VERBOSE) console.log(output.replace(/^/gm, '       '));
  return ok;
}

/** Checks on the tarball's file list and packed manifest that publint does not make. */
function contentProblems(tarball, name) {
  const files = execFileSync('tar', ['-tzf', tarball], { encoding: 'utf8' })
    .split('\n')
    .filter(Boolean)
    .map((f) => f.replace(/^package\//, ''));
  const packed = JSON.parse(
    execFileSync('tar', ['-xzOf', tarball, 'package/package.json'], { encoding: 'utf8' }),
  );
  const problems = [];
  for (const field of ['dependencies', 'peerDependencies', 'optionalDependencies']) {
    for (const [dep, range] of Object.entries(packed[field] ?? {})) {
      if (String(range).startsWith('workspace:')) problems.push(`${field}.${dep} is ${range}`);
    }
  }
  if (!files.some((f) => /^LICENSE(\.md)?$/i.test(f))) problems.push('no LICENSE in the tarball');
  if (!files.includes('README.md')) problems.push('no README.md in the tarball');
  if (!packed.license) problems.push('no "license" in package.json');
  for (const field of ['repository', 'homepage', 'bugs', 'keywords']) {
    if (!packed[field]) problems.push(`no "${field}" in package.json`);
  }
  if (!packed.engines?.node) problems.push('no "engines.node" in package.json');
  // every entry of `files` ships (a listed CHANGELOG.md that does not exist did not)
  for (const entry of packed.files ?? []) {
    if (entry.startsWith('!')) continue;
    const path = entry.replace(/^\.\//, '').replace(/\/$/, '');
    if (!files.some((f) => f === path || f.startsWith(`${path}/`))) {
      problems.push(`"files" lists ${entry}, which is not in the tarball`);
    }
  }
  const stray = files.filter(
    (f) => /^(src|test|tests|scripts)\//.test(f) || f.endsWith('.tsbuildinfo'),
  );
  if (stray.length > 0) problems.push(`files users do not need: ${stray.slice(0, 5).join(', ')}`);
  if (problems.length > 0) console.log(problems.map((p) => `       ${name}: ${p}`).join('\n'));
  console.log(`  ${problems.length === 0 ? 'ok  ' : 'FAIL'} contents (${files.length} files)`);
  return problems.length === 0;
}

if (packages.length === 0) {
  console.error(`no publishable packages${only.length ? ` named ${only.join(', ')}` : ''}`);
  process.exit(1);
}
const out = mkdtempSync(join(tmpdir(), 'conv2d-pack-'));
const failed = [];
try {
  for (const { dir, manifest } of packages) {
    console.log(`${manifest.name} (${relative(root, dir)})`);
    if (!existsSync(join(dir, 'dist'))) {
      console.log('  FAIL no dist/: run `pnpm build` first');
      failed.push(manifest.name);
      continue;
    }
    const tarball = packOne(dir, mkdtempSync(join(out, 'pkg-')));
    const results = [
      run('publint', bin('publint'), ['run', tarball, '--strict']),
      run('attw (node10, node16 CJS/ESM, bundler)', bin('attw'), [
        tarball,
        '--format',
        'table',
        '--no-emoji',
        '--no-color',
        ...(ATTW_IGNORES[manifest.name] ?? []),
      ]),
      contentProblems(tarball, manifest.name),
    ];
    if (results.includes(false)) failed.push(manifest.name);
  }
} finally {
  rmSync(out, { recursive: true, force: true });
}
console.log(
  failed.length === 0
    ? `\n${packages.length} packages: all tarballs pass publint, attw and the contents checks`
    : `\n${failed.length} of ${packages.length} packages fail: ${failed.join(', ')}`,
);
process.exit(failed.length === 0 ? 0 : 1);
