import { execFileSync } from 'node:child_process';
import { existsSync, readdirSync, statSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

/** The pool starts workers from dist/worker.cjs; rebuild it when any source is newer (tests run on src). */
export default function setup(): void {
  const root = fileURLToPath(new URL('..', import.meta.url));
  const worker = `${root}dist/worker.cjs`;
  const built = existsSync(worker) ? statSync(worker).mtimeMs : 0;
  const newest = Math.max(
    ...readdirSync(`${root}src`).map((f) => statSync(`${root}src/${f}`).mtimeMs),
  );
  if (newest > built) execFileSync('pnpm', ['exec', 'tsup'], { cwd: root, stdio: 'ignore' });
}
