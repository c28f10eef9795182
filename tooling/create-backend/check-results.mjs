// Asserts what a freshly scaffolded backend's conformance run must look like: every failure
// is the kernels' `not-implemented`, and everything core answers on its own (invalid input,
// error fixtures, the empty batch, the disposed state) already passes.
import { readFileSync } from 'node:fs';

const { tests, unhandled } = JSON.parse(readFileSync(process.argv[2], 'utf8'));
const problems = [];
const passed = tests.filter((t) => t.state === 'passed');
const failed = tests.filter((t) => t.state === 'failed');
const other = tests.filter((t) => t.state !== 'passed' && t.state !== 'failed');

if (unhandled.length > 0) problems.push(`unhandled errors: ${JSON.stringify(unhandled)}`);
if (tests.length === 0) problems.push('no tests ran');
if (failed.length === 0) problems.push('nothing failed: the kernels should not be implemented yet');
for (const t of other)
  problems.push(`${t.name}: ${t.state} (skipped or pending tests are not allowed)`);
for (const t of failed) {
  const messages = t.errors.flat();
  if (!messages.some((m) => m.includes('[not-implemented]'))) {
    problems.push(
      `${t.name} failed for another reason than not-implemented:\n  ${messages.join('\n  ')}`,
    );
  }
}
// answered by @conv2d/core before any kernel runs, so they must pass already
const mustPass = tests.filter(
  (t) =>
    t.name.includes('invalid input is rejected with a typed error') ||
    /PyTorch fixtures > error-[\w-]+\.json$/.test(t.name) ||
    t.name.includes('empty batch'),
);
if (mustPass.length < 10) problems.push(`only ${mustPass.length} error/edge-case tests found`);
for (const t of mustPass)
  if (t.state !== 'passed') problems.push(`${t.name} should pass: ${t.state}`);

console.log(
  `scaffold conformance run: ${passed.length} passed (${mustPass.length} error/edge cases), ` +
    `${failed.length} failed (all must be not-implemented)`,
);
if (problems.length > 0) {
  console.error(problems.join('\n'));
  process.exit(1);
}
