/**
 * Fixture parsing, comparison and single-case runs, without any test framework and without
 * Node-only imports (browsers use it too; `@conv2d/conformance/node` reads fixture folders).
 */
export * from './fixture.js';
export * from './random.js';
export * from './run-fixture.js';
export * from './tolerance.js';
