#!/usr/bin/env node
// Run by a scaffolded backend's `test` script: builds the workspace packages it depends on
// (turbo, cached), because vitest loads @conv2d/core and @conv2d/conformance from their dist/.
// So `pnpm --filter <backend> test` works on its own in a fresh clone. Under turbo (`pnpm test`)
// the test task's `^build` has done this already, and a nested turbo run would only repeat it.
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';

if (!('TURBO_HASH' in process.env)) {
  const { name } = JSON.parse(readFileSync('package.json', 'utf8'));
  const turbo = spawnSync(
    'turbo',
    ['run', 'build', `--filter=${name}^...`, '--output-logs=errors-only'],
    { stdio: 'inherit' },
  );
  if (turbo.error) throw turbo.error;
  process.exitCode = turbo.status ?? 1;
}
