#!/usr/bin/env node
// `pnpm create-backend <name> [--no-install]`: scaffolds packages/backend-<name>, wired like
// the other backends (tsup ESM + CJS + types, vitest running describeConformance, README,
// LICENSE, a changeset). Its kernels throw `not-implemented` until the author writes them.
import { execFileSync } from 'node:child_process';
import {
  copyFileSync,
  existsSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  writeFileSync,
} from 'node:fs';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
const root = join(here, '..', '..');
const templateDir = join(here, 'template');

// Same rule as a backend spec part in @conv2d/core: the name becomes the spec.
const NAME = /^[a-z][a-z0-9-]*$/;

function usage(message) {
  console.error(`${message}\nusage: pnpm create-backend <name> [--no-install]`);
  process.exit(2);
}

const args = process.argv.slice(2);
const install = !args.includes('--no-install');
const names = args.filter((a) => !a.startsWith('--'));
const unknown = args.filter((a) => a.startsWith('--') && a !== '--no-install');
if (unknown.length > 0) usage(`unknown option ${unknown.join(' ')}`);
if (names.length !== 1) usage('give exactly one backend name');
const name = names[0].replace(/^backend-/, '');
if (!NAME.test(name) || name.endsWith('-')) {
  usage(
    `invalid name ${JSON.stringify(name)}: lower-case letters, digits and '-', starting with a letter`,
  );
}

const words = name.split('-').filter(Boolean);
const pascal = words.map((w) => w[0].toUpperCase() + w.slice(1)).join('');
const fill = (text) => text.replaceAll('{{name}}', name).replaceAll('{{Pascal}}', pascal);

const target = join(root, 'packages', `backend-${name}`);
if (existsSync(target)) usage(`${relative(root, target)} already exists`);
const changeset = join(root, '.changeset', `backend-${name}-first-release.md`);

/** Copies template/<path>.tmpl to <target>/<path>, filling in the name. */
function render(dir = '') {
  for (const entry of readdirSync(join(templateDir, dir), { withFileTypes: true })) {
    const from = join(dir, entry.name);
    if (entry.isDirectory()) {
      render(from);
    } else if (entry.name.endsWith('.tmpl') && from !== 'changeset.md.tmpl') {
      const to = join(target, from.slice(0, -'.tmpl'.length));
      mkdirSync(dirname(to), { recursive: true });
      writeFileSync(to, fill(readFileSync(join(templateDir, from), 'utf8')));
    }
  }
}

render();
copyFileSync(join(root, 'LICENSE'), join(target, 'LICENSE'));
// `files` ships it; changesets fill it at the first release
writeFileSync(join(target, 'CHANGELOG.md'), fill('# @conv2d/backend-{{name}}\n'));
writeFileSync(changeset, fill(readFileSync(join(templateDir, 'changeset.md.tmpl'), 'utf8')));
console.log(`created ${relative(root, target)} and ${relative(root, changeset)}`);

// Long names can push a generated line past the formatter's width: let biome lay it out.
const biome = join(root, 'node_modules', '.bin', 'biome');
if (existsSync(biome)) {
  try {
    execFileSync(biome, ['check', '--write', target], { cwd: root, stdio: 'ignore' });
  } catch {
    // best effort; `pnpm lint` reports what remains
  }
}

if (install) {
  // links the new package to @conv2d/core and @conv2d/conformance in the workspace
  execFileSync('pnpm', ['install', '--no-frozen-lockfile'], { cwd: root, stdio: 'inherit' });
}

const pkg = `@conv2d/backend-${name}`;
console.log(`
next steps:${install ? '' : '\n  pnpm install'}
  pnpm --filter ${pkg} test
      builds what it depends on (turbo, cached), then runs the conformance suite: it fails with
      "not implemented" until you write forward/backward in packages/backend-${name}/src/index.ts
  then add its backendProvider to packages/conv2d/src/standard.ts to make it a standard backend
  (pnpm conv2d backends, pnpm conformance --backend ${name}, pnpm bench pick it up from there).
See CONTRIBUTING.md.`);
