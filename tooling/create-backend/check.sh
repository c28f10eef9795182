#!/usr/bin/env bash
# CI check that `pnpm create-backend` keeps working: scaffolds a backend into a temporary copy
# of the repository (the working tree, its lockfile and node_modules stay untouched), installs
# from the pnpm store, builds, typechecks and lints it, runs its conformance suite and asserts
# that every failure is the kernels' `not-implemented` while core's error cases already pass.
set -euo pipefail
root="$(cd "$(dirname "$0")/../.." && pwd)"
name="scaffold-check"
pkg="@conv2d/backend-$name"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT

# the repository's files as git sees them (tracked and untracked-but-not-ignored), else a copy
# without installs and build outputs
if git -C "$root" rev-parse --git-dir >/dev/null 2>&1; then
  # (--ignore-failed-read: a tracked file deleted in the working tree is simply absent)
  (cd "$root" && git ls-files -z --cached --others --exclude-standard |
    tar --null -T - --ignore-failed-read -cf - 2>/dev/null) | tar -C "$work" -xf -
else
  tar -C "$root" --exclude=node_modules --exclude=dist --exclude=.turbo -cf - . | tar -C "$work" -xf -
fi
cd "$work"

node tooling/create-backend/index.mjs "$name" --no-install
# only what the new package needs, plus the root's tools (tsup, vitest, biome); build scripts
# (headless-gl) are not needed here
pnpm install --prefer-offline --no-frozen-lockfile --ignore-scripts \
  --filter "$pkg..." --filter conv2d-monorepo

# its test script first, with nothing built yet: as a contributor following the printed steps
# runs it, so the script itself must build the workspace packages it imports
if [ -e packages/core/dist ] || [ -e packages/conformance/dist ]; then
  echo "check.sh: the copy already holds built packages; it must start unbuilt" >&2
  exit 1
fi
set +e
(cd "packages/backend-$name" &&
  SCAFFOLD_RESULTS="$work/results.json" pnpm run test \
    --reporter="$work/tooling/create-backend/check-reporter.mjs")
status=$?
set -e
if [ ! -f "$work/results.json" ]; then
  echo "the conformance run of $pkg produced no results (exit $status)" >&2
  exit 1
fi
node tooling/create-backend/check-results.mjs "$work/results.json"

pnpm --filter "$pkg..." build
pnpm --filter "$pkg" typecheck
pnpm exec biome check "packages/backend-$name"
test -f "packages/backend-$name/dist/index.js" -a -f "packages/backend-$name/dist/index.cjs" \
  -a -f "packages/backend-$name/dist/index.d.cts"
test -f ".changeset/backend-$name-first-release.md"
echo "create-backend: OK"
