// The publishable workspace packages and `pnpm pack` of them (workspace: ranges replaced, as on
// publish): shared by index.mjs (publint, attw, contents) and install.mjs (fresh installs).
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

export const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..');

/** Workspace folders from pnpm-workspace.yaml's `packages:` globs (only `dir/*` forms). */
function workspaceDirs() {
  const yaml = readFileSync(join(root, 'pnpm-workspace.yaml'), 'utf8');
  const block = yaml.split(/^packages:\s*$/m)[1] ?? '';
  const globs = [];
  for (const line of block.split('\n').slice(1)) {
    const m = line.match(/^\s+-\s+['"]?([^'"\s]+)['"]?\s*$/);
    if (!m) break;
    globs.push(m[1]);
  }
  return globs.flatMap((glob) => {
    if (!glob.endsWith('/*')) return [join(root, glob)];
    const parent = join(root, glob.slice(0, -2));
    if (!existsSync(parent)) return [];
    return readdirSync(parent, { withFileTypes: true })
      .filter((e) => e.isDirectory())
      .map((e) => join(parent, e.name));
  });
}

/** Every non-private workspace package: `{ dir, manifest }`. */
export function publishablePackages() {
  return workspaceDirs()
    .filter((dir) => existsSync(join(dir, 'package.json')))
    .map((dir) => ({ dir, manifest: JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8')) }))
    .filter(({ manifest }) => manifest.private !== true);
}

/** `pnpm pack` of the package in `dir` into `dest`; returns the tarball's path. */
export function packOne(dir, dest) {
  execFileSync('pnpm', ['pack', '--pack-destination', dest], { cwd: dir, stdio: 'ignore' });
  const tgz = readdirSync(dest).find((f) => f.endsWith('.tgz'));
  if (!tgz) throw new Error(`pnpm pack wrote no tarball in ${dir}`);
  return join(dest, tgz);
}

/** Packs every publishable package (built) into `dest`; returns { name: tarball path }. */
export function packPublishable(dest) {
  mkdirSync(dest, { recursive: true });
  const tarballs = {};
  for (const { dir, manifest } of publishablePackages()) {
    if (!existsSync(join(dir, 'dist'))) throw new Error(`${dir}: no dist/, run \`pnpm build\``);
    tarballs[manifest.name] = packOne(dir, mkdtempSync(join(dest, 'pkg-')));
  }
  return tarballs;
}
