// A vitest reporter for check.sh: writes every test's state and its error chain (fast-check
// wraps the engine's error as `cause`, which the JSON reporter drops) to $SCAFFOLD_RESULTS.
import { writeFileSync } from 'node:fs';

function chain(error) {
  const messages = [];
  for (let e = error; e && messages.length < 5; e = e.cause) messages.push(String(e.message));
  return messages;
}

export default class ScaffoldCheckReporter {
  tests = [];

  onTestCaseResult(testCase) {
    const result = testCase.result();
    this.tests.push({
      name: testCase.fullName,
      state: result.state,
      errors: (result.errors ?? []).map(chain),
    });
  }

  onTestRunEnd(_modules, unhandledErrors) {
    const out = process.env.SCAFFOLD_RESULTS;
    if (!out) throw new Error('SCAFFOLD_RESULTS is not set');
    writeFileSync(
      out,
      JSON.stringify({ tests: this.tests, unhandled: (unhandledErrors ?? []).map(chain) }, null, 1),
    );
  }
}
